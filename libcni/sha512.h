// SHA-512 (FIPS 180-4), needed only to derive cnitool's container ID exactly as the
// reference tool does; small enough not to justify a crypto library dependency.
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
