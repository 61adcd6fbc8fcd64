// The loopback CNI plugin: wiring only.
#include "libcni/skel.h"
#include "plugins/loopback/commands.h"

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, loopback::Funcs(), "CNI loopback plugin (linen)");
}
