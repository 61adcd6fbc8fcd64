#include "libcni/ip_net.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace cni {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const uint8_t* b) { return std::memcmp(b, kV4MappedPrefix, 12) == 0; }

unsigned __int128 FamilyMask(Family f) {
  return f == Family::kV4 ? static_cast<unsigned __int128>(0xffffffffu)
                          : ~static_cast<unsigned __int128>(0);
}

// Mask with `prefix` leading ones out of `bits`, as a number.
unsigned __int128 PrefixMask(int bits, int prefix) {
  if (prefix <= 0) return 0;
  unsigned __int128 all = bits == 32 ? 0xffffffffu : ~static_cast<unsigned __int128>(0);
  if (prefix >= bits) return all;
  return all & ~((static_cast<unsigned __int128>(1) << (bits - prefix)) - 1);
}

std::string V4Text(const uint8_t* b) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  return buf;
}

// RFC 5952 as Go prints it: lower-case hex, no leading zeros, the longest run of
// two or more zero groups (the first on a tie) becomes "::".
std::string V6Text(const uint8_t* b) {
  if (IsV4Mapped(b)) return "::ffff:" + V4Text(b + 12);
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) { ++i; continue; }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) { best = i; best_len = j - i; }
    i = j;
  }
  if (best_len < 2) best = -1;
  std::string out;
  char buf[8];
  for (int i = 0; i < 8;) {
    if (i == best) {
      out += "::";
      i += best_len;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
    ++i;
  }
  return out;
}

}  // namespace

std::optional<IpAddr> IpAddr::Parse(std::string_view text) {
  // inet_pton is strict in the way Go's ParseIP is: dotted quads only, no leading
  // zeros, no zones.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t bytes[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, bytes) != 1) return std::nullopt;
    return FromBytes(Family::kV4, bytes);
  }
  if (inet_pton(AF_INET6, buf, bytes) != 1) return std::nullopt;
  // Go treats ::ffff:a.b.c.d as the IPv4 address a.b.c.d.
  if (IsV4Mapped(bytes)) return FromBytes(Family::kV4, bytes + 12);
  return FromBytes(Family::kV6, bytes);
}

IpAddr IpAddr::FromV4(uint32_t host_order) {
  return FromNumber(Family::kV4, host_order);
}

IpAddr IpAddr::FromBytes(Family family, const uint8_t* bytes) {
  IpAddr a;
  a.family_ = family;
  std::memcpy(a.bytes_.data(), bytes, family == Family::kV4 ? 4 : 16);
  return a;
}

IpAddr IpAddr::FromNumber(Family family, unsigned __int128 n) {
  IpAddr a;
  a.family_ = family;
  int len = family == Family::kV4 ? 4 : 16;
  for (int i = len - 1; i >= 0; --i) {
    a.bytes_[i] = static_cast<uint8_t>(n & 0xff);
    n >>= 8;
  }
  return a;
}

unsigned __int128 IpAddr::ToNumber() const {
  unsigned __int128 n = 0;
  for (int i = 0; i < byte_len(); ++i) n = (n << 8) | bytes_[i];
  return n;
}

std::string IpAddr::ToString() const {
  return is_v4() ? V4Text(bytes_.data()) : V6Text(bytes_.data());
}

IpAddr IpAddr::Add(__int128 delta) const {
  unsigned __int128 n = ToNumber() + static_cast<unsigned __int128>(delta);
  return FromNumber(family_, n & FamilyMask(family_));
}

bool IpAddr::IsMulticast() const {
  return is_v4() ? (bytes_[0] & 0xf0) == 0xe0 : bytes_[0] == 0xff;
}

std::optional<IpNet> IpNet::Parse(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view ip_text = cidr.substr(0, slash);
  std::string_view len_text = cidr.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3) return std::nullopt;
  int prefix = 0;
  for (char c : len_text) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + (c - '0');
  }
  auto addr = IpAddr::Parse(ip_text);
  if (!addr) return std::nullopt;
  // "::ffff:a.b.c.d/120" is the v4 /24 once the address is read as v4.
  if (addr->is_v4() && ip_text.find(':') != std::string_view::npos) {
    if (prefix < 96) return std::nullopt;
    prefix -= 96;
  }
  if (prefix > addr->bits()) return std::nullopt;
  return IpNet{*addr, prefix};
}

IpAddr IpNet::Network() const {
  return IpAddr::FromNumber(family(), addr.ToNumber() & PrefixMask(addr.bits(), prefix));
}

IpAddr IpNet::Broadcast() const {
  unsigned __int128 host = ~PrefixMask(addr.bits(), prefix) & FamilyMask(family());
  return IpAddr::FromNumber(family(), addr.ToNumber() | host);
}

bool IpNet::Contains(const IpAddr& a) const {
  if (a.family() != family()) return false;
  unsigned __int128 m = PrefixMask(addr.bits(), prefix);
  return (a.ToNumber() & m) == (addr.ToNumber() & m);
}

bool IpNet::Overlaps(const IpNet& other) const {
  if (other.family() != family()) return false;
  return Contains(other.Network()) || other.Contains(Network());
}

unsigned __int128 IpNet::Size() const {
  int host_bits = addr.bits() - prefix;
  if (host_bits >= 128) return ~static_cast<unsigned __int128>(0);
  return static_cast<unsigned __int128>(1) << host_bits;
}

std::string IpNet::ToString() const { return addr.ToString() + "/" + std::to_string(prefix); }

std::string IpNet::MaskString() const {
  unsigned __int128 m = PrefixMask(addr.bits(), prefix);
  if (addr.is_v4()) return IpAddr::FromNumber(Family::kV4, m).ToString();
  // Go prints non-v4 masks as plain hex.
  std::string out;
  char buf[4];
  for (int shift = 120; shift >= 0; shift -= 8) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>((m >> shift) & 0xff));
    out += buf;
  }
  return out;
}

Result<IpAddr> ParseIpField(std::string_view key, std::string_view text) {
  auto a = IpAddr::Parse(text);
  if (!a) {
    return Error(Code::kInvalidNetworkConfig,
                 "invalid IP address \"" + std::string(text) + "\" in " + std::string(key));
  }
  return *a;
}

Result<IpNet> ParseCidrField(std::string_view key, std::string_view text) {
  auto n = IpNet::Parse(text);
  if (!n) {
    return Error(Code::kInvalidNetworkConfig,
                 "invalid CIDR \"" + std::string(text) + "\" in " + std::string(key));
  }
  return *n;
}

}  // namespace cni
