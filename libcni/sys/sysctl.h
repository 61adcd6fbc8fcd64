// sysctls under /proc/sys, in the calling thread's namespaces (net/* keys follow
// the network namespace the thread is in when it opens the file).
#ifndef LINEN_LIBCNI_SYS_SYSCTL_H_
#define LINEN_LIBCNI_SYS_SYSCTL_H_

#include <string>
#include <string_view>

#include "libcni/sys/error.h"

namespace cni {

// key is relative to /proc/sys, e.g. "net/ipv4/ip_forward". Errors name the key;
// a missing key has the kNotFound cause.
Status WriteSysctl(const std::string& key, std::string_view value);
// The value without trailing whitespace.
Result<std::string> ReadSysctl(const std::string& key);

}  // namespace cni

#endif  // LINEN_LIBCNI_SYS_SYSCTL_H_
