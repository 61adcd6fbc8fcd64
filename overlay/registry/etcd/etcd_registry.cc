#include "overlay/registry/etcd/etcd_registry.h"

#include <set>

#include "overlay/registry/etcd/subnet_pool.h"

namespace linen::etcd {
namespace {

using overlay::IsUnset;
using overlay::NodeLease;
using overlay::PeerEvent;

// Every lost race means another node took a subnet, so attempts are bounded by the
// pool; this cap only guards against a store that keeps changing under us.
constexpr int kMaxAcquireAttempts = 1000;
// flannel picks randomly among the first free subnets to keep racing nodes apart.
constexpr size_t kRandomPickWindow = 100;

std::string U128(unsigned __int128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

}  // namespace

cni::Result<std::unique_ptr<EtcdRegistry>> EtcdRegistry::Create(const RegistryOptions& opts) {
  if (opts.prefix.empty() || opts.prefix.front() != '/' || opts.prefix.back() == '/') {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd prefix \"" + opts.prefix + "\": must start with / and not end with /");
  }
  if (opts.lease_ttl.count() < 1) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd lease TTL " + std::to_string(opts.lease_ttl.count()) +
                          "s: must be at least 1s");
  }
  auto client = Client::Create(opts.client);
  if (!client) return client.error();
  return std::unique_ptr<EtcdRegistry>(new EtcdRegistry(opts, *std::move(client)));
}

EtcdRegistry::EtcdRegistry(RegistryOptions opts, std::unique_ptr<Client> client)
    : opts_(std::move(opts)), client_(std::move(client)), rng_(std::random_device{}()) {}

cni::Result<overlay::NetworkConfig> EtcdRegistry::LoadConfig() {
  const std::string key = ConfigKey(opts_.prefix);
  auto kv = client_->Get(key);
  if (!kv) return kv.error();
  if (!kv->has_value()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd has no network config at " + key +
                          " (write flannel-style JSON there, e.g. {\"Network\":\"10.244.0.0/16\","
                          "\"Backend\":{\"Type\":\"vxlan\"}})",
                      "", cni::Cause::kNotFound);
  }
  auto cfg = overlay::ParseNetworkConfig((*kv)->value);
  if (!cfg) return cfg.error().Context(key);
  return cfg;
}

cni::Result<overlay::ClusterConfig> EtcdRegistry::Config() {
  auto cfg = LoadConfig();
  if (!cfg) return cfg.error();
  cluster_ = cfg->cluster;
  return cfg->cluster;
}

cni::Status EtcdRegistry::PutConfig(const overlay::ClusterConfig& cfg, bool overwrite) {
  const std::string key = ConfigKey(opts_.prefix);
  const std::string value = overlay::NetworkConfigToJson(cfg);
  if (auto parsed = overlay::ParseNetworkConfig(value); !parsed) return parsed.error();
  if (overwrite) {
    auto r = client_->Put(key, value);
    if (!r) return r.error();
    return cni::OkStatus();
  }
  auto r = client_->Txn({Compare::Absent(key)}, {TxnOp::Put(key, value)});
  if (!r) return r.error();
  return cni::OkStatus();
}

