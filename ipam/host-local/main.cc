// host-local IPAM plugin: wiring only; the verbs live in commands.cc.
#include "ipam/host-local/commands.h"
#include "libcni/plugin_note.h"
#include "libcni/skel.h"

// Lets linen's bridge and overlay plugins run this plugin in their own process.
[[gnu::section(".note.linen"), gnu::used, gnu::aligned(4)]] constexpr auto kNote =
    cni::MakePluginNote("host-local");

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, host_local::Funcs(), "CNI host-local plugin (linen)");
}
