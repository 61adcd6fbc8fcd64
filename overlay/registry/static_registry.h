// Registry over a static topology (inline document or file). Acquire finds the
// wanted node by name, else by node IP; nothing is leased. With a file, WaitPeers
// watches it (inotify on its directory, so editors' rename-over works) and reports
// the differences after each change; an inline topology never changes.
#ifndef LINEN_OVERLAY_REGISTRY_STATIC_REGISTRY_H_
#define LINEN_OVERLAY_REGISTRY_STATIC_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "overlay/registry/registry.h"
#include "overlay/registry/static_topology.h"

namespace linen::overlay {

class StaticRegistry : public Registry {
 public:
  static std::unique_ptr<StaticRegistry> FromTopology(StaticTopology topo);
  static cni::Result<std::unique_ptr<StaticRegistry>> FromFile(const std::string& path);
  ~StaticRegistry() override;

  cni::Result<ClusterConfig> Config() override;
  cni::Result<NodeLease> Acquire(const NodeLease& wanted) override;
  cni::Status Renew() override;
  cni::Status Release() override;
  cni::Result<std::vector<NodeLease>> ListPeers() override;
  cni::Result<std::vector<PeerEvent>> WaitPeers(std::chrono::milliseconds timeout) override;

 private:
  StaticRegistry(StaticTopology topo, std::string path);
  cni::Status StartWatch();

  StaticTopology topo_;
  std::string path_;                 // "" for inline
  std::optional<NodeLease> self_;
  std::vector<NodeLease> last_peers_;
  int inotify_fd_ = -1;
};

// Differences old -> new, keyed by node name.
std::vector<PeerEvent> DiffPeers(const std::vector<NodeLease>& before,
                                 const std::vector<NodeLease>& after);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_REGISTRY_STATIC_REGISTRY_H_
