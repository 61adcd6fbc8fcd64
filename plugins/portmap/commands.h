// The portmap plugin's verbs, as the skeleton calls them. Each runs in the calling
// thread's network namespace as the node namespace; none enters the pod's.
#ifndef LINEN_PLUGINS_PORTMAP_COMMANDS_H_
#define LINEN_PLUGINS_PORTMAP_COMMANDS_H_

#include "libcni/error.h"
#include "libcni/skel.h"
#include "libcni/types.h"

namespace portmap {

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args);
cni::Status CmdDel(const cni::CmdArgs& args);
cni::Status CmdCheck(const cni::CmdArgs& args);
cni::Status CmdGc(const cni::CmdArgs& args);
cni::Status CmdStatus(const cni::CmdArgs& args);

// All of the above, for PluginMain and in-process tests.
cni::PluginFuncs Funcs();

}  // namespace portmap

#endif  // LINEN_PLUGINS_PORTMAP_COMMANDS_H_
