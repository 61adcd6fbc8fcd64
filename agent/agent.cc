#include "agent/agent.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "agent/log.h"
#include "agent/node_ip.h"
#include "libcni/netlink/nftables.h"
#include "overlay/backend/masquerade.h"
#include "overlay/backend/subnet_env.h"
#include "overlay/registry/etcd/etcd_client.h"

namespace linen::agent {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMaxWait{500};  // how often the loop looks at `stop`
constexpr milliseconds kBackoffMin{200};
constexpr milliseconds kBackoffMax{5000};

std::vector<overlay::NodeLease> Values(const std::map<cni::IpNet, overlay::NodeLease>& m) {
  std::vector<overlay::NodeLease> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back(v);
  return out;
}

// Registry failures that mean "cannot reach / not answering" rather than "refused".
bool IsOutage(const cni::Error& e) {
  return e.code() == cni::Code::kTryAgainLater;
}

void SleepUnlessStopped(const std::atomic<bool>& stop, milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop && std::chrono::steady_clock::now() < until) {
    auto left = std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::min(left, milliseconds(100)));
  }
}

}  // namespace

Agent::Agent(Options opts, std::unique_ptr<overlay::Registry> registry, Metrics* metrics)
    : opts_(std::move(opts)), registry_(std::move(registry)), metrics_(metrics) {}

Agent::~Agent() = default;

milliseconds Agent::Backoff() {
  backoff_ = backoff_.count() == 0 ? kBackoffMin : std::min(backoff_ * 2, kBackoffMax);
  return backoff_;
}

void Agent::NoteError(const cni::Error& e) {
  metrics_->SetLastError(e.msg());
  // Repeating failures are logged when they change, not on every retry.
  if (e.msg() != last_logged_error_) {
    Log(e.msg());
    last_logged_error_ = e.msg();
  }
}

void Agent::RegistryDown(const cni::Error& e) {
  metrics_->SetLastError(e.msg());
  if (!registry_up_) {
    // The outage is announced once; a different reason during it is worth a line.
    if (e.msg() != last_logged_error_) Log("registry still unreachable: " + e.msg());
    last_logged_error_ = e.msg();
    return;
  }
  registry_up_ = false;
  metrics_->SetRegistryUp(false);
  last_logged_error_ = e.msg();
  Log("registry unreachable, keeping the data path as it is and retrying: " + e.msg());
}

void Agent::RegistryUp() {
  backoff_ = milliseconds(0);
  metrics_->SetRegistryUp(true);
  if (registry_up_) return;
  registry_up_ = true;
  metrics_->SetLastError("");
  last_logged_error_.clear();
  Log("registry reachable again");
}

// A loop turn waits at most kMaxWait or one backoff, plus whatever registry requests
// it makes: a re-lease is the longest (config, lease read, lease write, peer list),
// each bounded by the request timeout per endpoint tried. 30 s at least, so a single
// slow request never makes the kubelet restart a healthy agent.
milliseconds Agent::StallLimit() const {
  const auto per_request = etcd::ClientOptions{}.request_timeout *
                           std::max<size_t>(1, opts_.etcd_endpoints.size());
  return std::max<milliseconds>(milliseconds(30000), kMaxWait + kBackoffMax + 4 * per_request);
}

void Agent::Beat() {
  const auto now = Clock::now();
  metrics_->Heartbeat(now);
  const std::string reason = metrics_->NotReadyReason();
  const bool ready = reason.empty();
  if (mark_.written && ready == mark_.ready && reason == mark_.reason && now < mark_.refresh_at) {
    return;
  }
  if (mark_.written && ready != mark_.ready) Log(ready ? "ready" : "not ready: " + reason);
  const milliseconds limit = StallLimit();
  mark_.written = true;
  mark_.ready = ready;
  mark_.reason = reason;
  mark_.refresh_at = now + limit / 6;
  overlay::ReadyMark mark{ready, reason, std::chrono::system_clock::now() + limit};
  if (auto s = overlay::WriteReadyMark(overlay::ReadyMarkPath(opts_.subnet_file), mark); !s) {
    NoteError(s.error().Context("readiness mark"));
  }
}

