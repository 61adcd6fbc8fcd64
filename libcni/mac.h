// Ethernet MAC addresses as text. Lives in libcni (no kernel calls) so that config
// parsing and the netlink layer share one parser.
#ifndef LINEN_LIBCNI_MAC_H_
#define LINEN_LIBCNI_MAC_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cni {

using MacBytes = std::array<uint8_t, 6>;

// Six hex pairs separated by ':' or '-' (both forms the reference accepts), any case;
// nullopt for anything else.
std::optional<MacBytes> ParseMac(std::string_view text);

// Lower-case hex pairs joined by ':', as the kernel and `ip` print them; any length
// (link-layer addresses of other kinds are not 6 bytes).
std::string FormatMac(std::span<const uint8_t> bytes);

}  // namespace cni

#endif  // LINEN_LIBCNI_MAC_H_
