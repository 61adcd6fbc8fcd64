// host-local IPAM plugin: wiring only; the verbs live in commands.cc.
#include <signal.h>

#include <cstdlib>
#include <cstring>

#include "ipam/host-local/commands.h"
#include "ipam/host-local/disk_store.h"
#include "libcni/plugin_note.h"
#include "libcni/skel.h"

// Lets linen's bridge and overlay plugins run this plugin in their own process.
[[gnu::section(".note.linen"), gnu::used, gnu::aligned(4)]] constexpr auto kNote =
    cni::MakePluginNote("host-local");

namespace {

#ifdef LINEN_HOST_LOCAL_FAULTS
// host-local-faults only (built with the tests, never installed): the crash tests
// pick a fault through the environment.
void InstallFaultsFromEnv() {
  host_local::DiskStoreFaults f;
  f.at = [](const char* point) {
    static const char* want = std::getenv("LINEN_TEST_CRASH_AT");
    if (want != nullptr && std::strcmp(want, point) == 0) raise(SIGKILL);
  };
  f.no_tmpfile = std::getenv("LINEN_TEST_NO_TMPFILE") != nullptr;
  host_local::SetDiskStoreFaults(f);
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifdef LINEN_HOST_LOCAL_FAULTS
  InstallFaultsFromEnv();
#endif
  return cni::PluginMain(argc, argv, host_local::Funcs(), "CNI host-local plugin (linen)");
}
