// File descriptors as owned values, and the EINTR retry every blocking call wants.
#ifndef LINEN_LIBCNI_SYS_FD_H_
#define LINEN_LIBCNI_SYS_FD_H_

#include <cerrno>
#include <utility>

namespace cni {

// Owns one fd and closes it on destruction; -1 is "none". Move-only.
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
  // Closes now (e.g. a pipe's write end, so the reader sees EOF).
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Repeats f() while it fails with EINTR: plugins get SIGCHLD from delegation and
// the agent gets its own signals, and neither should turn into an error.
template <typename F>
auto RetryEintr(F&& f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace cni

#endif  // LINEN_LIBCNI_SYS_FD_H_
