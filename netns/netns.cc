#include "netns/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace cni {

namespace {

constexpr char kNetnsRunDir[] = "/run/netns";

// "<op> /run/netns" for error messages. Built with append, not operator+, which gcc 12
// at -O2 flags with a false -Warray-bounds (GCC bug 105329).
std::string RunDirOp(const char* op) {
  std::string s(op);
  s.append(" ").append(kNetnsRunDir);
  return s;
}

// Makes /run/netns a shared mount point, as `ip netns add` does, so a namespace
// mounted here later propagates into mount namespaces cloned from this one (and an
// unmount propagates too). Done once per process; racing processes are harmless
// because both steps tolerate having been done already.
Status EnsureRunDirShared() {
  static std::mutex mu;
  static bool done = false;
  std::lock_guard<std::mutex> lock(mu);
  if (done) return OkStatus();
  if (mkdir(kNetnsRunDir, 0755) < 0 && errno != EEXIST) {
    return ErrnoError(RunDirOp("create"), errno);
  }
  // Parallel first users (e.g. ctest -j on a fresh machine) would otherwise all
  // see "not a mount point" and stack several bind mounts. flock on the
  // directory serialises them; the bind mount is of the same inode, so the
  // lock holds across it.
  UniqueFd dir(open(kNetnsRunDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return ErrnoError(RunDirOp("open"), errno);
  if (RetryEintr([&] { return flock(dir.get(), LOCK_EX); }) < 0) {
    return ErrnoError(RunDirOp("lock"), errno);
  }
  // First try to change propagation directly; it fails with EINVAL when the
  // directory is not yet a mount point, in which case bind it onto itself.
  if (mount("", kNetnsRunDir, "none", MS_SHARED | MS_REC, nullptr) < 0) {
    if (errno != EINVAL) return ErrnoError(RunDirOp("make shared"), errno);
    if (mount(kNetnsRunDir, kNetnsRunDir, "none", MS_BIND | MS_REC, nullptr) < 0) {
      return ErrnoError(RunDirOp("bind"), errno);
    }
    if (mount("", kNetnsRunDir, "none", MS_SHARED | MS_REC, nullptr) < 0) {
      return ErrnoError(RunDirOp("make shared"), errno);
    }
  }
  done = true;
  return OkStatus();
}

// Checks that `fd` refers to an nsfs file for a *network* namespace.
Status CheckIsNetns(int fd, const std::string& path) {
  struct statfs sfs {};
  if (fstatfs(fd, &sfs) < 0) return ErrnoError("statfs netns " + path, errno, Code::kInvalidNetns);
  if (static_cast<unsigned long>(sfs.f_type) != static_cast<unsigned long>(NSFS_MAGIC)) {
    return Error(Code::kInvalidNetns, "netns " + path + " is not a network namespace");
  }
  // nsfs also holds mount/uts/pid... namespaces; only a network one will do.
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) return ErrnoError("query type of netns " + path, errno, Code::kInvalidNetns);
  if (type != CLONE_NEWNET) {
    return Error(Code::kInvalidNetns, "netns " + path + " is not a network namespace");
  }
  return OkStatus();
}

}  // namespace

Result<NetNs> NetNs::Open(const std::string& path) {
  int fd = RetryEintr([&] { return open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Error(Code::kUnknownContainer, "netns " + path + " does not exist", "",
                   Cause::kNotFound);
    }
    return ErrnoError("open netns " + path, err, Code::kInvalidNetns);
  }
  UniqueFd owned(fd);
  if (auto s = CheckIsNetns(fd, path); !s) return s.error();
  return NetNs(std::move(owned), path);
}

Result<NetNs> NetNs::Current() { return Open("/proc/thread-self/ns/net"); }

bool NetNs::SameAs(const NetNs& other) const {
  struct stat a {}, b {};
  if (fstat(fd(), &a) < 0 || fstat(other.fd(), &b) < 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Result<ScopedNetnsSwitch> ScopedNetnsSwitch::Enter(const NetNs& target) {
  int origin = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (origin < 0) return ErrnoError("open current netns", errno);
  UniqueFd owned(origin);
  if (setns(target.fd(), CLONE_NEWNET) < 0) {
    int err = errno;
    // EINVAL: the fd is a namespace of another type.
    if (err == EINVAL) {
      return Error(Code::kInvalidNetns, "netns " + target.path() + " is not a network namespace");
    }
    return ErrnoError("enter netns " + target.path(), err, Code::kInvalidNetns);
  }
  return ScopedNetnsSwitch(std::move(owned));
}

ScopedNetnsSwitch::~ScopedNetnsSwitch() {
  if (!origin_) return;  // moved from
  if (setns(origin_.get(), CLONE_NEWNET) < 0) {
    std::fprintf(stderr, "linen: cannot return to the original netns: %s\n", std::strerror(errno));
    std::abort();
  }
}

std::string NamedNetnsPath(const std::string& name) {
  return std::string(kNetnsRunDir) + "/" + name;
}

Status ValidateNetnsName(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return Error(Code::kInvalidNetworkConfig, "invalid netns name \"" + name + "\"");
  }
  return OkStatus();
}

Result<NetNs> CreateNamedNetns(const std::string& name) {
  if (auto s = ValidateNetnsName(name); !s) return s.error();
  if (auto s = EnsureRunDirShared(); !s) return s.error();
  const std::string path = NamedNetnsPath(name);
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("create netns file " + path, errno);
  close(fd);

  // unshare() in a throwaway thread: only that thread moves into the new
  // namespace, so neither this thread nor the rest of the process is affected.
  int err = 0;
  const char* step = "";
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) < 0) {
      err = errno;
      step = "unshare";
      return;
    }
    if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) < 0) {
      err = errno;
      step = "bind mount";
    }
  });
  t.join();
  if (err != 0) {
    unlink(path.c_str());
    return ErrnoError(std::string(step) + " netns " + path, err);
  }
  auto ns = NetNs::Open(path);
  if (!ns) {
    umount2(path.c_str(), MNT_DETACH);
    unlink(path.c_str());
  }
  return ns;
}

Status DeleteNamedNetns(const std::string& name) {
  // Checked here as well as by callers: unmount and unlink of "../x" would act
  // outside /run/netns.
  if (auto s = ValidateNetnsName(name); !s) return s;
  const std::string path = NamedNetnsPath(name);
  // EINVAL: not a mount point (half-made or already unmounted); ENOENT: gone.
  if (umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoError("unmount netns " + path, errno);
  }
  if (unlink(path.c_str()) < 0 && errno != ENOENT) {
    return ErrnoError("remove netns file " + path, errno);
  }
  return OkStatus();
}

}  // namespace cni