// A clean stop says so at once rather than leaving the mark to go stale.
void Agent::DropReadyMark() {
  if (auto s = overlay::RemoveReadyMark(overlay::ReadyMarkPath(opts_.subnet_file)); !s) {
    Log(s.error().msg());
  }
  mark_.written = false;
}

cni::Status Agent::WriteSubnetFile() {
  overlay::SubnetEnv env;
  if (node_.cluster.enable_ipv4) {
    env.network = node_.cluster.network;
    env.subnet = node_.self.subnet;
  }
  if (node_.cluster.enable_ipv6) {
    env.ipv6_network = node_.cluster.ipv6_network;
    env.ipv6_subnet = node_.self.ipv6_subnet;
  }
  env.mtu = setup_.mtu;
  env.ip_masq = node_.cluster.ip_masq;
  env.backend = overlay::BackendName(node_.cluster.backend);
  env.node = node_.self.name;
  return overlay::WriteSubnetEnv(opts_.subnet_file, env);
}

// linend owns the node masquerade in agent mode (as flanneld with --ip-masq): the
// plugins only read FLANNEL_IPMASQ, so no pod ADD touches nftables. Kept in step on
// start-up and every full sync; removed when the cluster config turns it off.
cni::Status Agent::SyncNodeMasquerade() {
  auto nft = cni::nft::Socket::Open();
  if (!nft) return nft.error();
  // One table per enabled family (ip / ip6), each for its own cluster network.
  auto changed = overlay::SyncNodeMasquerade(*nft, overlay::kAgentMasqName, node_.cluster);
  if (!changed) return changed.error();
  if (*changed) {
    std::string what;
    for (cni::Family f : overlay::EnabledFamilies(node_.cluster)) {
      what += (what.empty() ? "" : ", ") + overlay::ClusterNetwork(node_.cluster, f).Masked().ToString();
    }
    Log(node_.cluster.ip_masq ? "masquerade for traffic leaving " + what + " set in table " +
                                    overlay::MasqTableName(overlay::kAgentMasqName)
                              : std::string("masquerade off: table ") +
                                    overlay::MasqTableName(overlay::kAgentMasqName) + " removed");
  }
  return cni::OkStatus();
}

