// The node agent's loop: lease a subnet, publish it, set up the backend, write
// subnet.env, then follow the peer set and keep the data path in step with it.
//
// Failure policy: the registry being unreachable never changes the data path (what
// was programmed stays); requests are retried with exponential backoff (200 ms to
// 5 s) and the outage and its end are each logged once. A lost watch triggers a full
// re-read. Stopping leaves everything in place, so pods keep working across agent
// restarts; RunCleanup removes what the agent owns.
#ifndef LINEN_AGENT_AGENT_H_
#define LINEN_AGENT_AGENT_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/metrics.h"
#include "agent/options.h"
#include "libcni/netlink/handle.h"
#include "overlay/backend/backend.h"
#include "overlay/registry/registry.h"

namespace linen::agent {

class Agent {
 public:
  // Works in the calling thread's network namespace (the node's).
  Agent(Options opts, std::unique_ptr<overlay::Registry> registry, Metrics* metrics);
  ~Agent();

  // Runs until `stop` becomes true (checked at least every 500 ms). Returns an error
  // only for what retrying cannot fix (e.g. no netlink socket).
  cni::Status Run(const std::atomic<bool>& stop);

  // --cleanup: removes the backend's routes / device, gives up the lease and deletes
  // the subnet file. Needs the registry for the cluster config.
  cni::Status RunCleanup();

 private:
  using Clock = std::chrono::steady_clock;

  // Config, node IP, lease, backend device, subnet.env, first full peer sync.
  cni::Status SyncNodeMasquerade();
  cni::Status SetUpNode();
  // Re-reads every peer and reconciles the full set.
  cni::Status Relist();
  void ApplyEvents(const std::vector<overlay::PeerEvent>& events);
  // Logs each lease the registry rejected (once per value and reason) and publishes
  // the rejected set in the metrics. Rejected leases never reach peers_.
  void NoteRejected();
  // full: Backend::Reconcile (reads the kernel back); otherwise Backend::Update.
  void ReconcileNow(const char* why, bool full);
  // Logs each peer failure once (again when its reason changes), and a recovery once;
  // updates the linend_peer_failures gauge.
  void NotePeerFailures(const std::vector<overlay::PeerFailure>& failures);
  bool StillAPeer(const overlay::PeerFailure& f) const;
  cni::Status WriteSubnetFile();
  void RegistryDown(const cni::Error& e);
  void RegistryUp();
  void NoteError(const cni::Error& e);
  std::chrono::milliseconds Backoff();

  Options opts_;
  std::unique_ptr<overlay::Registry> registry_;
  Metrics* metrics_;
  std::optional<cni::nl::Handle> handle_;

  overlay::LocalNode node_;
  std::unique_ptr<overlay::Backend> backend_;
  overlay::NodeSetup setup_;
  std::map<cni::IpNet, overlay::NodeLease> peers_;  // by PeerKey
  // A lease's identity among peers: its IPv4 subnet, or in an IPv6-only cluster its
  // IPv6 subnet (every IPv4 subnet is unset there).
  cni::IpNet PeerKey(const overlay::NodeLease& l) const {
    return node_.cluster.enable_ipv4 ? l.subnet : l.ipv6_subnet;
  }

  // Liveness and readiness (docs/linend.md "Health and readiness"): Beat() once per
  // loop turn records the heartbeat and keeps the readiness mark next to subnet.env
  // in step (rewritten on a change and every StallLimit()/6, valid for StallLimit()).
  std::chrono::milliseconds StallLimit() const;
  void Beat();
  void DropReadyMark();
  struct {
    bool written = false;
    bool ready = false;
    std::string reason;
    Clock::time_point refresh_at;
  } mark_;

  bool registry_up_ = true;
  std::chrono::milliseconds backoff_{0};
  std::string last_logged_error_;
  std::map<std::string, std::string> rejected_logged_;  // key -> reason + value logged
  // The failures of the last reconcile that got through, by PeerFailureKey.
  std::map<std::string, overlay::PeerFailure> peer_failures_;
};

}  // namespace linen::agent

#endif  // LINEN_AGENT_AGENT_H_