cni::Result<std::optional<NodeLease>> EtcdRegistry::TryAcquire(
    const overlay::NetworkConfig& cfg, const NodeLease& wanted, int64_t lease) {
  const overlay::ClusterConfig& c = cfg.cluster;
  const std::string sp = SubnetsPrefix(opts_.prefix);
  auto all = client_->Range(sp, PrefixRangeEnd(sp));
  if (!all) return all.error();

  // Our own lease is the one named after us; a lease without a name (flannel's) is
  // ours when its public IP of the first enabled family is ours.
  const cni::IpAddr& my_ip = c.enable_ipv4 ? wanted.node_ip : wanted.node_ipv6;
  std::set<cni::IpNet> taken4, taken6;
  const KeyValue* mine = nullptr;
  std::optional<NodeLease> mine_lease;
  for (const auto& kv : all->kvs) {
    auto subnets = SubnetsFromKey(opts_.prefix, kv.key);
    if (!subnets) continue;
    // A value we cannot read still occupies its subnets.
    if (!overlay::IsUnset(subnets->subnet)) taken4.insert(subnets->subnet);
    if (!overlay::IsUnset(subnets->ipv6_subnet)) taken6.insert(subnets->ipv6_subnet);
    auto l = LeaseFromKv(opts_.prefix, kv.key, kv.value);
    if (!l || mine != nullptr) continue;
    const cni::IpAddr& their_ip = c.enable_ipv4 ? l->node_ip : l->node_ipv6;
    bool same = !l->name.empty() ? l->name == wanted.name
                                 : !overlay::IsUnset(my_ip) && their_ip == my_ip;
    if (same) {
      mine = &kv;
      mine_lease = *l;
    }
  }

  // Per family: the subnet we hold when still in the pool (a config change may have
  // moved the pool, or enabled the family), else the hint when free, else a random
  // one among the first free ones (flannel's way of keeping racing nodes apart).
  auto pick = [&](cni::Family family, const cni::IpNet& held, const cni::IpNet& hint,
                  const std::set<cni::IpNet>& taken) -> cni::Result<cni::IpNet> {
    const SubnetRange r = RangeOf(cfg, family);
    if (!overlay::IsUnset(held) && InPool(r, held)) return held;
    if (!overlay::IsUnset(hint) && InPool(r, hint.Masked()) && taken.count(hint.Masked()) == 0) {
      return hint.Masked();
    }
    auto free = FreeSubnets(r, taken, kRandomPickWindow);
    if (free.empty()) {
      return cni::Error(cni::Code::kNoAddressAvailable,
                        "network " + r.network.ToString() + " is full: all " +
                            U128(PoolSize(r)) + " /" + std::to_string(r.subnet_len) +
                            " subnets from " + r.min.ToString() + " to " + r.max.ToString() +
                            " are leased");
    }
    std::uniform_int_distribution<size_t> dist(0, free.size() - 1);
    return free[dist(rng_)];
  };
  NodeLease out = wanted;
  out.subnet = {};
  out.ipv6_subnet = {};
  const NodeLease held = mine_lease.value_or(NodeLease{});
  if (c.enable_ipv4) {
    auto s = pick(cni::Family::kV4, held.subnet, wanted.subnet, taken4);
    if (!s) return s.error();
    out.subnet = *s;
  }
  if (c.enable_ipv6) {
    auto s = pick(cni::Family::kV6, held.ipv6_subnet, wanted.ipv6_subnet, taken6);
    if (!s) return s.error();
    out.ipv6_subnet = *s;
  }
  out = overlay::EnabledFamiliesOnly(c, out);

  const std::string key = SubnetKey(opts_.prefix, out);
  const std::string value = LeaseToJson(out, c);
  std::vector<Compare> cmp;
  std::vector<TxnOp> ops;
  if (mine != nullptr) {
    // Unless it changed since we read it: a key that stays is moved onto our fresh
    // etcd lease; one whose subnets changed is replaced.
    cmp.push_back(Compare::ModRevision(mine->key, mine->mod_revision));
    if (mine->key != key) ops.push_back(TxnOp::Delete(mine->key));
  }
  if (mine == nullptr || mine->key != key) cmp.push_back(Compare::Absent(key));
  ops.push_back(TxnOp::Put(key, value, lease));
  auto r = client_->Txn(cmp, ops);
  if (!r) return r.error();
  if (!r->succeeded) return std::optional<NodeLease>();
  if (mine == nullptr || mine->key != key) {
    // The key names both families' subnets, so its absence does not mean either one
    // is free: a node racing us can have created a key with our IPv6 subnet beside
    // another IPv4 one. The older key wins, as in lease validation; a newer one sees
    // ours when it checks, so exactly one of two racers backs off.
    auto lost = LostRace(key, out, r->revision);
    if (!lost) return lost.error();
    if (*lost) return std::optional<NodeLease>();
  }
  if (mine != nullptr && mine->lease != 0 && mine->lease != lease) {
    // The previous process's etcd lease now holds nothing; let it go early.
    (void)client_->Revoke(mine->lease);
  }
  return std::optional<NodeLease>(out);
}

