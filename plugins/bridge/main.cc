// The bridge CNI plugin: wiring only.
#include "ipam/host-local/commands.h"
#include "libcni/invoke.h"
#include "libcni/plugin_note.h"
#include "libcni/skel.h"
#include "plugins/bridge/commands.h"

// Lets linen's overlay plugins run this plugin in their own process.
[[gnu::section(".note.linen"), gnu::used, gnu::aligned(4)]] constexpr auto kNote =
    cni::MakePluginNote("bridge");

#ifdef LINEN_BRIDGE_FAULTS
#include <cstdlib>
#include <cstring>

#include "plugins/bridge/bridge_device.h"

// bridge-faults only (built with the tests, never installed): LINEN_TEST_FAIL_AT
// names the step that fails.
static void InstallFaultsFromEnv() {
  bridge::BridgeFaults f;
  f.fail_at = [](const char* point) {
    static const char* want = std::getenv("LINEN_TEST_FAIL_AT");
    return want != nullptr && std::strcmp(want, point) == 0;
  };
  bridge::SetBridgeFaults(f);
}
#endif

int main(int argc, char** argv) {
#ifdef LINEN_BRIDGE_FAULTS
  InstallFaultsFromEnv();
#endif
  // Delegates that run in this process when CNI_PATH leads to linen's build of them.
  static const cni::InProcessPlugin kInProcess[] = {{"host-local", host_local::Funcs}};
  cni::SetInProcessPlugins(kInProcess);
  return cni::PluginMain(argc, argv, bridge::Funcs(), "linen bridge CNI plugin");
}
