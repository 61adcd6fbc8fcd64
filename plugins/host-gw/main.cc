// CNI plugin "host-gw": pods on many nodes on one L2 segment, reached through plain
// routes via each node's IP; pods attached through bridge + host-local. See
// overlay/plugin/.
#include "ipam/host-local/commands.h"
#include "libcni/invoke.h"
#include "overlay/plugin/meta_plugin.h"
#include "plugins/bridge/commands.h"

int main(int argc, char** argv) {
  static const cni::InProcessPlugin kInProcess[] = {{"bridge", bridge::Funcs},
                                                    {"host-local", host_local::Funcs}};
  cni::SetInProcessPlugins(kInProcess);
  return cni::PluginMain(argc, argv, linen::overlay::MetaPluginFuncs(),
                         "linen host-gw CNI plugin (static topology or linend)");
}
