// Integers from text (files, env, wire formats) parsed strictly.
#ifndef LINEN_LIBCNI_SYS_NUMBER_H_
#define LINEN_LIBCNI_SYS_NUMBER_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace cni {

// The whole of `text` as a decimal integer in [min, max]: an optional '-' then
// digits, nothing else (no spaces, '+', hex or trailing bytes, unlike std::stoi).
// nullopt otherwise; callers name the variable in their error.
std::optional<int64_t> ParseDecimal(std::string_view text, int64_t min, int64_t max);

}  // namespace cni

#endif  // LINEN_LIBCNI_SYS_NUMBER_H_
