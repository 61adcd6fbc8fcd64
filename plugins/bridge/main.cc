// The bridge CNI plugin: wiring only.
#include "ipam/host-local/commands.h"
#include "libcni/invoke.h"
#include "libcni/plugin_note.h"
#include "libcni/skel.h"
#include "plugins/bridge/commands.h"

// Lets linen's overlay plugins run this plugin in their own process.
[[gnu::section(".note.linen"), gnu::used, gnu::aligned(4)]] constexpr auto kNote =
    cni::MakePluginNote("bridge");

int main(int argc, char** argv) {
  // Delegates that run in this process when CNI_PATH leads to linen's build of them.
  static const cni::InProcessPlugin kInProcess[] = {{"host-local", host_local::Funcs}};
  cni::SetInProcessPlugins(kInProcess);
  return cni::PluginMain(argc, argv, bridge::Funcs(), "linen bridge CNI plugin");
}
