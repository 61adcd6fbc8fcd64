// Standard base64 with padding, as Go's encoding/json writes a []byte: the result
// cache stores the network's raw config bytes that way.
#ifndef LINEN_LIBCNI_RUNTIME_BASE64_H_
#define LINEN_LIBCNI_RUNTIME_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace cni::runtime {

std::string Base64Encode(std::string_view data);
// nullopt on a character outside the alphabet or a bad length/padding.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace cni::runtime

#endif  // LINEN_LIBCNI_RUNTIME_BASE64_H_
