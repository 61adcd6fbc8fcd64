// A static cluster topology: the cluster settings and every node's name, node IP
// and pod subnet, given as JSON inline in a CNI config or in a file. Every node reads
// the same document and finds itself in it; VTEP MACs are derived from node IPs.
//
// {
//   "network": "10.244.0.0/16",          required
//   "subnetLen": 24,                     default: flannel's rule (24, or prefix+2)
//   "backend": {"type": "vxlan", "vni": 1, "port": 8472, "directRouting": false,
//               "mtu": 0},               or just "vxlan"; optional. Without "type"
//                                        the plugin type decides. mtu: the underlay
//                                        MTU to assume (0 = the device's), as flannel
//   "ipMasq": true,
//   "nodes": [ {"name": "node1", "ip": "192.168.50.1", "subnet": "10.244.1.0/24"} ]
// }
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
  std::vector<NodeLease> nodes;  // vtep_mac filled with DeriveVtepMac(node_ip)
};

// Parses and validates: JSON syntax/types -> code 6; bad CIDR/IP, subnet outside the
// network, wrong subnet length, host bits, overlapping subnets, duplicate names or
// IPs, no nodes -> code 7. Messages name the nodes involved.
cni::Result<StaticTopology> ParseTopology(std::string_view json_text);
cni::Result<StaticTopology> LoadTopologyFile(const std::string& path);  // + I/O code 5

// flannel's default subnet length for a cluster network prefix (24 if <= /22, else
// prefix + 2).
int DefaultSubnetLen(int network_prefix);

// Finds this node: by `node_name` when given (must exist), else by `hostname`, else
// by a node IP among `local_addrs` (the addresses of the node namespace). Code 7 with
// the names and addresses tried when nothing matches.
cni::Result<NodeLease> FindSelf(const StaticTopology& topo,
                                const std::optional<std::string>& node_name,
                                const std::string& hostname,
                                const std::vector<cni::IpAddr>& local_addrs);

// Every node but `self`.
std::vector<NodeLease> PeersOf(const StaticTopology& topo, const NodeLease& self);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_REGISTRY_STATIC_TOPOLOGY_H_
