// The bandwidth plugin's verbs, as the skeleton calls them. Each runs in the calling
// thread's network namespace as the node ("host") namespace.
#ifndef LINEN_PLUGINS_BANDWIDTH_COMMANDS_H_
#define LINEN_PLUGINS_BANDWIDTH_COMMANDS_H_

#include "libcni/error.h"
#include "libcni/skel.h"
#include "libcni/types.h"

namespace bandwidth {

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args);
cni::Status CmdDel(const cni::CmdArgs& args);
cni::Status CmdCheck(const cni::CmdArgs& args);
cni::Status CmdGc(const cni::CmdArgs& args);
cni::Status CmdStatus(const cni::CmdArgs& args);

// All of the above, for PluginMain and in-process tests.
cni::PluginFuncs Funcs();

}  // namespace bandwidth

#endif  // LINEN_PLUGINS_BANDWIDTH_COMMANDS_H_
