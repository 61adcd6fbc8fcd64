// The node-level lock around backend reconcile and subnet.env: concurrent ADDs on
// one node serialise here. flock, so the kernel releases it if a plugin dies.
#ifndef LINEN_OVERLAY_PLUGIN_NODE_LOCK_H_
#define LINEN_OVERLAY_PLUGIN_NODE_LOCK_H_

#include <string>

#include "libcni/sys/error.h"
#include "libcni/sys/fd.h"

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

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_NODE_LOCK_H_