cni::Status Agent::SetUpNode() {
  auto cfg = registry_->Config();
  if (!cfg) return cfg.error();
  // The node's underlay address of each enabled family. A static topology names the
  // node, so without an interface or address given there is nothing to resolve.
  const bool from_topology = opts_.registry == "file" && opts_.iface.empty();
  cni::IpAddr ip, ip6;
  if (cfg->enable_ipv4 && !(from_topology && opts_.public_ip.empty())) {
    auto r = ResolveNodeIp(*handle_, opts_.iface, opts_.public_ip);
    if (!r) return r.error();
    ip = *r;
  }
  if (cfg->enable_ipv6 && !(from_topology && opts_.public_ipv6.empty())) {
    auto r = ResolveNodeIpv6(*handle_, opts_.iface, opts_.public_ipv6, ip);
    if (!r) return r.error();
    ip6 = *r;
  }

  overlay::NodeLease wanted;
  wanted.name = opts_.node_name;
  wanted.node_ip = ip;
  wanted.node_ipv6 = ip6;
  if (cfg->backend == overlay::BackendType::kVxlan) {
    // Derived from the node IP, so the MAC stays the same across restarts and device
    // re-creation (flannel#1795: a MAC that drifts from the published one).
    if (cfg->enable_ipv4) wanted.vtep_mac = overlay::DeriveVtepMac(ip);
    if (cfg->enable_ipv6) wanted.vtep_mac_v6 = overlay::DeriveVtepMacV6(ip6);
  }
  // Our previous subnets, from the subnet file of an earlier run, if they fit.
  if (!overlay::IsUnset(node_.self.subnet) || !overlay::IsUnset(node_.self.ipv6_subnet)) {
    wanted.subnet = node_.self.subnet;
    wanted.ipv6_subnet = node_.self.ipv6_subnet;
  } else if (auto prev = overlay::ReadSubnetEnv(opts_.subnet_file);
             prev && (prev->node.empty() || prev->node == wanted.name)) {
    if (prev->has_ipv4() && prev->network == cfg->network) wanted.subnet = prev->subnet;
    if (prev->has_ipv6() && prev->ipv6_network == cfg->ipv6_network) {
      wanted.ipv6_subnet = prev->ipv6_subnet;
    }
  }
  auto lease = registry_->Acquire(wanted);
  if (!lease) return lease.error();
  metrics_->SetLeased(true);

  overlay::LocalNode node{*lease, *cfg, opts_.iface};
  if (cfg->enable_ipv4 && node.self.node_ip.IsUnspecified()) node.self.node_ip = ip;
  if (cfg->enable_ipv6 && node.self.node_ipv6.IsUnspecified()) node.self.node_ipv6 = ip6;
  backend_.reset();  // it refers to node_, which changes now
  node_ = std::move(node);
  backend_ = overlay::NewBackend(*handle_, node_, [](std::string_view m) { Log(m); });
  auto setup = backend_->EnsureNode();
  if (!setup) return setup.error().Context("set up " + std::string(BackendName(cfg->backend)));
  setup_ = *setup;
  const bool mac_moved = !setup_.vtep_mac.empty() && setup_.vtep_mac != node_.self.vtep_mac;
  const bool mac6_moved =
      !setup_.vtep_mac_v6.empty() && setup_.vtep_mac_v6 != node_.self.vtep_mac_v6;
  if ((mac_moved || mac6_moved) && opts_.registry == "etcd") {
    // A device kept another MAC: publish the one peers must use.
    overlay::NodeLease fix = node_.self;
    if (mac_moved) fix.vtep_mac = setup_.vtep_mac;
    if (mac6_moved) fix.vtep_mac_v6 = setup_.vtep_mac_v6;
    auto again = registry_->Acquire(fix);
    if (!again) return again.error();
    node_.self = *again;
  }
  // Before subnet.env: a pod that starts once the file exists must already be NATed.
  if (auto s = SyncNodeMasquerade(); !s) return s.error().Context("node masquerade");
  auto written = WriteSubnetFile();
  metrics_->SetSubnetFileWritten(written.ok());
  if (!written) return written.error().Context("write " + opts_.subnet_file);
  metrics_->SetLeaseExpiry(opts_.registry == "etcd"
                               ? std::chrono::system_clock::now() + opts_.lease_ttl
                               : std::chrono::system_clock::time_point{});
  std::string leased, via;
  if (node_.cluster.enable_ipv4) {
    leased = node_.self.subnet.ToString();
    via = "node IP " + node_.self.node_ip.ToString();
  }
  if (node_.cluster.enable_ipv6) {
    leased += (leased.empty() ? "" : " and ") + node_.self.ipv6_subnet.ToString();
    via += (via.empty() ? "" : ", ") + std::string("node IPv6 ") + node_.self.node_ipv6.ToString();
  }
  Log("node " + node_.self.name + " leased " + leased + " (" + via + ", " +
      BackendName(node_.cluster.backend) + ", MTU " + std::to_string(setup_.mtu) +
      (setup_.vtep_mac.empty() ? "" : ", VTEP " + setup_.vtep_mac) +
      (setup_.vtep_mac_v6.empty() ? "" : ", IPv6 VTEP " + setup_.vtep_mac_v6) + ")");
  if (auto s = Relist(); !s) return s;
  // Kubernetes: the node's NetworkUnavailable condition goes False now, as flanneld
  // does once its backend runs. A failure is retried by the registry itself.
  if (auto s = registry_->DataPathUp(); !s) NoteError(s.error());
  return cni::OkStatus();
}

