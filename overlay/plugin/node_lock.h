// The node-level lock around backend reconcile and subnet.env: concurrent ADDs on
// one node serialise here. flock, so the kernel releases it if a plugin dies.
#ifndef LINEN_OVERLAY_PLUGIN_NODE_LOCK_H_
#define LINEN_OVERLAY_PLUGIN_NODE_LOCK_H_

#include <string>

#include "libcni/error.h"
#include "netns/netns.h"

namespace linen::overlay {

class NodeLock {
 public:
  // Creates the file (and its directory) if needed, then blocks for LOCK_EX.
  static cni::Result<NodeLock> Acquire(const std::string& path);
  NodeLock(NodeLock&&) = default;
  ~NodeLock();  // unlock (closing the fd would too; explicit for clarity)

 private:
  explicit NodeLock(cni::UniqueFd fd) : fd_(std::move(fd)) {}
  cni::UniqueFd fd_;
};

// mkdir -p with 0755; existing directories are fine.
cni::Status MakeDirs(const std::string& dir);
std::string DirName(const std::string& path);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_NODE_LOCK_H_
