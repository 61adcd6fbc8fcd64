// libFuzzer target: CNI_ARGS parsing. Invariant checked: an accepted string, printed
// back as K=V pairs joined by ';', parses to the same map.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "libcni/skel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = cni::ParseCniArgs(text);
  if (!m) return 0;
  std::string back;
  for (const auto& [k, v] : *m) back += (back.empty() ? "" : ";") + k + "=" + v;
  auto m2 = cni::ParseCniArgs(back);
  if (!m2 || *m2 != *m) std::abort();
  return 0;
}
