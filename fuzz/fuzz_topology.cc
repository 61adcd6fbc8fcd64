// libFuzzer target: the static topology parser (overlay/registry). Invariants checked
// on an accepted topology: every node finds itself by name, and its peers are all the
// other nodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "overlay/registry/static_topology.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto topo = linen::overlay::ParseTopology(text);
  if (!topo) return 0;
  for (const auto& node : topo->nodes) {
    auto self = linen::overlay::FindSelf(*topo, node.name, "", {});
    if (!self || !(*self == node)) std::abort();
    if (linen::overlay::PeersOf(*topo, *self).size() + 1 != topo->nodes.size()) std::abort();
  }
  return 0;
}