cni::Status Agent::Relist() {
  auto peers = registry_->ListPeers();
  if (!peers) return peers.error();
  peers_.clear();
  for (auto& p : *peers) {
    if (PeerKey(p) == PeerKey(node_.self)) continue;
    peers_[PeerKey(p)] = std::move(p);
  }
  NoteRejected();
  ReconcileNow("full sync", /*full=*/true);
  return cni::OkStatus();
}

void Agent::ApplyEvents(const std::vector<overlay::PeerEvent>& events) {
  for (const auto& ev : events) {
    const cni::IpNet key = PeerKey(ev.lease);
    if (key == PeerKey(node_.self)) continue;
    if (ev.kind == overlay::PeerEvent::Kind::kRemoved) {
      peers_.erase(key);
    } else {
      peers_[key] = ev.lease;
    }
    if (opts_.verbose) {
      const char* what = ev.kind == overlay::PeerEvent::Kind::kAdded     ? "joined"
                         : ev.kind == overlay::PeerEvent::Kind::kRemoved ? "left"
                                                                         : "changed";
      Log("peer " + ev.lease.name + " " + key.ToString() + " " + what);
    }
  }
}

void Agent::NoteRejected() {
  auto rejected = registry_->Rejected();
  std::map<std::string, std::string> now;
  for (const auto& r : rejected) {
    std::string seen = std::string(overlay::RejectReasonName(r.reason)) + "\n" + r.value;
    auto before = rejected_logged_.find(r.key);
    if (before == rejected_logged_.end() || before->second != seen) {
      Log("peer lease " + r.key + " rejected (" + overlay::RejectReasonName(r.reason) +
          "), not programmed: " + r.detail);
    }
    now.emplace(r.key, std::move(seen));
  }
  for (const auto& [key, seen] : rejected_logged_) {
    if (now.count(key) == 0) Log("peer lease " + key + " no longer rejected");
  }
  rejected_logged_ = std::move(now);
  metrics_->SetRejectedLeases(rejected);
}

void Agent::ReconcileNow(const char* why, bool full) {
  auto start = Clock::now();
  // Peer events go through Update (only what changed, no kernel dump); start-up,
  // relists and the periodic resync read the kernel back and repair drift.
  auto stats = full ? backend_->Reconcile(Values(peers_)) : backend_->Update(Values(peers_));
  auto took = Clock::now() - start;
  // A peer left unprogrammed makes the reconcile not ok, though the others are in.
  metrics_->ObserveReconcile(took, stats.ok() && stats->failures.empty());
  metrics_->SetPeers(static_cast<int>(peers_.size()));
  if (!stats) {
    NoteError(stats.error().Context("reconcile"));
    return;
  }
  NotePeerFailures(stats->failures);
  if (full) {
    if (auto s = SyncNodeMasquerade(); !s) {
      NoteError(s.error().Context("node masquerade"));
      return;
    }
  }
  if (opts_.verbose || stats->ops() > 0) {
    Log(std::string(why) + ": " + std::to_string(peers_.size()) + " peers, " +
        std::to_string(stats->ops()) + " kernel changes in " +
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(took).count()) +
        " us");
  }
}

namespace {

// Identifies a failure across reconciles: the peer (by subnet and name), or for a
// departed peer's entry the entry itself.
std::string PeerFailureKey(const overlay::PeerFailure& f) {
  if (f.subnet.prefix == 0 && f.subnet.addr.IsUnspecified()) return f.detail;
  return f.subnet.ToString() + " " + f.peer;
}

}  // namespace

// Whether the peer of a failure that went away is still here (so it was programmed,
// not removed). peers_ is keyed by the first enabled family's subnet; an IPv6 failure
// of a dual-stack peer names its IPv6 subnet.
bool Agent::StillAPeer(const overlay::PeerFailure& f) const {
  if (peers_.count(f.subnet)) return true;
  for (const auto& [key, p] : peers_) {
    if (p.ipv6_subnet == f.subnet) return true;
  }
  return false;
}

