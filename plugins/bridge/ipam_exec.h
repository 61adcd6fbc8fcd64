// Delegation to the IPAM plugin named by ipam.type, with the full stdin as the
// reference does (host-local reads the network name and ipam block from it).
#ifndef LINEN_PLUGINS_BRIDGE_IPAM_EXEC_H_
#define LINEN_PLUGINS_BRIDGE_IPAM_EXEC_H_

#include <string>
#include <string_view>

#include "libcni/error.h"
#include "libcni/skel.h"
#include "libcni/types.h"

namespace bridge {

cni::Result<cni::AddResult> IpamAdd(const std::string& type, const cni::CmdArgs& args);
// command: DEL, CHECK, GC, STATUS. `stdin_data` defaults to the plugin's own stdin.
cni::Status IpamCommand(std::string_view command, const std::string& type,
                        const cni::CmdArgs& args);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_IPAM_EXEC_H_
