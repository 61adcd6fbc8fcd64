// host-local IPAM plugin: wiring only; the verbs live in commands.cc.
#include <cstring>

#include "ipam/host-local/commands.h"
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

}  // namespace

int main(int argc, char** argv) {
  return cni::PluginMain(argc, argv, host_local::Funcs(), "CNI host-local plugin (linen)");
}