cni::Result<bool> EtcdRegistry::LostRace(const std::string& key, const NodeLease& ours,
                                         int64_t created) {
  const std::string sp = SubnetsPrefix(opts_.prefix);
  auto all = client_->Range(sp, PrefixRangeEnd(sp));
  if (!all) return all.error();
  // The same subnet, as the pick treats a key's subnet as taken: a stray key of
  // another size (0.0.0.0/1, a /25 inside ours) is for lease validation to reject,
  // and must not make every pick lose.
  auto same = [](const cni::IpNet& a, const cni::IpNet& b) { return !IsUnset(a) && a == b; };
  for (const auto& kv : all->kvs) {
    if (kv.key == key || kv.create_revision >= created) continue;
    auto theirs = SubnetsFromKey(opts_.prefix, kv.key);
    if (!theirs) continue;
    if (!same(theirs->subnet, ours.subnet) && !same(theirs->ipv6_subnet, ours.ipv6_subnet)) continue;
    // Ours goes unless it changed since we wrote it (then it is no longer ours to drop).
    auto r = client_->Txn({Compare::ModRevision(key, created)}, {TxnOp::Delete(key)});
    if (!r) return r.error();
    return true;
  }
  return false;
}

cni::Result<NodeLease> EtcdRegistry::Acquire(const NodeLease& wanted) {
  if (wanted.name.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd registry: node name is empty");
  }
  auto cfg = LoadConfig();
  if (!cfg) return cfg.error();
  // Each enabled family needs this node's underlay address of that family: peers
  // route (host-gw) or tunnel (vxlan) to it.
  if (cfg->cluster.enable_ipv4 && (IsUnset(wanted.node_ip) || !wanted.node_ip.is_v4())) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd registry: the network enables IPv4 but node " + wanted.name +
                          " has no IPv4 node IP (got " + wanted.node_ip.ToString() + ")");
  }
  if (cfg->cluster.enable_ipv6 && (IsUnset(wanted.node_ipv6) || wanted.node_ipv6.is_v4())) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd registry: the network enables IPv6 but node " + wanted.name +
                          " has no IPv6 node IP (got " + wanted.node_ipv6.ToString() + ")");
  }
  auto grant = client_->Grant(opts_.lease_ttl.count());
  if (!grant) return grant.error().Context("lease subnet for node " + wanted.name);
  const auto granted_at = std::chrono::system_clock::now();

  // After our lease expired (e.g. a long outage) prefer the subnets we had.
  NodeLease want = wanted;
  if (IsUnset(want.subnet) && own_) want.subnet = own_->subnet;
  if (IsUnset(want.ipv6_subnet) && own_) want.ipv6_subnet = own_->ipv6_subnet;
  for (int attempt = 0; attempt < kMaxAcquireAttempts; ++attempt) {
    auto got = TryAcquire(*cfg, want, grant->id);
    if (!got) {
      (void)client_->Revoke(grant->id);
      return got.error().Context("lease subnet for node " + wanted.name);
    }
    if (!got->has_value()) continue;  // lost a race; read again
    // A different etcd lease held by this object before (re-acquire) is obsolete.
    if (lease_id_ != 0 && lease_id_ != grant->id) (void)client_->Revoke(lease_id_);
    own_ = **got;
    own_key_ = SubnetKey(opts_.prefix, *own_);
    lease_id_ = grant->id;
    lease_expiry_ = granted_at + std::chrono::seconds(grant->ttl);
    own_lost_ = false;
    cluster_ = cfg->cluster;
    candidates_.erase(own_key_);
    if (!candidates_.empty()) (void)Judge(cluster_.value());
    return *own_;
  }
  (void)client_->Revoke(grant->id);
  return cni::Error(cni::Code::kTryAgainLater,
                    "lease subnet for node " + wanted.name + ": lost " +
                        std::to_string(kMaxAcquireAttempts) + " races in a row");
}

