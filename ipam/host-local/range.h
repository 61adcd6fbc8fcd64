// One allocation range of host-local: a subnet, the inclusive [start, end] window
// handed out from it, and the gateway. Pure values; no I/O.
#ifndef LINEN_IPAM_HOST_LOCAL_RANGE_H_
#define LINEN_IPAM_HOST_LOCAL_RANGE_H_

#include <optional>
#include <string>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace host_local {

struct Range {
  cni::IpNet subnet;  // network address, no host bits
  cni::IpAddr start;  // inclusive
  cni::IpAddr end;    // inclusive
  cni::IpAddr gateway;

  cni::Family family() const { return subnet.family(); }
  // In the subnet and inside [start, end]: the addresses this range may hold.
  bool Contains(const cni::IpAddr& ip) const;
  // Addresses inside the window that are never handed out: the gateway, the network
  // address and (IPv4) the broadcast address.
  bool IsReserved(const cni::IpAddr& ip) const;
  // Number of addresses that can actually be handed out.
  unsigned __int128 Capacity() const;
  std::string ToString() const;  // "start-end", as the reference prints it
};

// The optional keys of a range as written in the config.
struct RangeSpec {
  std::string subnet;
  std::optional<std::string> range_start, range_end, gateway;
};

// Validates and fills defaults like the reference's Range.Canonicalize:
// start = network+1, end = broadcast-1 (v4) or the last address (v6),
// gateway = network+1. Every failure is code 7 and names the offending value.
cni::Result<Range> MakeRange(const RangeSpec& spec);

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_RANGE_H_
