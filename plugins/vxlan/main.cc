// CNI plugin "vxlan": pods on many nodes joined by a VXLAN overlay (linen.<VNI>),
// pods themselves attached through bridge + host-local. See overlay/plugin/.
#include "overlay/plugin/meta_plugin.h"

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, linen::overlay::MetaPluginFuncs(),
                         "linen vxlan CNI plugin (static topology or linend)");
}
