// The portmap plugin's configuration: the reference's keys (snat, markMasqBit,
// externalSetMarkChain, conditionsV4/V6, backend) and the `portMappings`
// capability from runtimeConfig, plus the pod's addresses from prevResult.
#ifndef LINEN_PLUGINS_PORTMAP_CONFIG_H_
#define LINEN_PLUGINS_PORTMAP_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/types.h"

namespace portmap {

struct PortMapping {
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  uint8_t proto = 0;       // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP
  std::string proto_name;  // "tcp", "udp", "sctp"
  std::optional<cni::IpAddr> host_ip;  // unset, or "0.0.0.0"/"::" only narrow the family
  std::optional<cni::Family> family;   // set when hostIP names one family
};

struct PortmapConf {
  cni::NetConf net;
  bool snat = true;
  std::optional<int> mark_masq_bit;
  std::string external_set_mark_chain;
  std::string backend;  // "", "nftables" or "iptables" (linen programs nftables either way)
  std::vector<PortMapping> mappings;
};

// Every key's type and range: JSON type errors -> code 6, values out of range,
// unknown protocols or backends, markMasqBit with externalSetMarkChain, and
// non-empty conditionsV4/V6 (iptables match text linen cannot apply) -> code 7.
// DEL/GC/STATUS pass `with_mappings` false: a DEL must clean up whatever the
// mappings say.
cni::Result<PortmapConf> ParsePortmapConf(const cni::NetConf& net, bool with_mappings);

// The pod's first IPv4 and first IPv6 address from prevResult (code 7 without one).
struct PodAddrs {
  std::optional<cni::IpAddr> v4, v6;
};
cni::Result<PodAddrs> PodAddrsFromPrevResult(const cni::NetConf& net);

}  // namespace portmap

#endif  // LINEN_PLUGINS_PORTMAP_CONFIG_H_
