// Standard base64 (RFC 4648, with padding): etcd's JSON gateway carries every key
// and value as base64 of the raw bytes.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_BASE64_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace linen::etcd {

std::string Base64Encode(std::string_view raw);
// nullopt on a character outside the alphabet or a bad length/padding.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_BASE64_H_
