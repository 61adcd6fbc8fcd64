#include "bench/driver/cni_node.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "libcni/ip_net.h"
#include "libcni/netlink/handle.h"

namespace linen::bench {

using nlohmann::json;

namespace {

// The reference setup: bridge with isGateway and ipMasq, host-local IPAM.
std::string NodeConf(const std::string& data_dir, bool ip_masq) {
  json c = {{"cniVersion", "1.0.0"},
            {"name", kNetName},
            {"type", "bridge"},
            {"bridge", "cni0"},
            {"isGateway", true},
            {"ipMasq", ip_masq},
            {"ipam",
             {{"type", "host-local"},
              {"ranges", json::array({json::array({{{"subnet", "10.88.0.0/16"}}})})},
              {"dataDir", data_dir}}}};
  return c.dump();
}

std::vector<std::string> IpsOf(const std::string& out) {
  std::vector<std::string> ips;
  json j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ips") || !j["ips"].is_array()) {
    return ips;
  }
  for (const auto& ip : j["ips"]) {
    if (ip.is_object() && ip.contains("address") && ip["address"].is_string()) {
      ips.push_back(ip["address"].get<std::string>());
    }
  }
  return ips;
}

std::vector<std::string> Ruleset(const Node& node) {
  ExecSpec s;
  s.argv = {"/usr/sbin/nft", "-s", "list", "ruleset"};
  s.env = {{"PATH", "/usr/sbin:/usr/bin"}};
  s.netns_fd = node.ns.ns().fd();
  std::vector<std::string> lines;
  auto r = Run(s);
  if (!r) return lines;
  std::istringstream in(r->out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace

ExecSpec PluginSpec(const Node& node, const std::string& cmd, const Pod& pod,
                    std::string stdin_data) {
  ExecSpec s;
  s.argv = {node.impl.cni_path + "/" + node.plugin};
  s.env = CniEnv(cmd, pod.id, pod.ns.path(), "eth0", node.impl.cni_path);
  s.stdin_data = std::move(stdin_data);
  s.netns_fd = node.ns.ns().fd();
  return s;
}

// host-local alone, exec'd the same way, with its own store: how much of an ADD or
// DEL is the IPAM plugin.
ExecSpec IpamSpec(const Node& node, const std::string& cmd, const Pod& pod) {
  ExecSpec s;
  s.argv = {node.impl.cni_path + "/host-local"};
  s.env = CniEnv(cmd, pod.id + "-ipam", pod.ns.path(), "eth0", node.impl.cni_path);
  json c = json::parse(node.conf);
  c["ipam"]["dataDir"] = node.data->path() + "/ipam-only";
  s.stdin_data = c.dump();
  s.netns_fd = node.ns.ns().fd();
  return s;
}

std::string DelStdin(const Node& node, const Pod& pod) {
  json c = json::parse(node.conf);
  json prev = json::parse(pod.add_out, nullptr, false);
  if (!prev.is_discarded() && prev.is_object() && prev.contains("ips")) c["prevResult"] = prev;
  return c.dump();
}



cni::Result<Node> MakeNode(const Impl& impl, bool ip_masq, const std::string& store_root) {
  auto ns = test::TempNetns::Create("lbn");
  if (!ns) return ns.error().Context("node netns for " + impl.label);
  std::unique_ptr<test::TempDir> data;
  try {
    data = std::make_unique<test::TempDir>(store_root);
  } catch (const std::exception& e) {
    return cni::Error(cni::Code::kInternal, e.what());
  }
  Node n{impl, std::move(*ns), std::move(data), "", {}};
  n.conf = NodeConf(n.data->path(), ip_masq);
  return n;
}

cni::Status AddUnderlay(Node& node, const cni::NetNs* peer_ns, const std::string& node_cidr,
                        const std::string& peer_cidr) {
  auto h = cni::nl::Handle::OpenIn(node.ns.ns());
  if (!h) return h.error();
  if (auto s = h->CreateVeth({.name = "ul0", .peer_name = "ul0p", .peer_ns = peer_ns, .mtu = 0,
                             .mac = "", .peer_mac = ""});
      !s) {
    return s.error().Context("underlay veth");
  }
  node.own_links = {"ul0"};
  if (!peer_ns) node.own_links.push_back("ul0p");
  auto ul = h->LinkByName("ul0");
  if (!ul) return ul.error();
  auto net = cni::IpNet::Parse(node_cidr);
  if (!net) return cni::Error(cni::Code::kInternal, "not a CIDR: " + node_cidr);
  if (auto s = h->AddAddr(ul->index, *net); !s) return s;
  if (auto s = h->SetUp(ul->index); !s) return s;
  auto ph = peer_ns ? cni::nl::Handle::OpenIn(*peer_ns) : std::move(h);
  if (!ph) return ph.error();
  auto peer = ph->LinkByName("ul0p");
  if (!peer) return peer.error();
  if (!peer_cidr.empty()) {
    auto pnet = cni::IpNet::Parse(peer_cidr);
    if (!pnet) return cni::Error(cni::Code::kInternal, "not a CIDR: " + peer_cidr);
    if (auto s = ph->AddAddr(peer->index, *pnet); !s) return s;
  }
  return ph->SetUp(peer->index);
}

cni::Result<Pod> MakePod(const Impl& impl, int i) {
  auto ns = test::UnheldNetns::Create("lbc");
  if (!ns) return ns.error().Context("pod netns");
  return Pod{std::move(*ns), "bench-" + impl.label + "-" + std::to_string(i), ""};
}

cni::Result<ExecResult> Add(const Node& node, Pod& pod, bool trace) {
  ExecSpec s = PluginSpec(node, "ADD", pod, node.conf);
  s.trace_own_rss = trace;
  // LeakSanitizer cannot run under ptrace; matters only for sanitizer builds.
  if (trace) s.env["ASAN_OPTIONS"] = "detect_leaks=0";
  auto r = Run(s);
  if (r && r->exit_code == 0) pod.add_out = r->out;
  return r;
}

cni::Result<ExecResult> Del(const Node& node, const Pod& pod) {
  return Run(PluginSpec(node, "DEL", pod, DelStdin(node, pod)));
}


Leaks FindLeaks(const Node& node, const std::vector<Pod>& pods) {
  Leaks l;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(node.data->path() + "/" + kNetName, ec)) {
    if (cni::IpAddr::Parse(e.path().filename().string())) ++l.ip_files;
  }
  if (auto h = cni::nl::Handle::OpenIn(node.ns.ns())) {
    if (auto links = h->ListLinks()) {
      for (const auto& k : *links) {
        bool own = std::find(node.own_links.begin(), node.own_links.end(), k.name) !=
                   node.own_links.end();
        l.node_veths += k.kind == "veth" && !own;
      }
    }
  }
  for (const auto& p : pods) {
    auto ns = p.ns.Open();
    if (!ns) continue;
    auto h = cni::nl::Handle::OpenIn(*ns);
    if (!h) continue;
    if (auto links = h->ListLinks()) {
      for (const auto& k : *links) l.pod_ifaces += k.name != "lo";
    }
  }
  std::vector<std::string> after = Ruleset(node), added;
  std::set_difference(after.begin(), after.end(), node.ruleset_before.begin(),
                      node.ruleset_before.end(), std::back_inserter(added));
  l.rules = static_cast<long>(added.size());
  for (const auto& r : added) std::fprintf(stderr, "  leaked rule (%s): %s\n",
                                           node.impl.label.c_str(), r.c_str());
  return l;
}

void ReportLeaks(Report& rep, const std::string& tag, const Leaks& l) {
  rep.Count("leak." + tag + ".ip_files", l.ip_files);
  rep.Count("leak." + tag + ".node_veths", l.node_veths);
  rep.Count("leak." + tag + ".pod_ifaces", l.pod_ifaces);
  rep.Count("leak." + tag + ".nft_lines", l.rules);
}

// Pods that got an IP someone else also got, and pods whose eth0 is missing.
void CheckAdds(Report& rep, const std::string& tag, const std::vector<Pod>& pods) {
  std::map<std::string, int> seen;
  long no_ip = 0, dup = 0, no_iface = 0;
  for (const auto& p : pods) {
    auto ips = IpsOf(p.add_out);
    if (ips.empty()) ++no_ip;
    for (const auto& ip : ips) dup += seen[ip]++ > 0;
    auto ns = p.ns.Open();
    auto h = ns ? cni::nl::Handle::OpenIn(*ns) : cni::Result<cni::nl::Handle>(ns.error());
    if (!h || !h->LinkByName("eth0")) ++no_iface;
  }
  rep.Count("dup_ips." + tag, dup);
  rep.Count("no_ip." + tag, no_ip);
  rep.Count("no_eth0." + tag, no_iface);
}

void PrintFailure(const std::string& what, const ExecResult& r) {
  std::fprintf(stderr, "%s exited %d\n  stdout: %s\n  stderr: %s\n", what.c_str(), r.exit_code,
               r.out.c_str(), r.err.c_str());
}

// One ADD and DEL before measuring: the bridge, nat chains and store directory exist
// from then on, as on any node that already runs pods, and the ruleset snapshot is
// taken in that state.
bool WarmUp(Node& node) {
  auto pod = MakePod(node.impl, -1);
  if (!pod) return std::fprintf(stderr, "%s\n", pod.error().msg().c_str()), false;
  auto a = Add(node, *pod, false);
  if (!a || a->exit_code != 0) {
    if (a) PrintFailure(node.impl.label + " warm-up ADD", *a);
    return false;
  }
  auto d = Del(node, *pod);
  if (!d || d->exit_code != 0) {
    if (d) PrintFailure(node.impl.label + " warm-up DEL", *d);
    return false;
  }
  node.ruleset_before = Ruleset(node);
  return true;
}

std::string MasqBridgeConf(const std::string& data, const std::string& subnet,
                           bool default_route) {
  nlohmann::json c = {{"cniVersion", "1.0.0"},
                      {"name", kNetName},
                      {"type", "bridge"},
                      {"bridge", "cni0"},
                      {"isGateway", true},
                      {"isDefaultGateway", default_route},
                      {"ipMasq", true},
                      {"ipam",
                       {{"type", "host-local"},
                        {"ranges", nlohmann::json::array({nlohmann::json::array({{{"subnet", subnet}}})})},
                        {"dataDir", data}}}};
  return c.dump();
}

}  // namespace linen::bench
