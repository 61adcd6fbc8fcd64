// host-local's verbs over the CNI skeleton's arguments. Every verb reads the same
// stdin config; ADD prints the IPAM short result (no interfaces).
#ifndef LINEN_IPAM_HOST_LOCAL_COMMANDS_H_
#define LINEN_IPAM_HOST_LOCAL_COMMANDS_H_

#include "libcni/error.h"
#include "libcni/skel.h"
#include "libcni/types.h"

namespace host_local {

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args);
// Idempotent: releasing an attachment that holds nothing is success.
cni::Status CmdDel(const cni::CmdArgs& args);
// Passes when the attachment still holds at least one reservation.
cni::Status CmdCheck(const cni::CmdArgs& args);
cni::Status CmdGc(const cni::CmdArgs& args);
cni::Status CmdStatus(const cni::CmdArgs& args);

cni::PluginFuncs Funcs();

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_COMMANDS_H_
