// Helpers for tests that need the kernel: namespaces they create and always remove,
// unique names for parallel ctest runs, running built executables.
#ifndef LINEN_TEST_SUPPORT_TEST_SUPPORT_H_
#define LINEN_TEST_SUPPORT_TEST_SUPPORT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "netns/netns.h"

namespace linen::test {

// True in sanitizer builds, where every exec'd plugin runs several times slower and
// the CPU is the suite's bottleneck: stress tests scale their repetitions down by it
// (the optimised build runs them in full, so a race still gets every chance there).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif

// prefix + pid + a per-process counter, short enough for a netns or link name
// (at most 15 bytes when prefix is at most 5).
std::string UniqueName(std::string_view prefix);

// An address or prefix literal of a test; a malformed literal is a bug in the test
// and aborts it.
cni::IpAddr Ip(std::string_view text);
cni::IpNet Net(std::string_view text);

// A named namespace under /run/netns, deleted by the destructor even when an
// ASSERT failed. Loopback is brought up on creation.
class TempNetns {
 public:
  static cni::Result<TempNetns> Create(std::string_view prefix);
  TempNetns(TempNetns&&) noexcept;
  TempNetns& operator=(TempNetns&&) = delete;
  ~TempNetns();
  const cni::NetNs& ns() const { return ns_; }
  const std::string& name() const { return name_; }
  std::string path() const;

 private:
  TempNetns(std::string name, cni::NetNs ns) : name_(std::move(name)), ns_(std::move(ns)) {}
  std::string name_;
  cni::NetNs ns_;
};

// A named namespace like TempNetns that keeps no descriptor open: its bind mount
// alone holds it. For code that creates many namespaces and then execs plugins:
// an exec closes every descriptor the process holds, so held descriptors would
// make each exec cost more with every namespace.
class UnheldNetns {
 public:
  static cni::Result<UnheldNetns> Create(std::string_view prefix);
  UnheldNetns(UnheldNetns&&) noexcept;
  UnheldNetns& operator=(UnheldNetns&&) = delete;
  ~UnheldNetns();
  const std::string& name() const { return name_; }
  std::string path() const;
  cni::Result<cni::NetNs> Open() const { return cni::NetNs::Open(path()); }

 private:
  explicit UnheldNetns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// A directory under `parent` removed recursively by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& parent = "/tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct ProcResult {
  int exit_code = 0;  // -signal if killed
  std::string out;
  std::string err;
};
// Runs argv[0] (absolute path) with the extra env merged over this process's env.
ProcResult Run(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env = {},
               std::string_view stdin_data = "");
// `sh -c cmd`, for reading kernel state back with iproute2 in assertions.
ProcResult Sh(const std::string& cmd);
// One don't-fragment ping from namespace `ns` to `dst` (either family) of `wire_bytes`
// on the wire, IP header included, with ping's output (2>&1): for MTU checks. ping
// names the path MTU when it refuses ("mtu=1450" over IPv4, "mtu: 1430" over IPv6).
ProcResult DfPing(const std::string& ns, const std::string& dst, int wire_bytes);
// <build>/cni-bin/<name>: the built plugin executables.
std::string CniBin(std::string_view name);
std::string CniBinDir();
// A file under the source tree (conf-examples/...).
std::string SourcePath(std::string_view rel);

}  // namespace linen::test

#endif  // LINEN_TEST_SUPPORT_TEST_SUPPORT_H_
