#include "bench/driver/connrate_bench.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/driver/cni_node.h"
#include "bench/driver/proc.h"
#include "bench/driver/tcp_load.h"
#include "netns/netns.h"

namespace linen::bench {
namespace {

using nlohmann::json;

// The underlay: the node at .1, the outside world (one external host) at .2. The
// external namespace has no route to the pod subnet, so a reply can only come back
// if the pod's connection was masqueraded to the node's address; the server checks
// that each peer is the node, too.
constexpr const char* kNodeUl = "192.168.60.1";
constexpr const char* kExternal = "192.168.60.2";
constexpr uint16_t kPort = 8080;

std::string ConnConf(const std::string& data, int pods) {
  // A /22 holds the 1,000 pods; more need a bigger range.
  const std::string subnet = pods + 2 <= 1022 ? "10.88.0.0/22" : "10.88.0.0/16";
  json c = {{"cniVersion", "1.0.0"},
            {"name", kNetName},
            {"type", "bridge"},
            {"bridge", "cni0"},
            {"isGateway", true},
            // The pod's default route via cni0, so it can reach the outside at all.
            {"isDefaultGateway", true},
            {"ipMasq", true},
            {"ipam",
             {{"type", "host-local"},
              {"ranges", json::array({json::array({{{"subnet", subnet}}})})},
              {"dataDir", data}}}};
  return c.dump();
}

cni::Status EnableForwarding(const cni::NetNs& ns) {
  auto sw = cni::ScopedNetnsSwitch::Enter(ns);
  if (!sw) return sw.error();
  // /proc/sys/net belongs to the netns of whoever opens it: the node's, here.
  std::ofstream f("/proc/sys/net/ipv4/ip_forward");
  f << "1\n";
  f.close();
  if (!f) return cni::Error(cni::Code::kInternal, "cannot enable ip_forward in the node");
  return cni::OkStatus();
}

struct Rate {
  double per_second = 0;  // median over the rounds
  long failed = 0;
  int first_errno = 0;
};

// `rounds` runs of `seconds` each from `pod`; a short untimed run first, so the
// pod's and node's neighbour entries exist and the first round does not pay for
// them.
cni::Result<Rate> Measure(const Pod& pod, const ConnRateBenchOptions& opt,
                          std::vector<double>* samples) {
  Rate r;
  auto warm = ConnectLoop(pod.ns.ns(), kExternal, kPort, opt.seconds, 200);
  if (!warm) return warm.error();
  r.failed += warm->failed;
  if (warm->failed && !r.first_errno) r.first_errno = warm->first_errno;
  std::vector<double> rates;
  for (int i = 0; i < opt.rounds; ++i) {
    if (Interrupted()) return cni::Error(cni::Code::kInternal, "interrupted");
    auto c = ConnectLoop(pod.ns.ns(), kExternal, kPort, opt.seconds, 0);
    if (!c) return c.error();
    r.failed += c->failed;
    if (c->failed && !r.first_errno) r.first_errno = c->first_errno;
    rates.push_back(c->per_second());
  }
  samples->insert(samples->end(), rates.begin(), rates.end());
  // Median: the machine is shared and one round can be hit by a neighbour's burst.
  std::sort(rates.begin(), rates.end());
  size_t m = rates.size();
  r.per_second = m == 0 ? 0 : (m % 2 ? rates[m / 2] : (rates[m / 2 - 1] + rates[m / 2]) / 2);
  return r;
}

bool AddPods(Node& node, std::vector<Pod>& pods, int upto, long* fails) {
  for (int i = static_cast<int>(pods.size()); i < upto; ++i) {
    if (Interrupted()) return false;
    auto p = MakePod(node.impl, i);
    if (!p) return std::fprintf(stderr, "%s\n", p.error().msg().c_str()), false;
    pods.push_back(std::move(*p));
    auto r = Add(node, pods.back(), false);
    if (!r) return std::fprintf(stderr, "%s\n", r.error().msg().c_str()), false;
    if (r->exit_code != 0 && (*fails)++ == 0) PrintFailure(node.impl.label + " ADD", *r);
  }
  return true;
}

// DELs pods[down_to..] in reverse; the namespaces stay for the leak check.
bool DelPods(Node& node, const std::vector<Pod>& pods, size_t down_to, size_t* live,
             long* fails) {
  while (*live > down_to) {
    if (Interrupted()) return false;
    auto r = Del(node, pods[--*live]);
    if (!r) return std::fprintf(stderr, "%s\n", r.error().msg().c_str()), false;
    if (r->exit_code != 0 && (*fails)++ == 0) PrintFailure(node.impl.label + " DEL", *r);
  }
  return true;
}

}  // namespace

bool RunConnRateBench(const ConnRateBenchOptions& opt, Report& rep) {
  if (opt.few < 1 || opt.many < opt.few) {
    std::fprintf(stderr, "connrate: want 1 <= few <= many\n");
    return false;
  }
  const std::string& tag = opt.impl.label;
  auto ext = test::TempNetns::Create("lbe");
  if (!ext) return std::fprintf(stderr, "%s\n", ext.error().msg().c_str()), false;
  auto node = MakeNode(opt.impl, true, opt.store_root);
  if (!node) return std::fprintf(stderr, "%s\n", node.error().msg().c_str()), false;
  node->conf = ConnConf(node->data->path(), opt.many);
  if (auto s = AddUnderlay(*node, &ext->ns(), std::string(kNodeUl) + "/24",
                           std::string(kExternal) + "/24");
      !s) {
    return std::fprintf(stderr, "underlay: %s\n", s.error().msg().c_str()), false;
  }
  if (auto s = EnableForwarding(node->ns.ns()); !s) {
    return std::fprintf(stderr, "%s\n", s.error().msg().c_str()), false;
  }
  if (!WarmUp(*node)) return std::fprintf(stderr, "%s: warm-up failed\n", tag.c_str()), false;
  auto server = AcceptServer::Start(ext->ns(), kExternal, kPort, kNodeUl);
  if (!server) return std::fprintf(stderr, "%s\n", server.error().msg().c_str()), false;

  std::vector<Pod> pods;
  pods.reserve(static_cast<size_t>(opt.many));
  long add_fails = 0, del_fails = 0, conn_fails = 0;
  int first_errno = 0;
  std::vector<double> few_rounds, many_rounds;
  // few pods, then many, then few again (the extra pods deleted): the repeat shows
  // how far the machine itself drifted while the node was full. The client is always
  // the most recently added pod: the one whose masquerade entry a per-pod rule list
  // would reach last.
  auto measure = [&](const char* what, std::vector<double>* rounds) -> cni::Result<double> {
    const Pod& client = pods.back();
    auto r = Measure(client, opt, rounds);
    if (!r) return r.error();
    conn_fails += r->failed;
    if (r->failed && !first_errno) first_errno = r->first_errno;
    std::fprintf(stderr, "  connrate %s (%zu pods): %.0f conns/s\n", what, pods.size(),
                 r->per_second);
    return r->per_second;
  };
  if (!AddPods(*node, pods, opt.few, &add_fails)) return false;
  auto few_before = measure("few", &few_rounds);
  if (!few_before) return std::fprintf(stderr, "%s\n", few_before.error().msg().c_str()), false;
  if (!AddPods(*node, pods, opt.many, &add_fails)) return false;
  CheckAdds(rep, "connrate." + tag, pods);
  auto at_many = measure("many", &many_rounds);
  if (!at_many) return std::fprintf(stderr, "%s\n", at_many.error().msg().c_str()), false;
  size_t live = pods.size();
  if (!DelPods(*node, pods, static_cast<size_t>(opt.few), &live, &del_fails)) return false;
  // The client again: pods[few-1] is the newest of the pods left.
  auto few_after = [&]() -> cni::Result<double> {
    auto r = Measure(pods[live - 1], opt, &few_rounds);
    if (!r) return r.error();
    conn_fails += r->failed;
    if (r->failed && !first_errno) first_errno = r->first_errno;
    std::fprintf(stderr, "  connrate few again (%zu pods): %.0f conns/s\n", live, r->per_second);
    return r->per_second;
  }();
  if (!few_after) return std::fprintf(stderr, "%s\n", few_after.error().msg().c_str()), false;
  if (!DelPods(*node, pods, 0, &live, &del_fails)) return false;
  auto served = server->Stop();
  if (!served) return std::fprintf(stderr, "%s\n", served.error().msg().c_str()), false;

  if (conn_fails) {
    std::fprintf(stderr, "connrate: %ld connects failed, the first with %s\n", conn_fails,
                 std::strerror(first_errno));
  }
  const std::string few_s = std::to_string(opt.few), many_s = std::to_string(opt.many);
  rep.Value("connrate." + tag + "." + few_s + "_pods", *few_before, "conns/s");
  rep.Value("connrate." + tag + "." + many_s + "_pods", *at_many, "conns/s");
  rep.Value("connrate." + tag + "." + few_s + "_pods_again", *few_after, "conns/s");
  rep.Value("connrate.seconds_per_round", opt.seconds, "s");
  rep.Value("connrate.rounds", opt.rounds, "(median)");
  rep.Value("connrate.server_accepted", static_cast<double>(served->accepted), "conns");
  rep.Count("fail.connrate_connect." + tag, conn_fails);
  rep.Count("connrate.not_masqueraded." + tag, served->unexpected_peer);
  rep.Count("fail.connrate_add." + tag, add_fails);
  rep.Count("fail.connrate_del." + tag, del_fails);
  ReportLeaks(rep, "connrate." + tag, FindLeaks(*node, pods));
  double base = (*few_before + *few_after) / 2;
  if (base > 0) {
    rep.Ratio("ratio.connrate_many_over_few." + tag, *at_many / base, ">=", 0.9);
  }
  return true;
}

}  // namespace linen::bench
