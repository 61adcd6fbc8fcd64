// SHA-512 (FIPS 180-4), for names derived from IDs: cnitool's container ID and
// bridge's iptables chains, both as the reference tools make them, and bridge's
// own veth and nftables chain names (plugins/bridge/hash.h). Small enough not to
// justify a crypto library dependency.
#ifndef LINEN_LIBCNI_SHA512_H_
#define LINEN_LIBCNI_SHA512_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cni {

using Sha512Digest = std::array<uint8_t, 64>;

Sha512Digest Sha512(std::string_view data);

// Lower-case hex of the first `n` bytes (all of them by default), as Go's "%x".
std::string HexPrefix(const Sha512Digest& digest, size_t n = 64);

}  // namespace cni

#endif  // LINEN_LIBCNI_SHA512_H_
