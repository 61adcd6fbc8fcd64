// Typed field access on nlohmann::json that returns code-6 errors naming the key
// instead of throwing. Internal to libcni.
#ifndef LINEN_LIBCNI_JSON_UTIL_H_
#define LINEN_LIBCNI_JSON_UTIL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/types.h"

namespace cni::internal {

// Each getter: absent or null -> Ok and `out` untouched; wrong JSON type -> code 6
// "<where>: <key>: expected <type>, got <type>" (the rules are cni::Decoder's).
Status GetString(const json& obj, std::string_view key, std::string_view where, std::string* out);
Status GetInt(const json& obj, std::string_view key, std::string_view where,
              std::optional<int>* out);
Status GetStringList(const json& obj, std::string_view key, std::string_view where,
                     std::vector<std::string>* out);
Status GetObject(const json& obj, std::string_view key, std::string_view where, json* out);

Error DecodeError(std::string_view where, std::string_view what);

// The result as a plugin prints it: `version`'s shape, the reference's field order
// (cniVersion, interfaces, ips, routes, dns), four-space indent.
Result<std::string> ResultToText(const AddResult& r, std::string_view version);

}  // namespace cni::internal

#endif  // LINEN_LIBCNI_JSON_UTIL_H_
