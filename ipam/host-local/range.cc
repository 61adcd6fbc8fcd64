#include "ipam/host-local/range.h"

#include <utility>

namespace host_local {
namespace {

cni::Result<cni::IpAddr> ParseAddr(std::string_view key, const std::string& text) {
  auto ip = cni::IpAddr::Parse(text);
  if (!ip) {
    return cni::InvalidConfig("invalid " + std::string(key) + " \"" + text +
                              "\": not an IP address");
  }
  return *ip;
}

}  // namespace

bool Range::Contains(const cni::IpAddr& ip) const {
  return ip.family() == family() && subnet.Contains(ip) && ip >= start && ip <= end;
}

bool Range::IsReserved(const cni::IpAddr& ip) const {
  if (ip == gateway || ip == subnet.Network()) return true;
  return subnet.addr.is_v4() && ip == subnet.Broadcast();
}

unsigned __int128 Range::Capacity() const {
  unsigned __int128 n = end.ToNumber() - start.ToNumber() + 1;
  // The three never-handed-out addresses are distinct unless the gateway was set to
  // one of the other two, which MakeRange refuses.
  const cni::IpAddr excluded[] = {gateway, subnet.Network(), subnet.Broadcast()};
  for (size_t i = 0; i < 3; ++i) {
    if (i == 2 && !subnet.addr.is_v4()) break;
    const cni::IpAddr& x = excluded[i];
    if (x.family() == family() && x >= start && x <= end) --n;
  }
  return n;
}

std::string Range::ToString() const { return start.ToString() + "-" + end.ToString(); }

cni::Result<Range> MakeRange(const RangeSpec& spec) {
  auto parsed = cni::IpNet::Parse(spec.subnet);
  if (!parsed) {
    return cni::InvalidConfig("invalid subnet \"" + spec.subnet +
                              "\": not a CIDR (want e.g. 10.1.0.0/24)");
  }
  Range r;
  r.subnet = *parsed;
  const int bits = r.subnet.addr.bits();
  // The reference refuses prefixes longer than max-2: a /31 or /32 (/127, /128) has
  // no address left once network, broadcast and gateway are taken out.
  if (r.subnet.prefix > bits - 2) {
    return cni::InvalidConfig("network " + spec.subnet +
                              " too small to allocate from (prefix longer than /" +
                              std::to_string(bits - 2) + ")");
  }
  if (r.subnet.addr != r.subnet.Network()) {
    return cni::InvalidConfig("network " + spec.subnet + " has host bits set: for a /" +
                              std::to_string(r.subnet.prefix) + " the network address is " +
                              r.subnet.Network().ToString());
  }
  const cni::IpAddr network = r.subnet.Network();
  const std::string net_text = r.subnet.ToString();

  if (spec.gateway) {
    auto gw = ParseAddr("gateway", *spec.gateway);
    if (!gw) return gw.error();
    if (gw->family() != r.family()) {
      return cni::InvalidConfig("gateway " + *spec.gateway + " is not in the address family of " +
                                net_text);
    }
    if (*gw == network || (gw->is_v4() && *gw == r.subnet.Broadcast())) {
      return cni::InvalidConfig("gateway " + *spec.gateway +
                                " is the network or broadcast address of " + net_text);
    }
    r.gateway = *gw;
  } else {
    r.gateway = network.Next();
  }

  if (spec.range_start) {
    auto s = ParseAddr("rangeStart", *spec.range_start);
    if (!s) return s.error();
    if (s->family() != r.family() || !r.subnet.Contains(*s)) {
      return cni::InvalidConfig("rangeStart " + *spec.range_start + " not in network " + net_text);
    }
    r.start = *s;
  } else {
    r.start = network.Next();
  }

  if (spec.range_end) {
    auto e = ParseAddr("rangeEnd", *spec.range_end);
    if (!e) return e.error();
    if (e->family() != r.family() || !r.subnet.Contains(*e)) {
      return cni::InvalidConfig("rangeEnd " + *spec.range_end + " not in network " + net_text);
    }
    r.end = *e;
  } else {
    r.end = r.subnet.Broadcast();
    if (r.subnet.addr.is_v4()) r.end = r.end.Prev();
  }

  if (r.start > r.end) {
    return cni::InvalidConfig("rangeStart " + r.start.ToString() + " is after rangeEnd " +
                              r.end.ToString() + " in network " + net_text);
  }
  if (r.Capacity() == 0) {
    return cni::InvalidConfig(
        "range " + r.ToString() + " in " + net_text +
        " holds no address that can be handed out (only gateway/network/broadcast)");
  }
  return r;
}

}  // namespace host_local
