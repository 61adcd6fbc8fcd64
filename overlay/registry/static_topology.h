// A static cluster topology: the cluster settings and every node's name, node IP
// and pod subnet, given as JSON inline in a CNI config or in a file. Every node reads
// the same document and finds itself in it; VTEP MACs are derived from node IPs.
//
// {
//   "enableIPv4": true,                  flannel's EnableIPv4 (default true)
//   "network": "10.244.0.0/16",          required when IPv4 is enabled
//   "subnetLen": 24,                     default: flannel's rule (24, or prefix+2)
//   "enableIPv6": false,                 flannel's EnableIPv6 (default false)
//   "ipv6Network": "fd00:10:244::/56",   required when IPv6 is enabled
//   "ipv6SubnetLen": 64,                 default: flannel's rule (64, or prefix+2)
//   "backend": {"type": "vxlan", "vni": 1, "port": 8472, "directRouting": false,
//               "mtu": 0},               or just "vxlan"; optional. Without "type"
//                                        the plugin type decides. mtu: the underlay
//                                        MTU to assume (0 = the device's), as flannel
//   "ipMasq": true,
//   "nodes": [ {"name": "node1", "ip": "192.168.50.1", "subnet": "10.244.1.0/24",
//               "ipv6": "fd00:50::1", "ipv6Subnet": "fd00:10:244:1::/64"} ]
// }
// Each enabled family needs its pair on every node ("ip"/"subnet" for IPv4,
// "ipv6"/"ipv6Subnet" for IPv6: the node's underlay address and pod subnet); a
// disabled family's keys are not read. IPv6-only: "enableIPv4": false,
// "enableIPv6": true, no "network".
#ifndef LINEN_OVERLAY_REGISTRY_STATIC_TOPOLOGY_H_
#define LINEN_OVERLAY_REGISTRY_STATIC_TOPOLOGY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "overlay/registry/registry.h"

namespace linen::overlay {

struct StaticTopology {
  ClusterConfig config;
  bool backend_given = false;    // "backend" present in the document
  std::vector<NodeLease> nodes;  // vtep_mac filled with DeriveVtepMac(node_ip),
                                 // vtep_mac_v6 with DeriveVtepMacV6(node_ipv6)
};

// Parses and validates: JSON syntax/types -> code 6; bad CIDR/IP, a family's network
// missing or of the other family, both families disabled, subnet outside the
// network, wrong subnet length, host bits, overlapping subnets, duplicate names or
// IPs (either family), colliding derived IPv6 VTEP MACs, no nodes -> code 7.
// Messages name the keys and nodes involved.
cni::Result<StaticTopology> ParseTopology(std::string_view json_text);
cni::Result<StaticTopology> LoadTopologyFile(const std::string& path);  // + I/O code 5

// flannel's default subnet length for a cluster network prefix (24 if <= /22, else
// prefix + 2), and for an IPv6 network (64 if <= /62, else prefix + 2; flannel's
// pkg/subnet/config.go CheckNetworkConfig).
int DefaultSubnetLen(int network_prefix);
int DefaultIpv6SubnetLen(int network_prefix);

// Finds this node: by `node_name` when given (must exist), else by `hostname`, else
// by a node IP (IPv4 or IPv6) among `local_addrs` (the addresses of the node
// namespace). Code 7 with
// the names and addresses tried when nothing matches.
cni::Result<NodeLease> FindSelf(const StaticTopology& topo,
                                const std::optional<std::string>& node_name,
                                const std::string& hostname,
                                const std::vector<cni::IpAddr>& local_addrs);

// Whether FindSelf needs the node's addresses: neither `node_name` nor `hostname`
// names a node of the topology. Listing them is a dump, skipped when a name decides.
bool NeedsLocalAddrs(const StaticTopology& topo, const std::optional<std::string>& node_name,
                     const std::string& hostname);

// Every node but `self`.
std::vector<NodeLease> PeersOf(const StaticTopology& topo, const NodeLease& self);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_REGISTRY_STATIC_TOPOLOGY_H_
