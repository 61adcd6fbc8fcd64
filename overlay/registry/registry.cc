#include "overlay/registry/registry.h"

#include <cstdio>

namespace linen::overlay {

const char* BackendName(BackendType t) {
  switch (t) {
    case BackendType::kHostGw:
      return "host-gw";
    case BackendType::kVxlan:
      return "vxlan";
  }
  return "unknown";
}

cni::Result<BackendType> ParseBackendName(std::string_view name) {
  if (name == "host-gw") return BackendType::kHostGw;
  if (name == "vxlan") return BackendType::kVxlan;
  return cni::Error(cni::Code::kInvalidNetworkConfig,
                    "unknown backend type \"" + std::string(name) +
                        "\": expected \"host-gw\" or \"vxlan\"");
}

const char* RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kUndecodable: return "undecodable";
    case RejectReason::kOutsideNetwork: return "outside_network";
    case RejectReason::kOverlapsSelf: return "overlaps_self";
    case RejectReason::kWrongLength: return "wrong_length";
    case RejectReason::kWrongFamily: return "wrong_family";
    case RejectReason::kOwnIp: return "own_ip";
    case RejectReason::kBadVtepMac: return "bad_vtep_mac";
    case RejectReason::kWrongBackend: return "wrong_backend";
    case RejectReason::kOverlapsPeer: return "overlaps_peer";
  }
  return "unknown";
}

namespace {

std::string VtepMac(uint8_t second, const cni::IpAddr& ip) {
  // 0x0e: locally administered (bit 1) and unicast (bit 0 clear), so it can never
  // collide with a vendor MAC; the node IP makes it unique within the cluster.
  const uint8_t* b = ip.bytes() + (ip.byte_len() - 4);
  char buf[18];
  std::snprintf(buf, sizeof(buf), "0e:%02x:%02x:%02x:%02x:%02x", second, b[0], b[1], b[2], b[3]);
  return buf;
}

}  // namespace

std::string DeriveVtepMac(const cni::IpAddr& node_ip) { return VtepMac(0x4c, node_ip); }
std::string DeriveVtepMacV6(const cni::IpAddr& node_ipv6) { return VtepMac(0x6c, node_ipv6); }

}  // namespace linen::overlay
