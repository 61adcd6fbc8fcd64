// host-local IPAM plugin: wiring only; the verbs live in commands.cc.
#include "ipam/host-local/commands.h"
#include "libcni/skel.h"

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, host_local::Funcs(), "CNI host-local plugin (linen)");
}
