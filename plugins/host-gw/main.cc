// CNI plugin "host-gw": pods on many nodes on one L2 segment, reached through plain
// routes via each node's IP; pods attached through bridge + host-local. See
// overlay/plugin/.
#include "overlay/plugin/meta_plugin.h"

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, linen::overlay::MetaPluginFuncs(),
                         "linen host-gw CNI plugin (static topology or linend)");
}
