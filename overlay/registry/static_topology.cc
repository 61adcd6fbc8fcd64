#include "overlay/registry/static_topology.h"

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "libcni/decode.h"
#include "libcni/types.h"
#include "overlay/registry/lease_validation.h"

namespace linen::overlay {
namespace {

using json = nlohmann::json;

cni::Error Invalid(const std::string& msg) {
  return cni::Error(cni::Code::kInvalidNetworkConfig, "topology: " + msg);
}

cni::Status ParseBackend(const cni::Decoder& b, StaticTopology* topo) {
  if (!b.IsSet()) return cni::OkStatus();
  topo->backend_given = true;
  ClusterConfig& c = topo->config;
  std::string type;
  if (b.value().is_string()) {
    type = b.value().get<std::string>();
  } else if (b.value().is_object()) {
    if (auto s = b.Get("type", &type); !s) return s;
    int64_t vni = c.vni, port = c.port;
    if (auto s = b.Get("vni", &vni); !s) return s;
    if (auto s = b.Get("port", &port); !s) return s;
    if (auto s = b.Get("directRouting", &c.direct_routing); !s) return s;
    if (auto s = b.Get("mtu", &c.mtu); !s) return s;
    if (vni < 1 || vni > 0xffffff) return Invalid("backend.vni " + std::to_string(vni) + " is outside 1..16777215");
    // Port 0 keeps the kernel default (8472), as in flannel.
    if (port < 0 || port > 65535) return Invalid("backend.port " + std::to_string(port) + " is outside 0..65535");
    if (c.mtu < 0 || (c.mtu > 0 && c.mtu < 576)) return Invalid("backend.mtu " + std::to_string(c.mtu) + " is too small");
    c.vni = static_cast<uint32_t>(vni);
    c.port = static_cast<uint16_t>(port == 0 ? 8472 : port);
  } else {
    return b.TypeError("string or object");
  }
  // An object without "type" tunes VXLAN settings but leaves the choice to the
  // plugin type, so one topology serves both host-gw and vxlan configs.
  if (type.empty()) {
    topo->backend_given = false;
    return cni::OkStatus();
  }
  auto bt = ParseBackendName(type);
  if (!bt) return bt.error().Context("topology");
  c.backend = *bt;
  return cni::OkStatus();
}

cni::Result<NodeLease> ParseNode(const cni::Decoder& n, size_t index) {
  std::string where = "nodes[" + std::to_string(index) + "]";
  if (!n.value().is_object()) return n.TypeError("object");
  std::string name, ip, subnet;
  if (auto s = n.Get("name", &name); !s) return s.error();
  if (auto s = n.Get("ip", &ip); !s) return s.error();
  if (auto s = n.Get("subnet", &subnet); !s) return s.error();
  if (name.empty()) return Invalid(where + ": \"name\" is missing");
  where += " (" + name + ")";
  if (ip.empty()) return Invalid(where + ": \"ip\" is missing");
  if (subnet.empty()) return Invalid(where + ": \"subnet\" is missing");
  NodeLease lease;
  lease.name = name;
  auto addr = cni::IpAddr::Parse(ip);
  if (!addr) return Invalid(where + ": \"ip\" " + ip + " is not an IP address");
  if (!addr->is_v4()) return Invalid(where + ": node IP " + ip + " must be IPv4 (IPv6 underlays are not supported yet)");
  lease.node_ip = *addr;
  auto net = cni::IpNet::Parse(subnet);
  if (!net) return Invalid(where + ": \"subnet\" " + subnet + " is not a CIDR");
  if (net->addr != net->Network()) {
    return Invalid(where + ": subnet " + subnet + " has host bits set; did you mean " +
                   net->Masked().ToString() + "?");
  }
  lease.subnet = *net;
  lease.vtep_mac = DeriveVtepMac(lease.node_ip);
  return lease;
}

cni::Status Validate(const StaticTopology& t) {
  const ClusterConfig& c = t.config;
  if (t.nodes.empty()) return Invalid("\"nodes\" is empty");
  std::map<std::string, const NodeLease*> by_name;
  std::map<cni::IpAddr, const NodeLease*> by_ip;
  for (const NodeLease& n : t.nodes) {
    if (auto [it, fresh] = by_name.emplace(n.name, &n); !fresh) {
      return Invalid("duplicate node name \"" + n.name + "\"");
    }
    if (auto [it, fresh] = by_ip.emplace(n.node_ip, &n); !fresh) {
      return Invalid("nodes \"" + it->second->name + "\" and \"" + n.name +
                     "\" have the same node IP " + n.node_ip.ToString());
    }
  }
  // The same rules as for etcd leases (lease_validation.h), applied to the whole
  // file: an operator's own file with a bad node is refused, never half-applied.
  // Order is the position in the file, so of two overlapping nodes the later one is
  // named.
  std::vector<LeaseCandidate> candidates;
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const NodeLease& n = t.nodes[i];
    candidates.push_back({"\"" + n.name + "\"",
                          n.name + " " + n.node_ip.ToString() + " " + n.subnet.ToString(),
                          static_cast<int64_t>(i), n, "", ""});
  }
  auto verdict = ValidateLeases(c, SelfView{}, candidates);
  if (!verdict.rejected.empty()) {
    // The first bad node in file order, so the message is stable.
    const RejectedLease* first = &verdict.rejected.front();
    auto pos = [&](const RejectedLease& r) {
      for (size_t i = 0; i < candidates.size(); ++i) {
        if (candidates[i].key == r.key) return i;
      }
      return candidates.size();
    };
    for (const RejectedLease& r : verdict.rejected) {
      if (pos(r) < pos(*first)) first = &r;
    }
    return Invalid("node " + first->key + " rejected (" + RejectReasonName(first->reason) +
                   "): " + first->detail);
  }
  return cni::OkStatus();
}

}  // namespace

