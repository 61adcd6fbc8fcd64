// Network namespaces as RAII values. A NetNs owns an O_CLOEXEC fd; a
// ScopedNetnsSwitch moves only the calling thread and always moves it back.
#ifndef LINEN_NETNS_NETNS_H_
#define LINEN_NETNS_NETNS_H_

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "libcni/error.h"

namespace cni {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

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
Result<NetNs> CreateNamedNetns(const std::string& name);
Status DeleteNamedNetns(const std::string& name);  // absent is success
std::string NamedNetnsPath(const std::string& name);  // /run/netns/<name>

// Writes a sysctl under /proc/sys (e.g. "net/ipv4/ip_forward") in the calling
// thread's network namespace; ReadSysctl returns the trimmed value.
Status WriteSysctl(const std::string& key, std::string_view value);
Result<std::string> ReadSysctl(const std::string& key);

}  // namespace cni

#endif  // LINEN_NETNS_NETNS_H_
