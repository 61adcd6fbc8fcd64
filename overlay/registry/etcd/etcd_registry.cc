#include "overlay/registry/etcd/etcd_registry.h"

#include <set>

#include "overlay/registry/etcd/subnet_pool.h"

namespace linen::etcd {
namespace {

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

cni::Result<NetworkConfig> EtcdRegistry::LoadConfig() {
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
  auto cfg = ParseNetworkConfig((*kv)->value);
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
  const std::string value = NetworkConfigToJson(cfg);
  if (auto parsed = ParseNetworkConfig(value); !parsed) return parsed.error();
  if (overwrite) {
    auto r = client_->Put(key, value);
    if (!r) return r.error();
    return cni::OkStatus();
  }
  auto r = client_->Txn({Compare::Absent(key)}, {TxnOp::Put(key, value)});
  if (!r) return r.error();
  return cni::OkStatus();
}

cni::Result<std::optional<NodeLease>> EtcdRegistry::TryAcquire(const NetworkConfig& cfg,
                                                               const NodeLease& wanted,
                                                               int64_t lease) {
  const std::string sp = SubnetsPrefix(opts_.prefix);
  auto all = client_->Range(sp, PrefixRangeEnd(sp));
  if (!all) return all.error();

  std::set<cni::IpNet> taken;
  const KeyValue* mine = nullptr;
  std::optional<NodeLease> mine_lease;
  for (const auto& kv : all->kvs) {
    auto subnet = SubnetFromKey(opts_.prefix, kv.key);
    if (!subnet) continue;
    // A value we cannot read still occupies its subnet.
    taken.insert(*subnet);
    auto l = LeaseFromKv(opts_.prefix, kv.key, kv.value);
    if (!l || mine != nullptr) continue;
    bool same = !l->name.empty() ? l->name == wanted.name : l->node_ip == wanted.node_ip;
    if (same) {
      mine = &kv;
      mine_lease = *l;
    }
  }

  NodeLease out = wanted;
  if (mine != nullptr) {
    if (!InPool(cfg, mine_lease->subnet)) {
      // The network config changed under an old lease: drop it and allocate anew.
      auto r = client_->Txn({Compare::ModRevision(mine->key, mine->mod_revision)},
                            {TxnOp::Delete(mine->key)});
      if (!r) return r.error();
      return std::optional<NodeLease>();
    }
    out.subnet = mine_lease->subnet;
    // Move the key onto our fresh etcd lease, unless it changed since we read it.
    auto r = client_->Txn({Compare::ModRevision(mine->key, mine->mod_revision)},
                          {TxnOp::Put(mine->key, LeaseToJson(out, cfg.cluster), lease)});
    if (!r) return r.error();
    if (!r->succeeded) return std::optional<NodeLease>();
    if (mine->lease != 0 && mine->lease != lease) {
      // The previous process's etcd lease now holds nothing; let it go early.
      (void)client_->Revoke(mine->lease);
    }
    return std::optional<NodeLease>(out);
  }

  std::vector<cni::IpNet> candidates;
  if (wanted.subnet.prefix != 0) {
    cni::IpNet hint = wanted.subnet.Masked();
    if (InPool(cfg, hint) && taken.count(hint) == 0) candidates.push_back(hint);
  }
  if (candidates.empty()) {
    auto free = FreeSubnets(cfg, taken, kRandomPickWindow);
    if (free.empty()) {
      return cni::Error(cni::Code::kNoAddressAvailable,
                        "network " + cfg.cluster.network.ToString() + " is full: all " +
                            U128(PoolSize(cfg)) + " /" + std::to_string(cfg.cluster.subnet_len) +
                            " subnets from " + cfg.subnet_min.ToString() + " to " +
                            cfg.subnet_max.ToString() + " are leased");
    }
    std::uniform_int_distribution<size_t> pick(0, free.size() - 1);
    candidates.push_back(free[pick(rng_)]);
  }
  out.subnet = candidates.front();
  const std::string key = SubnetKey(opts_.prefix, out.subnet);
  auto r = client_->Txn({Compare::Absent(key)},
                        {TxnOp::Put(key, LeaseToJson(out, cfg.cluster), lease)});
  if (!r) return r.error();
  if (!r->succeeded) return std::optional<NodeLease>();
  return std::optional<NodeLease>(out);
}

cni::Result<NodeLease> EtcdRegistry::Acquire(const NodeLease& wanted) {
  if (wanted.name.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd registry: node name is empty");
  }
  auto cfg = LoadConfig();
  if (!cfg) return cfg.error();
  if (cfg->cluster.network.family() != wanted.node_ip.family() &&
      cfg->cluster.backend == overlay::BackendType::kVxlan && !wanted.node_ip.is_v4()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd registry: vxlan needs an IPv4 node IP, got " + wanted.node_ip.ToString());
  }
  auto grant = client_->Grant(opts_.lease_ttl.count());
  if (!grant) return grant.error().Context("lease subnet for node " + wanted.name);
  const auto granted_at = std::chrono::system_clock::now();

  // After our lease expired (e.g. a long outage) prefer the subnet we had.
  NodeLease want = wanted;
  if (want.subnet.prefix == 0 && own_) want.subnet = own_->subnet;
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
    own_key_ = SubnetKey(opts_.prefix, own_->subnet);
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
    return ttl.error().Context("renew lease of " + own_->subnet.ToString());
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
  overlay::SelfView self;
  if (own_) {
    self.subnet = own_->subnet;
    self.node_ip = own_->node_ip;
  }
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
