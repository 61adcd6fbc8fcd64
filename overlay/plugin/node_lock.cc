#include "overlay/plugin/node_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

namespace linen::overlay {

std::string DirName(const std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos) return ".";
  return pos == 0 ? "/" : path.substr(0, pos);
}

cni::Status MakeDirs(const std::string& dir) {
  std::string cur;
  size_t i = 0;
  while (i <= dir.size()) {
    size_t j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    cur = dir.substr(0, j);
    if (!cur.empty() && mkdir(cur.c_str(), 0755) < 0 && errno != EEXIST) {
      return cni::ErrnoError("create directory " + cur, errno);
    }
    i = j + 1;
  }
  return cni::OkStatus();
}

cni::Result<NodeLock> NodeLock::Acquire(const std::string& path) {
  if (auto s = MakeDirs(DirName(path)); !s) return s.error();
  cni::UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return cni::ErrnoError("open lock " + path, errno);
  while (flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return cni::ErrnoError("lock " + path, errno);
  }
  return NodeLock(std::move(fd));
}

NodeLock::~NodeLock() {
  if (fd_) flock(fd_.get(), LOCK_UN);
}

}  // namespace linen::overlay
