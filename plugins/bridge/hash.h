// SHA-512 as hex, for the names the reference derives from hashes (masquerade chain
// names and comments, host veth names). Small and self-contained so the plugin needs
// no crypto library.
#ifndef LINEN_PLUGINS_BRIDGE_HASH_H_
#define LINEN_PLUGINS_BRIDGE_HASH_H_

#include <string>
#include <string_view>

namespace bridge {

// Lower-case hex of SHA-512(data), 128 characters.
std::string Sha512Hex(std::string_view data);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_HASH_H_
