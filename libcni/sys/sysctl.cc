#include "libcni/sys/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "libcni/sys/fd.h"

namespace cni {

Status WriteSysctl(const std::string& key, std::string_view value) {
  const std::string path = "/proc/sys/" + key;
  UniqueFd fd(RetryEintr([&] { return open(path.c_str(), O_WRONLY | O_CLOEXEC); }));
  if (!fd) return ErrnoError("open sysctl " + key, errno);
  // One write(): /proc/sys handlers parse each write on its own, so a value split
  // over two writes would be two (wrong) values.
  const ssize_t n = RetryEintr([&] { return write(fd.get(), value.data(), value.size()); });
  if (n < 0) return ErrnoError("write sysctl " + key + "=" + std::string(value), errno);
  if (static_cast<size_t>(n) != value.size()) {
    return Error(Code::kIoFailure, "write sysctl " + key + ": short write");
  }
  return OkStatus();
}

Result<std::string> ReadSysctl(const std::string& key) {
  const std::string path = "/proc/sys/" + key;
  UniqueFd fd(RetryEintr([&] { return open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return ErrnoError("open sysctl " + key, errno);
  std::string out;
  char buf[256];
  for (;;) {
    const ssize_t n = RetryEintr([&] { return read(fd.get(), buf, sizeof(buf)); });
    if (n < 0) return ErrnoError("read sysctl " + key, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t')) {
    out.pop_back();
  }
  return out;
}

}  // namespace cni
