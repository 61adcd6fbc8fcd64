#include "libcni/sys/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "libcni/sys/fd.h"

namespace cni {
namespace {

// Gives the anonymous O_TMPFILE inode `fd` the name `to`. /proc/self/fd with
// AT_SYMLINK_FOLLOW works without CAP_DAC_READ_SEARCH (unlike AT_EMPTY_PATH).
int LinkTmpfile(int fd, const std::string& to) {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW);
}

Status SyncDir(const std::string& dir) {
  UniqueFd fd(RetryEintr([&] { return open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!fd) return ErrnoError("open directory " + dir, errno);
  if (fsync(fd.get()) < 0) return ErrnoError("sync directory " + dir, errno);
  return OkStatus();
}

Status WriteAndSync(int fd, std::string_view data, const std::string& what, bool sync) {
  if (auto s = WriteAll(fd, data, what); !s) return s;
  if (sync && fsync(fd) < 0) return ErrnoError("sync " + what, errno);
  return OkStatus();
}

}  // namespace

std::string DirName(std::string_view path) {
  const size_t pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  return pos == 0 ? "/" : std::string(path.substr(0, pos));
}

std::string BaseName(std::string_view path) {
  const size_t pos = path.rfind('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

Status MakeDirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return OkStatus();
  // Each prefix ending before a '/', then the whole path; "//" and a trailing '/'
  // give repeated prefixes, which EEXIST covers.
  for (size_t end = dir.find('/', 1);; end = dir.find('/', end + 1)) {
    const std::string part = dir.substr(0, end);
    if (mkdir(part.c_str(), mode) < 0 && errno != EEXIST) {
      return ErrnoError("create directory " + part, errno);
    }
    if (end == std::string::npos) break;
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) < 0) return ErrnoError("stat " + dir, errno);
  if (!S_ISDIR(st.st_mode)) return Error(Code::kIoFailure, dir + " is not a directory");
  return OkStatus();
}

Result<std::string> ReadWholeFile(const std::string& path, Code code) {
  UniqueFd fd(RetryEintr([&] { return open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return ErrnoError("read " + path, errno, code);
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = RetryEintr([&] { return read(fd.get(), buf, sizeof buf); });
    if (n < 0) return ErrnoError("read " + path, errno, code);
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = RetryEintr([&] { return write(fd, data.data(), data.size()); });
    if (n < 0) return ErrnoError("write " + what, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

std::string AtomicTempPath(const std::string& path) {
  return DirName(path) + "/." + BaseName(path) + ".tmp";
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode,
                       Durability durability) {
  const bool sync = durability == Durability::kDurable;
  const std::string dir = DirName(path);
  if (auto s = MakeDirs(dir); !s) return s;
  const std::string tmp = AtomicTempPath(path);
  // An unnamed file first: killed before it is linked, it vanishes with the process.
  UniqueFd fd(RetryEintr([&] { return open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode); }));
  if (!fd) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      return ErrnoError("create a file in " + dir, errno);
    }
    // No O_TMPFILE on this filesystem: the fixed temp name, truncated by the next writer.
    fd = UniqueFd(RetryEintr(
        [&] { return open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode); }));
    if (!fd) return ErrnoError("create " + tmp, errno);
    if (auto s = WriteAndSync(fd.get(), data, tmp, sync); !s) {
      unlink(tmp.c_str());
      return s;
    }
  } else {
    if (auto s = WriteAndSync(fd.get(), data, path, sync); !s) return s;
    // A new file is linked under its final name: atomic, and no temp name ever.
    if (LinkTmpfile(fd.get(), path) == 0) return sync ? SyncDir(dir) : OkStatus();
    if (errno != EEXIST) return ErrnoError("create " + path, errno);
    // Replacing: link under the fixed temp name (a stale one is ours to drop), rename.
    if (unlink(tmp.c_str()) < 0 && errno != ENOENT) return ErrnoError("remove " + tmp, errno);
    if (LinkTmpfile(fd.get(), tmp) < 0) return ErrnoError("create " + tmp, errno);
  }
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return ErrnoError("rename " + tmp + " to " + path, err);
  }
  return sync ? SyncDir(dir) : OkStatus();
}

}  // namespace cni
