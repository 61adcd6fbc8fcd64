// IPv4/IPv6 addresses and prefixes as plain values: parsing, Go-compatible text
// (dotted v4, RFC 5952 v6), and the arithmetic IPAM needs. No kernel calls.
#ifndef LINEN_LIBCNI_IP_NET_H_
#define LINEN_LIBCNI_IP_NET_H_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libcni/error.h"

namespace cni {

enum class Family : uint8_t { kV4 = 4, kV6 = 6 };

class IpAddr {
 public:
  IpAddr() = default;  // 0.0.0.0
  static std::optional<IpAddr> Parse(std::string_view text);  // also "::ffff:a.b.c.d" -> v4
  static IpAddr FromV4(uint32_t host_order);
  static IpAddr FromBytes(Family family, const uint8_t* bytes);  // 4 or 16 bytes
  static IpAddr FromNumber(Family family, unsigned __int128 n);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  int bits() const { return is_v4() ? 32 : 128; }
  const uint8_t* bytes() const { return bytes_.data(); }  // 4 or 16 valid bytes
  int byte_len() const { return is_v4() ? 4 : 16; }
  unsigned __int128 ToNumber() const;
  std::string ToString() const;  // Go net.IP.String()

  // Saturating at the family's bounds is the caller's job: these wrap.
  IpAddr Next() const { return Add(1); }
  IpAddr Prev() const { return Add(-1); }
  IpAddr Add(__int128 delta) const;
  bool IsMulticast() const;
  bool IsUnspecified() const { return ToNumber() == 0; }

  auto operator<=>(const IpAddr&) const = default;
  bool operator==(const IpAddr&) const = default;

 private:
  Family family_ = Family::kV4;
  std::array<uint8_t, 16> bytes_{};
};

// An address with a prefix length. `addr` may carry host bits (an interface
// address such as 10.1.0.5/24); Network() clears them.
struct IpNet {
  IpAddr addr;
  int prefix = 0;

  static std::optional<IpNet> Parse(std::string_view cidr);  // "a/b"; false without '/'
  static IpNet Host(const IpAddr& a) { return {a, a.bits()}; }
  Family family() const { return addr.family(); }
  IpAddr Network() const;
  IpAddr Broadcast() const;  // last address of the prefix (v6 too)
  IpNet Masked() const { return {Network(), prefix}; }
  bool Contains(const IpAddr& a) const;
  bool Overlaps(const IpNet& other) const;
  unsigned __int128 Size() const;  // number of addresses; 2^128 saturates to max
  std::string ToString() const;    // addr/prefix, addr as given
  std::string MaskString() const;  // v4 dotted mask, for 0.2.0-era text

  auto operator<=>(const IpNet&) const = default;
  bool operator==(const IpNet&) const = default;
};

// Parse helpers that produce a code-7 error naming the key.
Result<IpAddr> ParseIpField(std::string_view key, std::string_view text);
Result<IpNet> ParseCidrField(std::string_view key, std::string_view text);

}  // namespace cni

#endif  // LINEN_LIBCNI_IP_NET_H_
