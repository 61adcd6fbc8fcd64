// Standard base64 (RFC 4648, with padding): the result cache stores the raw config
// bytes that way (as Go writes a []byte), and etcd's JSON gateway carries keys and values so.
#ifndef LINEN_LIBCNI_BASE64_H_
#define LINEN_LIBCNI_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace cni {

std::string Base64Encode(std::string_view data);
// nullopt on a character outside the alphabet or a bad length/padding.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace cni

#endif  // LINEN_LIBCNI_BASE64_H_
