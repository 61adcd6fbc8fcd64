#include "bench/driver/portmap_bench.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "bench/driver/cni_node.h"
#include "bench/driver/proc.h"

namespace linen::bench {
namespace {

using nlohmann::json;

// portmap exec'd in the node as a runtime chains it: the pod's bridge result as
// prevResult, one hostPort (DEL: no prevResult, as after a lost cache).
ExecSpec PortmapSpec(const Node& node, const std::string& cmd, const std::string& id,
                     const std::string& netns, const std::string& prev, int host_port) {
  json c = {{"cniVersion", "1.0.0"},
            {"name", kNetName},
            {"type", "portmap"},
            {"snat", true},
            {"runtimeConfig",
             {{"portMappings",
               json::array({{{"hostPort", host_port}, {"containerPort", 80}, {"protocol", "tcp"}}})}}}};
  json p = json::parse(prev, nullptr, false);
  if (cmd == "ADD" && p.is_object()) c["prevResult"] = p;
  ExecSpec s;
  s.argv = {node.impl.cni_path + "/portmap"};
  s.env = CniEnv(cmd, id, netns, "eth0", node.impl.cni_path);
  s.stdin_data = c.dump();
  s.netns_fd = node.ns.ns().fd();
  return s;
}

}  // namespace

bool RunPortmapBench(const PortmapBenchOptions& opt, Report& rep) {
  std::map<std::string, std::vector<double>> chain_add, chain_del, pm_add, pm_del, loaded_add;
  for (const Impl& impl : opt.impls) {
    const std::string& tag = impl.label;
    auto node = MakeNode(impl, /*ip_masq=*/false, opt.store_root);
    if (!node) return std::fprintf(stderr, "%s\n", node.error().msg().c_str()), false;
    std::vector<Pod> pods;
    long fails = 0;
    const auto run = [&](const ExecSpec& s, std::vector<double>* into) {
      auto r = Run(s);
      if (!r || r->exit_code != 0) {
        if (fails++ == 0 && r) PrintFailure(tag + " portmap", *r);
        return false;
      }
      if (into) into->push_back(r->ms);
      return true;
    };
    for (int i = 0; i < opt.pods + 1 && !Interrupted(); ++i) {
      auto p = MakePod(impl, i);
      if (!p) return std::fprintf(stderr, "%s\n", p.error().msg().c_str()), false;
      auto br = Add(*node, *p, false);
      if (!br || br->exit_code != 0) {
        ++fails;
        continue;
      }
      // The first pod warms the page cache and creates the tables: not measured.
      std::vector<double> one;
      if (run(PortmapSpec(*node, "ADD", p->id, p->ns.path(), p->add_out, 10000 + i), &one) &&
          i > 0) {
        pm_add[tag].push_back(one[0]);
        chain_add[tag].push_back(one[0] + br->ms);
      }
      pods.push_back(std::move(*p));
    }
    // `existing` more mappings (the same pod address, other owners and ports), then
    // ADDs on the loaded node.
    const std::string prev = pods.empty() ? "" : pods.front().add_out;
    const std::string netns = pods.empty() ? "" : pods.front().ns.path();
    for (int j = 0; j < opt.existing && !Interrupted(); ++j) {
      run(PortmapSpec(*node, "ADD", "fill" + std::to_string(j), netns, prev, 20000 + j), nullptr);
    }
    for (int j = 0; j < opt.pods && !Interrupted(); ++j) {
      const std::string id = "loaded" + std::to_string(j);
      run(PortmapSpec(*node, "ADD", id, netns, prev, 40000 + j), &loaded_add[tag]);
      run(PortmapSpec(*node, "DEL", id, netns, "", 40000 + j), nullptr);
    }
    for (int j = 0; j < opt.existing && !Interrupted(); ++j) {
      run(PortmapSpec(*node, "DEL", "fill" + std::to_string(j), netns, "", 20000 + j), nullptr);
    }
    // DEL in the runtime's order: portmap (no prevResult), then the bridge.
    for (size_t i = 0; i < pods.size(); ++i) {
      std::vector<double> one;
      const bool pm_ok = run(
          PortmapSpec(*node, "DEL", pods[i].id, pods[i].ns.path(), "", 10000 + static_cast<int>(i)),
          &one);
      auto d = Del(*node, pods[i]);
      if (!d || d->exit_code != 0) {
        ++fails;
      } else if (pm_ok && i > 0) {
        pm_del[tag].push_back(one[0]);
        chain_del[tag].push_back(one[0] + d->ms);
      }
    }
    rep.Count("fail.portmap." + tag, fails);
  }
  for (const Impl& impl : opt.impls) {
    const std::string& tag = impl.label;
    rep.Series("chain_add." + tag, chain_add[tag]);
    rep.Series("portmap_add." + tag, pm_add[tag]);
    rep.Series("portmap_add_with_" + std::to_string(opt.existing) + "." + tag, loaded_add[tag]);
    rep.Series("portmap_del." + tag, pm_del[tag]);
    rep.Series("chain_del." + tag, chain_del[tag]);
  }
  return true;
}

}  // namespace linen::bench
