// host-local IPAM plugin: wiring only; the verbs live in commands.cc.
#include <signal.h>

#include <cstdlib>
#include <cstring>

#include "ipam/host-local/commands.h"
#include "ipam/host-local/disk_store.h"
#include "ipam/host-local/linen_note.h"
#include "libcni/skel.h"

namespace {

// In a .note section, which the linker places in the first page of the file.
constexpr host_local::LinenNote MakeNote() {
  host_local::LinenNote n;
  for (size_t i = 0; i < sizeof(host_local::kInProcessMarker); ++i) {
    n.desc[i] = host_local::kInProcessMarker[i];
  }
  return n;
}
[[gnu::section(".note.linen"), gnu::used, gnu::aligned(4)]] const host_local::LinenNote kNote =
    MakeNote();

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