void Agent::NotePeerFailures(const std::vector<overlay::PeerFailure>& failures) {
  metrics_->SetPeerFailures(failures);
  std::map<std::string, overlay::PeerFailure> now;
  for (const overlay::PeerFailure& f : failures) {
    std::string key = PeerFailureKey(f);
    auto before = peer_failures_.find(key);
    if (before == peer_failures_.end() || before->second.reason != f.reason) {
      Log("peer not programmed (" + std::string(overlay::PeerFailureName(f.reason)) +
          "), retrying on every reconcile: " + f.detail);
    }
    now.emplace(std::move(key), f);
  }
  for (const auto& [key, f] : peer_failures_) {
    if (now.count(key)) continue;
    const std::string was = " (was " + std::string(overlay::PeerFailureName(f.reason)) + ")";
    if (f.peer.empty()) {
      Log("departed peer's entry removed" + was + ": " + f.detail);
    } else if (StillAPeer(f)) {
      Log("peer \"" + f.peer + "\" (" + f.subnet.ToString() + ") programmed" + was);
    }  // a peer that left while failing needs no line
  }
  peer_failures_ = std::move(now);
}

cni::Status Agent::Run(const std::atomic<bool>& stop) {
  auto h = cni::nl::Handle::Open();
  if (!h) return h.error().Context("netlink");
  handle_.emplace(std::move(*h));

  metrics_->SetStallLimit(StallLimit());

  // Phase 1: until the node is set up once. Everything is retried: etcd may not be
  // up yet, the config may not be written yet, the underlay may still be coming up.
  while (!stop) {
    Beat();
    auto s = SetUpNode();
    if (s) break;
    if (IsOutage(s.error())) RegistryDown(s.error()); else NoteError(s.error());
    SleepUnlessStopped(stop, Backoff());
  }
  if (stop) {
    DropReadyMark();
    return cni::OkStatus();
  }
  RegistryUp();

  // Phase 2: follow the peers.
  auto renew_every = std::max<std::chrono::milliseconds>(
      std::chrono::duration_cast<milliseconds>(opts_.lease_ttl) / 3, milliseconds(100));
  // Kubernetes: no lease to keep alive; Renew only reports (without a request) that
  // our Node was deleted or its podCIDR changed, so it is asked as often as we resync.
  if (opts_.registry == "kubernetes") renew_every = std::min(renew_every, opts_.resync_interval);
  auto now = Clock::now();
  auto renew_at = now + renew_every;
  auto resync_at = now + opts_.resync_interval;
  bool need_relist = false;
  auto relist_at = now;

  while (!stop) {
    Beat();
    now = Clock::now();
    if (now >= renew_at) {
      auto s = registry_->Renew();
      if (s) {
        RegistryUp();
        renew_at = now + renew_every;
        if (opts_.registry == "etcd") {
          metrics_->SetLeaseExpiry(std::chrono::system_clock::now() + opts_.lease_ttl);
        }
      } else if (s.error().IsNotFound()) {
        Log("lease lost (" + s.error().msg() + "); leasing again");
        metrics_->SetLeased(false);  // and subnet.env is the old lease's until rewritten
        metrics_->SetSubnetFileWritten(false);
        auto again = SetUpNode();
        if (again) {
          RegistryUp();
          renew_at = now + renew_every;
        } else {
          if (IsOutage(again.error())) RegistryDown(again.error()); else NoteError(again.error());
          renew_at = now + Backoff();
        }
      } else {
        // A refusal (a changed password, a revoked certificate) is not an outage: its
        // reason is logged as what it is.
        if (IsOutage(s.error())) RegistryDown(s.error()); else NoteError(s.error());
        renew_at = now + Backoff();
      }
    }
    if (now >= resync_at) {
      // Periodic repair: a deleted device or route comes back without any event.
      if (auto s = backend_->EnsureNode(); !s) NoteError(s.error()); else setup_ = *s;
      ReconcileNow("resync", /*full=*/true);
      resync_at = now + opts_.resync_interval;
    }
    if (need_relist && now >= relist_at) {
      auto s = Relist();
      if (s) {
        need_relist = false;
        RegistryUp();
      } else {
        if (IsOutage(s.error())) RegistryDown(s.error()); else NoteError(s.error());
        relist_at = now + Backoff();
      }
    }

    auto next = std::min({renew_at, resync_at, need_relist ? relist_at : now + kMaxWait,
                          now + kMaxWait});
    auto wait = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(next - now));
    if (need_relist) {
      SleepUnlessStopped(stop, wait);
      continue;
    }
    auto events = registry_->WaitPeers(wait);
    if (!events) {
      // Watch lost: re-read everything right away; back off only if that fails.
      metrics_->IncWatchRestarts();
      const cni::Error& e = events.error();
      if (e.code() == cni::Code::kInvalidNetworkConfig || e.code() == cni::Code::kDecodingFailure) {
        // An edit the registry refused (a topology file with a bad node): the last
        // good peer set stays, and the operator hears why.
        NoteError(e.Context("peer update refused, keeping the last good peers"));
      } else if (opts_.verbose) {
        Log("peer watch lost: " + e.msg());
      }
      need_relist = true;
      relist_at = Clock::now();
      continue;
    }
    NoteRejected();  // a stray lease changes no peer, so it comes with no event
    if (!events->empty()) {
      ApplyEvents(*events);
      ReconcileNow("peer change", /*full=*/false);
    }
  }
  DropReadyMark();
  Log("stopping; the data path stays in place");
  return cni::OkStatus();
}

