// CNI plugin "vxlan": pods on many nodes joined by a VXLAN overlay (linen.<VNI>),
// pods themselves attached through bridge + host-local. See overlay/plugin/.
#include "ipam/host-local/commands.h"
#include "libcni/invoke.h"
#include "overlay/plugin/meta_plugin.h"
#include "plugins/bridge/commands.h"

int main(int argc, char** argv) {
  // The pod's delegates run in this process when CNI_PATH leads to linen's builds.
  static const cni::InProcessPlugin kInProcess[] = {{"bridge", bridge::Funcs},
                                                    {"host-local", host_local::Funcs}};
  cni::SetInProcessPlugins(kInProcess);
  return cni::PluginMain(argc, argv, linen::overlay::MetaPluginFuncs(),
                         "linen vxlan CNI plugin (static topology or linend)");
}