int DefaultSubnetLen(int network_prefix) {
  return network_prefix <= 22 ? 24 : network_prefix + 2;
}

cni::Result<StaticTopology> ParseTopology(std::string_view json_text) {
  auto parsed = cni::ParseJsonText(json_text, "topology: invalid JSON");
  if (!parsed) return parsed.error();
  const json j = std::move(*parsed);
  const cni::Decoder d(j, "topology");
  if (!j.is_object()) return d.TypeError("object");
  StaticTopology topo;
  std::string network;
  if (auto s = d.Get("network", &network); !s) return s.error();
  if (network.empty()) return Invalid("\"network\" is missing");
  auto net = cni::IpNet::Parse(network);
  if (!net) return Invalid("\"network\" " + network + " is not a CIDR");
  if (net->family() != cni::Family::kV4) return Invalid("\"network\" must be IPv4");
  topo.config.network = net->Masked();
  if (topo.config.network.prefix > 28) {
    return Invalid("\"network\" " + network + " is smaller than a /28");
  }
  topo.config.subnet_len = DefaultSubnetLen(topo.config.network.prefix);
  if (auto s = d.Get("subnetLen", &topo.config.subnet_len); !s) return s.error();
  if (topo.config.subnet_len < topo.config.network.prefix || topo.config.subnet_len > 30) {
    return Invalid("\"subnetLen\" " + std::to_string(topo.config.subnet_len) + " must be between /" +
                   std::to_string(topo.config.network.prefix) + " and /30");
  }
  if (auto s = ParseBackend(d["backend"], &topo); !s) return s.error();
  if (auto s = d.Get("ipMasq", &topo.config.ip_masq); !s) return s.error();
  const cni::Decoder nodes = d["nodes"];
  if (!nodes.value().is_array()) return nodes.TypeError("list");
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto lease = ParseNode(nodes[i], i);
    if (!lease) return lease.error();
    topo.nodes.push_back(std::move(*lease));
  }
  if (auto s = Validate(topo); !s) return s.error();
  return topo;
}

cni::Result<StaticTopology> LoadTopologyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return cni::ErrnoError("read topology " + path, errno);
  std::stringstream ss;
  ss << in.rdbuf();
  auto topo = ParseTopology(ss.str());
  if (!topo) return topo.error().Context(path);
  return topo;
}

cni::Result<NodeLease> FindSelf(const StaticTopology& topo,
                                const std::optional<std::string>& node_name,
                                const std::string& hostname,
                                const std::vector<cni::IpAddr>& local_addrs) {
  if (node_name && !node_name->empty()) {
    for (const NodeLease& n : topo.nodes) {
      if (n.name == *node_name) return n;
    }
    return Invalid("this node (nodeName \"" + *node_name + "\") is not in the topology");
  }
  for (const NodeLease& n : topo.nodes) {
    if (!hostname.empty() && n.name == hostname) return n;
  }
  for (const NodeLease& n : topo.nodes) {
    for (const cni::IpAddr& a : local_addrs) {
      if (a == n.node_ip) return n;
    }
  }
  std::string addrs;
  for (const cni::IpAddr& a : local_addrs) {
    addrs += (addrs.empty() ? "" : ", ") + a.ToString();
  }
  return Invalid("this node is not in the topology: no node is named \"" + hostname +
                 "\" (hostname) and no node IP is among the local addresses [" + addrs +
                 "]; set \"nodeName\" or add this node");
}

std::vector<NodeLease> PeersOf(const StaticTopology& topo, const NodeLease& self) {
  std::vector<NodeLease> peers;
  peers.reserve(topo.nodes.size());
  for (const NodeLease& n : topo.nodes) {
    if (n.name != self.name) peers.push_back(n);
  }
  return peers;
}

}  // namespace linen::overlay
