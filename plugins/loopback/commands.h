// The loopback plugin's verb table, for PluginMain and in-process callers.
#ifndef LINEN_PLUGINS_LOOPBACK_COMMANDS_H_
#define LINEN_PLUGINS_LOOPBACK_COMMANDS_H_

#include "libcni/skel.h"

namespace loopback {

cni::PluginFuncs Funcs();

}  // namespace loopback

#endif  // LINEN_PLUGINS_LOOPBACK_COMMANDS_H_
