// Network namespaces as RAII values. A NetNs owns an O_CLOEXEC fd; a
// ScopedNetnsSwitch moves only the calling thread and always moves it back.
#ifndef LINEN_NETNS_NETNS_H_
#define LINEN_NETNS_NETNS_H_

#include <string>
#include <utility>

#include "libcni/sys/error.h"
#include "libcni/sys/fd.h"
// Not used here: kept so code that reached WriteSysctl/ReadSysctl through this header
// (before they moved to libcni/sys) still builds.
#include "libcni/sys/sysctl.h"

namespace cni {

class NetNs {
 public:
  // ENOENT -> Code 3 with kNotFound cause ("netns /x does not exist"); a path that is
  // not a network namespace (e.g. a regular file) -> Code 8.
  static Result<NetNs> Open(const std::string& path);
  // The calling thread's namespace (/proc/thread-self/ns/net).
  static Result<NetNs> Current();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Same namespace (same nsfs inode), e.g. CNI_NETNS equal to the plugin's own.
  bool SameAs(const NetNs& other) const;

 private:
  NetNs(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// setns(target) now, setns(origin) in the destructor. If the restore fails the
// process aborts: running on in the wrong namespace is worse than dying.
class ScopedNetnsSwitch {
 public:
  static Result<ScopedNetnsSwitch> Enter(const NetNs& target);
  ScopedNetnsSwitch(ScopedNetnsSwitch&& o) noexcept : origin_(std::move(o.origin_)) {}
  ScopedNetnsSwitch& operator=(ScopedNetnsSwitch&&) = delete;
  ScopedNetnsSwitch(const ScopedNetnsSwitch&) = delete;
  ~ScopedNetnsSwitch();

 private:
  explicit ScopedNetnsSwitch(UniqueFd origin) : origin_(std::move(origin)) {}
  UniqueFd origin_;
};

// Runs f() inside `ns` on the calling thread and returns what it returns; f must
// return a Result<T> or Status. Switching back happens even if f throws.
template <typename F>
auto RunInNetns(const NetNs& ns, F&& f) -> decltype(f()) {
  auto sw = ScopedNetnsSwitch::Enter(ns);
  if (!sw) return sw.error();
  return f();
}

// Named namespaces as `ip netns add/del` make them: a bind mount of a fresh netns on
// /run/netns/<name> (the directory made a shared mount point once, as ip does).
// A name must be one path component: not empty, no '/', not "." or ".." (code 7);
// Create and Delete refuse any other and touch nothing.
Status ValidateNetnsName(const std::string& name);
Result<NetNs> CreateNamedNetns(const std::string& name);
Status DeleteNamedNetns(const std::string& name);  // absent is success
// /run/netns/<name>; validate the name first when it comes from outside.
std::string NamedNetnsPath(const std::string& name);

}  // namespace cni

#endif  // LINEN_NETNS_NETNS_H_
