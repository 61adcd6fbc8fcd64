// The one mapper from netlink failures to cni::Error: the kernel's errno (and its
// extended-ack text when it sent one) or a libnl NLE_* code.
#ifndef LINEN_LIBCNI_NETLINK_NL_ERROR_H_
#define LINEN_LIBCNI_NETLINK_NL_ERROR_H_

#include <string>
#include <string_view>

#include "libcni/error.h"

namespace cni::nl {

// "what: words" where words are the kernel's ext-ack message if any, else the
// errno text. ENOENT/ENODEV/ESRCH -> kNotFound cause, EEXIST -> kExists,
// EBUSY/EAGAIN -> code 11, the rest -> code 999 (as Go's skel reports untyped errors).
Error KernelError(std::string_view what, int err, std::string_view extack = "");

// The same for a negative or positive libnl NLE_* code.
Error LibnlError(std::string_view what, int nle);

}  // namespace cni::nl

#endif  // LINEN_LIBCNI_NETLINK_NL_ERROR_H_
