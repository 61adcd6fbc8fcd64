#include "libcni/sys/number.h"

#include <charconv>

namespace cni {

std::optional<int64_t> ParseDecimal(std::string_view text, int64_t min, int64_t max) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  // from_chars takes no '+' or leading space already; a lone "-" fails as no digits.
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace cni
