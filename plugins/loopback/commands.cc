// loopback has no GC or STATUS: nothing to collect, and it is always ready.
#include "plugins/loopback/commands.h"

#include "plugins/loopback/loopback.h"

namespace loopback {

cni::PluginFuncs Funcs() {
  return cni::PluginFuncs{.add = CmdAdd, .del = CmdDel, .check = CmdCheck};
}

}  // namespace loopback
