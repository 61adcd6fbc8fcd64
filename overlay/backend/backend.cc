#include "overlay/backend/backend.h"

#include "overlay/backend/host_gw.h"
#include "overlay/backend/vxlan.h"

namespace linen::overlay {

std::unique_ptr<Backend> NewBackend(cni::nl::Handle& handle, const LocalNode& node,
                                    LogSink log) {
  switch (node.cluster.backend) {
    case BackendType::kHostGw:
      return NewHostGwBackend(handle, node);
    case BackendType::kVxlan:
      return NewVxlanBackend(handle, node, std::move(log));
  }
  return nullptr;
}

std::string VxlanDeviceName(uint32_t vni) { return "linen." + std::to_string(vni); }
std::string VxlanV6DeviceName(uint32_t vni) { return "linen-v6." + std::to_string(vni); }

std::vector<cni::Family> EnabledFamilies(const ClusterConfig& c) {
  std::vector<cni::Family> out;
  if (c.enable_ipv4) out.push_back(cni::Family::kV4);
  if (c.enable_ipv6) out.push_back(cni::Family::kV6);
  return out;
}

const cni::IpNet& ClusterNetwork(const ClusterConfig& c, cni::Family f) {
  return f == cni::Family::kV4 ? c.network : c.ipv6_network;
}

std::vector<cni::IpNet> ClusterNetworks(const ClusterConfig& c) {
  std::vector<cni::IpNet> out;
  for (cni::Family f : EnabledFamilies(c)) out.push_back(ClusterNetwork(c, f));
  return out;
}

cni::Result<std::vector<cni::IpAddr>> NodeAddrs(const LocalNode& node) {
  std::vector<cni::IpAddr> out;
  for (cni::Family f : EnabledFamilies(node.cluster)) {
    const bool v4 = f == cni::Family::kV4;
    const cni::IpAddr& ip = v4 ? node.self.node_ip : node.self.node_ipv6;
    if (ip.family() != f || ip.IsUnspecified()) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        std::string("the cluster enables ") + (v4 ? "IPv4" : "IPv6") +
                            " but node \"" + node.self.name + "\" has no " +
                            (v4 ? "IPv4" : "IPv6") + " address on the underlay");
    }
    out.push_back(ip);
  }
  if (out.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "the cluster enables neither IPv4 nor IPv6");
  }
  return out;
}

std::optional<FamilyLease> InFamily(const NodeLease& l, cni::Family f) {
  const bool v4 = f == cni::Family::kV4;
  const cni::IpNet& subnet = v4 ? l.subnet : l.ipv6_subnet;
  // An unset subnet is 0.0.0.0/0: no lease in a family has a zero-length prefix.
  if (subnet.family() != f || subnet.prefix == 0) return std::nullopt;
  return FamilyLease{v4 ? l.node_ip : l.node_ipv6, subnet.Masked(),
                     v4 ? l.vtep_mac : l.vtep_mac_v6};
}

std::string_view PeerFailureName(PeerFailureReason r) {
  switch (r) {
    case PeerFailureReason::kForeignRoute: return "foreign_route";
    case PeerFailureReason::kNotOnLink: return "not_on_link";
    case PeerFailureReason::kNoVtepMac: return "no_vtep_mac";
    case PeerFailureReason::kKernelRefused: return "kernel_refused";
    case PeerFailureReason::kDeleteRefused: return "delete_refused";
  }
  return "unknown";
}

cni::Status FailuresAsError(const std::vector<PeerFailure>& failures) {
  if (failures.empty()) return cni::OkStatus();
  const PeerFailure& f = failures.front();
  std::string msg = f.detail;
  if (failures.size() > 1) {
    msg += " (and " + std::to_string(failures.size() - 1) + " more peer failure" +
           (failures.size() > 2 ? "s" : "") + ")";
  }
  return cni::Error(f.code, msg);
}

}  // namespace linen::overlay
