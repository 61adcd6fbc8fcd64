#include "overlay/plugin/node_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

#include "libcni/sys/file.h"

namespace linen::overlay {

cni::Result<NodeLock> NodeLock::Acquire(const std::string& path) {
  if (auto s = cni::MakeDirs(cni::DirName(path)); !s) return s.error();
  cni::UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return cni::ErrnoError("open lock " + path, errno);
  if (cni::RetryEintr([&] { return flock(fd.get(), LOCK_EX); }) < 0) {
    return cni::ErrnoError("lock " + path, errno);
  }
  return NodeLock(std::move(fd));
}

NodeLock::~NodeLock() {
  if (fd_) flock(fd_.get(), LOCK_UN);
}

}  // namespace linen::overlay
