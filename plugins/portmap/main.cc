// The portmap CNI plugin: wiring only.
#include "libcni/skel.h"
#include "plugins/portmap/commands.h"

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, portmap::Funcs(), "linen portmap CNI plugin");
}
