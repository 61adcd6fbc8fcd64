// The bandwidth plugin's configuration, read as the reference (plugins/meta/bandwidth
// 1.1.1) reads it, and the token bucket parameters the kernel gets from it.
#ifndef LINEN_PLUGINS_BANDWIDTH_CONFIG_H_
#define LINEN_PLUGINS_BANDWIDTH_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libcni/error.h"
#include "libcni/netlink/handle.h"
#include "libcni/types.h"

namespace bandwidth {

// One direction's limit: a rate in bits per second and a burst in bits. Both 0 means
// no limit; validation guarantees that otherwise both are set.
struct Limit {
  uint64_t rate = 0;
  uint64_t burst = 0;
  bool on() const { return rate > 0 && burst > 0; }
};

struct BandwidthConf {
  cni::NetConf net;
  Limit ingress;  // to the pod: TBF on the host veth
  Limit egress;   // from the pod: redirected to an IFB, TBF there
  // Where the limits came from: "" (top-level keys) or "runtimeConfig.bandwidth.".
  std::string source;
  bool any() const { return ingress.on() || egress.on(); }
};

// The four keys at the top level, or, when none of them is there (even as null),
// the `bandwidth` capability (runtimeConfig.bandwidth): the reference's precedence.
// Wrong JSON types are code 6, values the kernel cannot take code 7; both name the
// key. Nothing here touches the system.
cni::Result<BandwidthConf> ParseBandwidthConf(const cni::NetConf& net);

// The TBF the reference installs for `limit` (bytes/s; buffer for the burst at that
// rate, in ticks; limit = 25 ms at the rate plus the burst). Where those overflow
// their 32-bit fields (a bucket over ~275 s at the rate, a queue over 4 GB) they
// saturate; the reference wraps them around. `prefix` ("ingress"/"egress" after the
// source) names the keys in errors (code 7).
cni::Result<cni::nl::TbfParams> TbfFor(const Limit& limit, std::string_view prefix);

// "bwp" + the first 12 hex digits of SHA-512(network name + container ID): the
// reference's IFB name, so either plugin's DEL finds the other's device.
std::string IfbName(std::string_view network, std::string_view container_id);
// The alias linen puts on its IFBs, so GC can tell them (and their network) apart.
std::string IfbAlias(std::string_view network, std::string_view container_id);
// The alias prefix of every IFB of `network`.
std::string IfbAliasPrefix(std::string_view network);

}  // namespace bandwidth

#endif  // LINEN_PLUGINS_BANDWIDTH_CONFIG_H_
