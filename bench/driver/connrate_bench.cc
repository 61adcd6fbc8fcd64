#include "bench/driver/connrate_bench.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "bench/driver/cni_node.h"
#include "bench/driver/proc.h"
#include "bench/driver/tcp_load.h"
#include "netns/netns.h"

namespace linen::bench {
namespace {

using nlohmann::json;

constexpr uint16_t kPort = 8080;

std::string ConnConf(const std::string& data, int pods) {
  // A /22 holds the 1,000 pods; more need a bigger range.
  const std::string subnet = pods + 2 <= 1022 ? "10.88.0.0/22" : "10.88.0.0/16";
  return MasqBridgeConf(data, subnet, /*default_route=*/true);
}

cni::Status WriteSysctl(const cni::NetNs& ns, const std::string& key, const std::string& value) {
  auto sw = cni::ScopedNetnsSwitch::Enter(ns);
  if (!sw) return sw.error();
  // /proc/sys/net belongs to the netns of whoever opens it: the node's, here.
  std::ofstream f("/proc/sys/net/" + key);
  f << value << "\n";
  f.close();
  if (!f) return cni::Error(cni::Code::kInternal, "cannot set " + key + " in the node");
  return cni::OkStatus();
}

// One node with `pods` pods, its underlay to an "external" namespace (the outside
// world: one host at .2, the node at .1), and a server there that accepts and
// closes. The external namespace has no route to the pod subnet, so a reply can only
// come back if the connection was masqueraded to the node's address; the server
// also checks every peer is the node.
struct Site {
  std::string label;  // "10_pods"
  std::string node_ip, ext_ip;
  std::optional<test::TempNetns> ext;
  std::optional<Node> node;
  std::optional<AcceptServer> server;
  std::vector<Pod> pods;
  long add_fails = 0, del_fails = 0, conn_fails = 0, slow = 0;
  int first_errno = 0;
  std::vector<double> rates;  // conns/s per round
};

bool Fail(const cni::Error& e) {
  std::fprintf(stderr, "connrate: %s\n", e.msg().c_str());
  return false;
}

bool SetUpSite(const ConnRateBenchOptions& opt, int pods, int net, Site& s) {
  s.label = std::to_string(pods) + "_pods";
  s.node_ip = "192.168." + std::to_string(net) + ".1";
  s.ext_ip = "192.168." + std::to_string(net) + ".2";
  auto ext = test::TempNetns::Create("lbe");
  if (!ext) return Fail(ext.error());
  s.ext.emplace(std::move(*ext));
  auto node = MakeNode(opt.impl, true, opt.store_root);
  if (!node) return Fail(node.error());
  s.node.emplace(std::move(*node));
  s.node->conf = ConnConf(s.node->data->path(), pods);
  if (auto st = AddUnderlay(*s.node, &s.ext->ns(), s.node_ip + "/24", s.ext_ip + "/24"); !st) {
    return Fail(st.error());
  }
  if (auto st = WriteSysctl(s.node->ns.ns(), "ipv4/ip_forward", "1"); !st) return Fail(st.error());
  if (!WarmUp(*s.node)) return std::fprintf(stderr, "connrate: warm-up failed\n"), false;
  // After the warm-up, whose nat table has loaded conntrack in this namespace. Each
  // RST-closed connection leaves its conntrack entry in CLOSE for 10 s by default: at
  // 30,000+ connections/s that is 300,000+ entries, past nf_conntrack_max (262,144
  // here), and a full table drops SYNs, so the loop would measure the table's limit
  // (seconds-long stalls) rather than the path. 1 s keeps the table at a tenth of that;
  // it only shortens how long dead entries linger, in this node's namespace alone.
  if (auto st = WriteSysctl(s.node->ns.ns(), "netfilter/nf_conntrack_tcp_timeout_close", "1");
      !st) {
    return Fail(st.error());
  }
  auto server = AcceptServer::Start(s.ext->ns(), s.ext_ip, kPort, s.node_ip);
  if (!server) return Fail(server.error());
  s.server.emplace(std::move(*server));
  s.pods.reserve(static_cast<size_t>(pods));
  for (int i = 0; i < pods; ++i) {
    if (Interrupted()) return false;
    auto p = MakePod(opt.impl, i);
    if (!p) return Fail(p.error());
    s.pods.push_back(std::move(*p));
    auto r = Add(*s.node, s.pods.back(), false);
    if (!r) return Fail(r.error());
    if (r->exit_code != 0 && s.add_fails++ == 0) PrintFailure(opt.impl.label + " ADD", *r);
  }
  return true;
}

// The client is the node's most recently added pod: the one a per-pod rule list
// would reach last. The first run (200 connections, untimed) makes the neighbour
// entries on the way, so no round pays for them.
bool Round(const ConnRateBenchOptions& opt, Site& s, bool warm_up) {
  auto client_ns = s.pods.back().ns.Open();
  if (!client_ns) return Fail(client_ns.error());
  auto c = ConnectLoop(*client_ns, s.ext_ip, kPort, opt.seconds, warm_up ? 200 : 0);
  if (!c) return Fail(c.error());
  if (c->failed && s.conn_fails == 0) s.first_errno = c->first_errno;
  s.conn_fails += c->failed;
  s.slow += c->slow;
  if (!warm_up) s.rates.push_back(c->per_second());
  return true;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size();
  return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

bool TearDownAndReport(const ConnRateBenchOptions& opt, Site& s, Report& rep) {
  const std::string& tag = opt.impl.label;
  for (size_t i = s.pods.size(); i-- > 0;) {
    if (Interrupted()) return false;
    auto r = Del(*s.node, s.pods[i]);
    if (!r) return Fail(r.error());
    if (r->exit_code != 0 && s.del_fails++ == 0) PrintFailure(tag + " DEL", *r);
  }
  auto served = s.server->Stop();
  if (!served) return Fail(served.error());
  if (s.conn_fails) {
    std::fprintf(stderr, "connrate %s: %ld connects failed, the first with %s\n",
                 s.label.c_str(), s.conn_fails,
                 s.first_errno == EINPROGRESS ? "a 3 s timeout" : std::strerror(s.first_errno));
  }
  const std::string key = "connrate." + tag + "." + s.label;
  rep.Value(key, Median(s.rates), "conns/s (median)");
  rep.Value(key + ".min", *std::min_element(s.rates.begin(), s.rates.end()), "conns/s");
  rep.Value(key + ".max", *std::max_element(s.rates.begin(), s.rates.end()), "conns/s");
  rep.Value(key + ".server_accepted", static_cast<double>(served->accepted), "conns");
  rep.Value(key + ".connects_over_1s", static_cast<double>(s.slow), "(SYN retransmits)");
  rep.Count("fail.connrate_connect." + tag + "." + s.label, s.conn_fails);
  rep.Count("connrate.not_masqueraded." + tag + "." + s.label, served->unexpected_peer);
  rep.Count("fail.connrate_add." + tag + "." + s.label, s.add_fails);
  rep.Count("fail.connrate_del." + tag + "." + s.label, s.del_fails);
  ReportLeaks(rep, "connrate." + tag + "." + s.label, FindLeaks(*s.node, s.pods));
  return true;
}

}  // namespace

bool RunConnRateBench(const ConnRateBenchOptions& opt, Report& rep) {
  if (opt.few < 1 || opt.many < opt.few || opt.rounds < 1 || opt.seconds <= 0) {
    std::fprintf(stderr, "connrate: want 1 <= few <= many, rounds >= 1, seconds > 0\n");
    return false;
  }
  // Two nodes side by side, one with few pods and one with many, measured in
  // alternating rounds: on a shared machine whose speed drifts by tens of percent
  // over minutes, "few" and "many" measured minutes apart would mostly compare the
  // machine with itself. What differs between the two is per node (namespace): the
  // bridge's ports, routes and neighbours, the nat table and its per-pod masquerade
  // entries, the conntrack zone's entries.
  Site few, many;
  if (!SetUpSite(opt, opt.few, 60, few) || !SetUpSite(opt, opt.many, 61, many)) return false;
  CheckAdds(rep, "connrate." + opt.impl.label + "." + few.label, few.pods);
  CheckAdds(rep, "connrate." + opt.impl.label + "." + many.label, many.pods);
  if (!Round(opt, few, true) || !Round(opt, many, true)) return false;
  for (int i = 0; i < opt.rounds; ++i) {
    if (Interrupted()) return false;
    Site& first = i % 2 == 0 ? few : many;
    Site& second = i % 2 == 0 ? many : few;
    if (!Round(opt, first, false) || !Round(opt, second, false)) return false;
    std::fprintf(stderr, "  connrate round %d: %s %.0f/s, %s %.0f/s\n", i, few.label.c_str(),
                 few.rates.back(), many.label.c_str(), many.rates.back());
  }
  rep.Value("connrate.seconds_per_round", opt.seconds, "s");
  rep.Value("connrate.rounds", opt.rounds, "per node, alternating");
  if (!TearDownAndReport(opt, few, rep) || !TearDownAndReport(opt, many, rep)) return false;
  double base = Median(few.rates);
  if (base > 0) {
    rep.Ratio("ratio.connrate_many_over_few." + opt.impl.label, Median(many.rates) / base, ">=",
              0.9);
  }
  return true;
}

}  // namespace linen::bench
