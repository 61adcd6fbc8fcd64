#include "libcni/netlink/nl_error.h"

#include <netlink/errno.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cni::nl {

Error KernelError(std::string_view what, int err, std::string_view extack) {
  if (err < 0) err = -err;
  // libnl's words where it has a specific one ("Object exists"), else the C
  // library's; the kernel's own ext-ack sentence is the most useful and goes last.
  std::string words;
  int nle = nl_syserr2nlerr(err);
  words = (nle != NLE_FAILURE) ? nl_geterror(nle) : std::strerror(err);
  if (!extack.empty()) words += " (" + std::string(extack) + ")";
  std::string msg = std::string(what) + ": " + words;
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ESRCH:
      return Error(Code::kInternal, msg, "", Cause::kNotFound);
    case EEXIST:
      return Error(Code::kInternal, msg, "", Cause::kExists);
    case EBUSY:
    case EAGAIN:
      return Error(Code::kTryAgainLater, msg);
    default:
      return Error(Code::kInternal, msg);
  }
}

Error LibnlError(std::string_view what, int nle) {
  nle = std::abs(nle);
  std::string msg = std::string(what) + ": " + nl_geterror(nle);
  switch (nle) {
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      return Error(Code::kInternal, msg, "", Cause::kNotFound);
    case NLE_EXIST:
      return Error(Code::kInternal, msg, "", Cause::kExists);
    case NLE_BUSY:
    case NLE_AGAIN:
    case NLE_DUMP_INTR:
      return Error(Code::kTryAgainLater, msg);
    default:
      return Error(Code::kInternal, msg);
  }
}

}  // namespace cni::nl
