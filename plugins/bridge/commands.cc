// The bridge plugin's verb table: which function serves which CNI verb.
#include "plugins/bridge/commands.h"

namespace bridge {

cni::PluginFuncs Funcs() {
  return cni::PluginFuncs{
      .add = CmdAdd, .del = CmdDel, .check = CmdCheck, .status = CmdStatus, .gc = CmdGc};
}

}  // namespace bridge
