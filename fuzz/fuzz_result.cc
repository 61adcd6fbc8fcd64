// libFuzzer target: result parsing and version conversion. Invariant checked: for
// every version V, converting a parsed result to V and parsing it back reaches a
// fixed point (to_json(parse(to_json(r, V))) == to_json(r, V)); a conversion that
// loses or invents data on the second pass aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "libcni/types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& versions = cni::SupportedVersions();
  // The first byte picks the version to interpret the document as ("" = its own).
  size_t pick = data[0] % (versions.size() + 1);
  std::string_view as = pick == versions.size() ? std::string_view() : versions[pick];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto r = cni::ParseResultText(text, as);
  if (!r) return 0;
  for (const auto& v : versions) {
    auto j1 = cni::ResultToJson(*r, v);
    if (!j1) continue;
    auto r2 = cni::ParseResult(*j1, v);
    if (!r2) {
      std::fprintf(stderr, "result printed in %s does not parse back: %s\n%s\n", v.c_str(),
                   r2.error().msg().c_str(), j1->dump().c_str());
      std::abort();
    }
    auto j2 = cni::ResultToJson(*r2, v);
    if (!j2 || *j2 != *j1) {
      std::fprintf(stderr, "no fixed point in %s:\n%s\n%s\n", v.c_str(), j1->dump().c_str(),
                   j2 ? j2->dump().c_str() : j2.error().msg().c_str());
      std::abort();
    }
  }
  return 0;
}
