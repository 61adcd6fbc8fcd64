// The bridge CNI plugin: wiring only.
#include "libcni/skel.h"
#include "plugins/bridge/commands.h"

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, bridge::Funcs(), "linen bridge CNI plugin");
}