cni::Status Agent::RunCleanup() {
  auto h = cni::nl::Handle::Open();
  if (!h) return h.error().Context("netlink");
  handle_.emplace(std::move(*h));
  auto cfg = registry_->Config();
  if (!cfg) return cfg.error().Context("cleanup needs the cluster config");
  overlay::LocalNode node;
  node.cluster = *cfg;
  node.underlay = opts_.iface;
  node.self.name = opts_.node_name;
  auto ip = cfg->enable_ipv4 ? ResolveNodeIp(*handle_, opts_.iface, opts_.public_ip)
                            : cni::Result<cni::IpAddr>(cni::IpAddr());
  auto ip6 = cfg->enable_ipv6
                 ? ResolveNodeIpv6(*handle_, opts_.iface, opts_.public_ipv6, ip ? *ip : cni::IpAddr())
                 : cni::Result<cni::IpAddr>(cni::IpAddr());
  if (ip && ip6) {
    node.self.node_ip = *ip;
    node.self.node_ipv6 = *ip6;
    // Taking the lease over and releasing it is how a new process gives up what an
    // old one held (the etcd lease ID died with it).
    overlay::NodeLease wanted = node.self;
    if (auto l = registry_->Acquire(wanted); l) {
      if (auto r = registry_->Release(); !r) return r.error().Context("release lease");
      Log("released lease " + (cfg->enable_ipv4 ? l->subnet : l->ipv6_subnet).ToString());
    }
  }
  node_ = node;
  backend_ = overlay::NewBackend(*handle_, node_, [](std::string_view m) { Log(m); });
  if (auto s = backend_->Cleanup(); !s) return s.error().Context("cleanup");
  auto nft = cni::nft::Socket::Open();
  if (!nft) return nft.error();
  // Both families' tables, whatever the config says now: one may be left from before.
  if (auto s = overlay::DeleteNodeMasquerade(*nft, overlay::kAgentMasqName); !s) {
    return s.error().Context("cleanup");
  }
  if (unlink(opts_.subnet_file.c_str()) != 0 && errno != ENOENT) {
    return cni::ErrnoError("remove " + opts_.subnet_file, errno);
  }
  if (auto s = overlay::RemoveReadyMark(overlay::ReadyMarkPath(opts_.subnet_file)); !s) {
    return s.error().Context("cleanup");
  }
  Log("cleanup done: routes, devices, masquerade and " + opts_.subnet_file + " removed");
  return cni::OkStatus();
}

}  // namespace linen::agent
