// linen::overlay::Registry on etcd v3 (layout in lease_codec.h). One etcd lease per
// node lease, TTL-bound, so a node that stops renewing disappears from every peer's
// view; subnets are taken with a create-if-absent transaction, so two nodes can never
// hold the same one; peers are watched from the revision of the last full read, so
// no change between a list and its watch is missed.
//
// Every key under <prefix>/subnets/ is a candidate; the accepted peers are what
// overlay::ValidateLeases makes of the whole candidate set, judged again after every
// change (a rejected lease can become acceptable when the one it overlapped goes),
// and peer events are the difference between two accepted sets.
//
// Not thread-safe: one registry per agent loop (tests use one per simulated node).
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_ETCD_REGISTRY_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_ETCD_REGISTRY_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "overlay/registry/etcd/etcd_client.h"
#include "overlay/registry/etcd/etcd_watch.h"
#include "overlay/registry/etcd/lease_codec.h"
#include "overlay/registry/network_config.h"
#include "overlay/registry/registry.h"

namespace linen::etcd {

inline constexpr const char* kDefaultPrefix = "/linen/network";

struct RegistryOptions {
  ClientOptions client;
  std::string prefix = kDefaultPrefix;
  std::chrono::seconds lease_ttl{24 * 3600};  // flannel's default
};

class EtcdRegistry : public overlay::Registry {
 public:
  static cni::Result<std::unique_ptr<EtcdRegistry>> Create(const RegistryOptions& opts);

  // Missing config: code 7 with the kNotFound cause, naming the key to write.
  cni::Result<overlay::ClusterConfig> Config() override;
  // Leases one subnet per enabled family, under one key (lease_codec.h). Per family
  // it keeps the subnet already leased under wanted.name (moving the key onto a
  // fresh etcd lease, or replacing it when a family was added or left the pool),
  // else tries wanted.subnet / wanted.ipv6_subnet when set (e.g. from subnet.env)
  // and free, else a random free one among the first 100. wanted needs the node IP
  // of each enabled family (code 7 otherwise). A full network is code 100.
  cni::Result<overlay::NodeLease> Acquire(const overlay::NodeLease& wanted) override;
  // One keepalive. An expired lease (or our key taken away) is an error with the
  // kNotFound cause: Acquire again.
  cni::Status Renew() override;
  // Revokes the etcd lease, which deletes our key. Nothing held is success.
  cni::Status Release() override;
  cni::Result<std::vector<overlay::NodeLease>> ListPeers() override;
  cni::Result<std::vector<overlay::PeerEvent>> WaitPeers(std::chrono::milliseconds timeout) override;
  std::vector<overlay::RejectedLease> Rejected() const override { return rejected_; }

  // Writes the cluster config; with overwrite=false an existing one is left alone.
  cni::Status PutConfig(const overlay::ClusterConfig& cfg, bool overwrite);

  int64_t lease_id() const { return lease_id_; }
  // When the etcd lease runs out unless renewed (from the last grant/keepalive).
  std::chrono::system_clock::time_point lease_expiry() const { return lease_expiry_; }

 private:
  EtcdRegistry(RegistryOptions opts, std::unique_ptr<Client> client);
  cni::Result<overlay::NetworkConfig> LoadConfig();
  // The outcome of one attempt: a lease, "retry" (lost a race), or an error.
  cni::Result<std::optional<overlay::NodeLease>> TryAcquire(const overlay::NetworkConfig& cfg,
                                                            const overlay::NodeLease& wanted,
                                                            int64_t lease);
  // Whether a key older than ours (`key`, created at revision `created`) holds one of
  // our subnets; if so ours has been deleted and the caller picks again.
  cni::Result<bool> LostRace(const std::string& key, const overlay::NodeLease& ours,
                             int64_t created);
  void ApplyOwnEvent(const WatchEvent& ev);
  // Judges candidates_ into peers_ and rejected_; returns the accepted-set changes.
  std::vector<overlay::PeerEvent> Judge(const overlay::ClusterConfig& cfg);

  RegistryOptions opts_;
  std::unique_ptr<Client> client_;
  std::mt19937_64 rng_;

  std::optional<overlay::NodeLease> own_;
  std::string own_key_;
  int64_t lease_id_ = 0;
  std::chrono::system_clock::time_point lease_expiry_{};
  bool own_lost_ = false;

  std::optional<overlay::ClusterConfig> cluster_;  // as last read; judges peers
  std::map<std::string, overlay::LeaseCandidate> candidates_;  // every peer key
  std::map<std::string, overlay::NodeLease> peers_;  // accepted, by etcd key
  std::vector<overlay::RejectedLease> rejected_;
  int64_t revision_ = 0;  // of the last full read; the watch starts after it
  std::unique_ptr<Watch> watch_;
};

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_ETCD_REGISTRY_H_