cni::Status EtcdRegistry::Renew() {
  if (!own_) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd registry: no lease to renew",
                      "", cni::Cause::kNotFound);
  }
  if (own_lost_) {
    return cni::Error(cni::Code::kIoFailure,
                      "etcd registry: our key " + own_key_ + " was deleted or taken over", "",
                      cni::Cause::kNotFound);
  }
  const auto now = std::chrono::system_clock::now();
  auto ttl = client_->KeepAlive(lease_id_);
  if (!ttl) {
    if (ttl.error().IsNotFound()) own_lost_ = true;
    return ttl.error().Context("renew lease " + own_key_);
  }
  lease_expiry_ = now + std::chrono::seconds(*ttl);
  return cni::OkStatus();
}

cni::Status EtcdRegistry::Release() {
  if (lease_id_ == 0) return cni::OkStatus();
  if (auto s = client_->Revoke(lease_id_); !s) {
    return s.error().Context("release lease of " + own_key_);
  }
  lease_id_ = 0;
  own_.reset();
  own_key_.clear();
  return cni::OkStatus();
}

std::vector<PeerEvent> EtcdRegistry::Judge(const overlay::ClusterConfig& cfg) {
  const overlay::SelfView self = overlay::SelfView::Of(own_);
  std::vector<overlay::LeaseCandidate> all;
  all.reserve(candidates_.size());
  for (const auto& [key, c] : candidates_) all.push_back(c);
  auto verdict = overlay::ValidateLeases(cfg, self, all);
  std::vector<PeerEvent> out = overlay::AcceptedChanges(peers_, verdict.accepted);
  peers_ = std::move(verdict.accepted);
  rejected_ = std::move(verdict.rejected);
  return out;
}

cni::Result<std::vector<NodeLease>> EtcdRegistry::ListPeers() {
  if (!cluster_) {
    auto cfg = LoadConfig();
    if (!cfg) return cfg.error().Context("list peers");
    cluster_ = cfg->cluster;
  }
  const std::string sp = SubnetsPrefix(opts_.prefix);
  auto all = client_->Range(sp, PrefixRangeEnd(sp));
  if (!all) return all.error().Context("list peers");
  watch_.reset();
  candidates_.clear();
  bool own_seen = false;
  for (const auto& kv : all->kvs) {
    if (kv.key == own_key_) {
      own_seen = kv.lease == lease_id_;
      continue;
    }
    candidates_[kv.key] = CandidateFromKv(opts_.prefix, kv.key, kv.value, kv.create_revision);
  }
  if (own_ && !own_seen) own_lost_ = true;
  revision_ = all->revision;
  peers_.clear();
  (void)Judge(*cluster_);
  std::vector<NodeLease> out;
  out.reserve(peers_.size());
  for (const auto& [key, lease] : peers_) out.push_back(lease);
  return out;
}

void EtcdRegistry::ApplyOwnEvent(const WatchEvent& ev) {
  if (ev.type == WatchEvent::Type::kDelete || ev.kv.lease != lease_id_) own_lost_ = true;
}

cni::Result<std::vector<PeerEvent>> EtcdRegistry::WaitPeers(std::chrono::milliseconds timeout) {
  if (revision_ == 0 || !cluster_) {
    return cni::Error(cni::Code::kInternal, "etcd registry: WaitPeers before ListPeers");
  }
  if (!watch_) {
    const std::string sp = SubnetsPrefix(opts_.prefix);
    auto w = Watch::Start(*client_, sp, PrefixRangeEnd(sp), revision_ + 1);
    if (!w) return w.error().Context("watch peers");
    watch_ = *std::move(w);
  }
  auto evs = watch_->Next(timeout);
  if (!evs) {
    watch_.reset();
    return evs.error().Context("watch peers");
  }
  bool changed = false;
  for (const auto& ev : *evs) {
    revision_ = std::max(revision_, ev.kv.mod_revision);
    if (!own_key_.empty() && ev.kv.key == own_key_) {
      ApplyOwnEvent(ev);
      continue;
    }
    changed = true;
    if (ev.type == WatchEvent::Type::kPut) {
      candidates_[ev.kv.key] =
          CandidateFromKv(opts_.prefix, ev.kv.key, ev.kv.value, ev.kv.create_revision);
    } else {
      candidates_.erase(ev.kv.key);
    }
  }
  if (!changed) return std::vector<PeerEvent>{};
  return Judge(*cluster_);
}

}  // namespace linen::etcd
