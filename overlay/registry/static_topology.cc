#include "overlay/registry/static_topology.h"

#include <map>

#include <nlohmann/json.hpp>

#include "libcni/decode.h"
#include "libcni/sys/file.h"
#include "libcni/types.h"
#include "overlay/registry/lease_validation.h"

namespace linen::overlay {
namespace {

using json = nlohmann::json;

cni::Error InvalidTopology(const std::string& msg) {
  return cni::InvalidConfig("topology: " + msg);
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
    if (vni < 1 || vni > 0xffffff) {
      return InvalidTopology("backend.vni " + std::to_string(vni) + " is outside 1..16777215");
    }
    // Port 0 keeps the kernel default (8472), as in flannel.
    if (port < 0 || port > 65535) {
      return InvalidTopology("backend.port " + std::to_string(port) + " is outside 0..65535");
    }
    if (c.mtu < 0 || (c.mtu > 0 && c.mtu < 576)) {
      return InvalidTopology("backend.mtu " + std::to_string(c.mtu) + " is too small");
    }
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

// One family's "ip"/"subnet" pair of a node ("ip"/"subnet" or "ipv6"/"ipv6Subnet").
cni::Status ParseNodeFamily(const cni::Decoder& n, const std::string& where, cni::Family family,
                            cni::IpAddr* ip_out, cni::IpNet* subnet_out) {
  const bool v4 = family == cni::Family::kV4;
  const char* ip_key = v4 ? "ip" : "ipv6";
  const char* subnet_key = v4 ? "subnet" : "ipv6Subnet";
  std::string ip, subnet;
  if (auto s = n.Get(ip_key, &ip); !s) return s;
  if (auto s = n.Get(subnet_key, &subnet); !s) return s;
  const std::string fam = v4 ? "IPv4" : "IPv6";
  if (ip.empty()) {
    return InvalidTopology(where + ": \"" + ip_key + "\" is missing (the cluster enables " + fam +
                           ")");
  }
  if (subnet.empty()) {
    return InvalidTopology(where + ": \"" + subnet_key + "\" is missing (the cluster enables " +
                           fam + ")");
  }
  auto addr = cni::IpAddr::Parse(ip);
  if (!addr) return InvalidTopology(where + ": \"" + ip_key + "\" " + ip + " is not an IP address");
  if (addr->family() != family) {
    return InvalidTopology(where + ": \"" + ip_key + "\" " + ip + " must be " + fam +
                           (v4 ? " (a node's IPv6 address goes in \"ipv6\")"
                               : " (a node's IPv4 address goes in \"ip\")"));
  }
  auto net = cni::IpNet::Parse(subnet);
  if (!net) return InvalidTopology(where + ": \"" + subnet_key + "\" " + subnet + " is not a CIDR");
  if (net->addr != net->Network()) {
    return InvalidTopology(where + ": " + subnet_key + " " + subnet +
                           " has host bits set; did you mean " + net->Masked().ToString() + "?");
  }
  *ip_out = *addr;
  *subnet_out = *net;
  return cni::OkStatus();
}

cni::Result<NodeLease> ParseNode(const cni::Decoder& n, size_t index, const ClusterConfig& c) {
  std::string where = "nodes[" + std::to_string(index) + "]";
  if (!n.value().is_object()) return n.TypeError("object");
  std::string name;
  if (auto s = n.Get("name", &name); !s) return s.error();
  if (name.empty()) return InvalidTopology(where + ": \"name\" is missing");
  where += " (" + name + ")";
  NodeLease lease;
  lease.name = name;
  // A disabled family's keys are not read (flannel's model: they mean nothing), so
  // a topology can carry IPv6 addresses before the cluster turns IPv6 on.
  if (c.enable_ipv4) {
    if (auto s = ParseNodeFamily(n, where, cni::Family::kV4, &lease.node_ip, &lease.subnet); !s) {
      return s.error();
    }
    lease.vtep_mac = DeriveVtepMac(lease.node_ip);
  }
  if (c.enable_ipv6) {
    if (auto s = ParseNodeFamily(n, where, cni::Family::kV6, &lease.node_ipv6, &lease.ipv6_subnet);
        !s) {
      return s.error();
    }
    lease.vtep_mac_v6 = DeriveVtepMacV6(lease.node_ipv6);
  }
  return lease;
}

cni::Status Validate(const StaticTopology& t) {
  const ClusterConfig& c = t.config;
  if (t.nodes.empty()) return InvalidTopology("\"nodes\" is empty");
  std::map<std::string, const NodeLease*> by_name;
  std::map<cni::IpAddr, const NodeLease*> by_ip;
  std::map<std::string, const NodeLease*> by_mac_v6;
  for (const NodeLease& n : t.nodes) {
    if (auto [it, fresh] = by_name.emplace(n.name, &n); !fresh) {
      return InvalidTopology("duplicate node name \"" + n.name + "\"");
    }
    for (const cni::IpAddr* ip : {&n.node_ip, &n.node_ipv6}) {
      if (IsUnset(*ip)) continue;
      if (auto [it, fresh] = by_ip.emplace(*ip, &n); !fresh) {
        return InvalidTopology("nodes \"" + it->second->name + "\" and \"" + n.name +
                               "\" have the same node IP " + ip->ToString());
      }
    }
    // The IPv6 VTEP MAC keeps only the last four bytes of the address.
    if (!n.vtep_mac_v6.empty()) {
      if (auto [it, fresh] = by_mac_v6.emplace(n.vtep_mac_v6, &n); !fresh) {
        return InvalidTopology("nodes \"" + it->second->name + "\" and \"" + n.name +
                               "\" have IPv6 addresses ending in the same four bytes (" +
                               it->second->node_ipv6.ToString() + ", " + n.node_ipv6.ToString() +
                               "): their derived IPv6 VTEP MACs " + n.vtep_mac_v6 +
                               " would collide");
      }
    }
  }
  // The same rules as for etcd leases (lease_validation.h), applied to the whole
  // file: an operator's own file with a bad node is refused, never half-applied.
  // Order is the position in the file, so of two overlapping nodes the later one is
  // named.
  std::vector<LeaseCandidate> candidates;
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const NodeLease& n = t.nodes[i];
    std::string shown = n.name;
    if (c.enable_ipv4) shown += " " + n.node_ip.ToString() + " " + n.subnet.ToString();
    if (c.enable_ipv6) shown += " " + n.node_ipv6.ToString() + " " + n.ipv6_subnet.ToString();
    candidates.push_back({"\"" + n.name + "\"", shown, static_cast<int64_t>(i), n, "", ""});
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
    return InvalidTopology("node " + first->key + " rejected (" + RejectReasonName(first->reason) +
                           "): " + first->detail);
  }
  return cni::OkStatus();
}

}  // namespace

int DefaultSubnetLen(int network_prefix) {
  return network_prefix <= 22 ? 24 : network_prefix + 2;
}

int DefaultIpv6SubnetLen(int network_prefix) {
  return network_prefix <= 62 ? 64 : network_prefix + 2;
}

namespace {

// One family's "network"/"subnetLen" ("ipv6Network"/"ipv6SubnetLen").
cni::Status ParseClusterFamily(const cni::Decoder& d, cni::Family family, cni::IpNet* network,
                               int* subnet_len) {
  const bool v4 = family == cni::Family::kV4;
  const char* net_key = v4 ? "network" : "ipv6Network";
  const char* len_key = v4 ? "subnetLen" : "ipv6SubnetLen";
  std::string text;
  if (auto s = d.Get(net_key, &text); !s) return s;
  if (text.empty()) {
    return InvalidTopology(std::string("\"") + net_key + "\" is missing" +
                           (v4 ? " (for an IPv6-only cluster set \"enableIPv4\": false)"
                               : " (\"enableIPv6\" is true)"));
  }
  auto net = cni::IpNet::Parse(text);
  if (!net) return InvalidTopology(std::string("\"") + net_key + "\" " + text + " is not a CIDR");
  if (net->family() != family) {
    return InvalidTopology(std::string("\"") + net_key + "\" " + text +
                           (v4 ? " must be IPv4 (an IPv6 network goes in \"ipv6Network\" with "
                                 "\"enableIPv6\": true)"
                               : " must be IPv6 (the IPv4 network goes in \"network\")"));
  }
  *network = net->Masked();
  // Each family needs room for at least four subnets of four addresses.
  const int max_prefix = net->addr.bits() - 4;
  if (network->prefix > max_prefix) {
    return InvalidTopology(std::string("\"") + net_key + "\" " + text + " is smaller than a /" +
                           std::to_string(max_prefix));
  }
  *subnet_len = v4 ? DefaultSubnetLen(network->prefix) : DefaultIpv6SubnetLen(network->prefix);
  if (auto s = d.Get(len_key, subnet_len); !s) return s;
  if (*subnet_len < network->prefix || *subnet_len > net->addr.bits() - 2) {
    return InvalidTopology(std::string("\"") + len_key + "\" " + std::to_string(*subnet_len) +
                           " must be between /" + std::to_string(network->prefix) + " and /" +
                           std::to_string(net->addr.bits() - 2));
  }
  return cni::OkStatus();
}

}  // namespace

cni::Result<StaticTopology> ParseTopology(std::string_view json_text) {
  auto parsed = cni::ParseJsonText(json_text, "topology: invalid JSON");
  if (!parsed) return parsed.error();
  const json j = std::move(*parsed);
  const cni::Decoder d(j, "topology");
  if (!j.is_object()) return d.TypeError("object");
  StaticTopology topo;
  ClusterConfig& c = topo.config;
  if (auto s = d.Get("enableIPv4", &c.enable_ipv4); !s) return s.error();
  if (auto s = d.Get("enableIPv6", &c.enable_ipv6); !s) return s.error();
  if (!c.enable_ipv4 && !c.enable_ipv6) {
    return InvalidTopology(
        "\"enableIPv4\" and \"enableIPv6\" are both false: enable at least one family");
  }
  if (c.enable_ipv4) {
    if (auto s = ParseClusterFamily(d, cni::Family::kV4, &c.network, &c.subnet_len); !s) {
      return s.error();
    }
  }
  if (c.enable_ipv6) {
    if (auto s = ParseClusterFamily(d, cni::Family::kV6, &c.ipv6_network, &c.ipv6_subnet_len);
        !s) {
      return s.error();
    }
  }
  if (auto s = ParseBackend(d["backend"], &topo); !s) return s.error();
  if (auto s = d.Get("ipMasq", &topo.config.ip_masq); !s) return s.error();
  const cni::Decoder nodes = d["nodes"];
  if (!nodes.value().is_array()) return nodes.TypeError("list");
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto lease = ParseNode(nodes[i], i, c);
    if (!lease) return lease.error();
    topo.nodes.push_back(std::move(*lease));
  }
  if (auto s = Validate(topo); !s) return s.error();
  return topo;
}

cni::Result<StaticTopology> LoadTopologyFile(const std::string& path) {
  auto text = cni::ReadWholeFile(path);
  if (!text) return text.error().Context("topology");
  auto topo = ParseTopology(*text);
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
    return InvalidTopology("this node (nodeName \"" + *node_name + "\") is not in the topology");
  }
  for (const NodeLease& n : topo.nodes) {
    if (!hostname.empty() && n.name == hostname) return n;
  }
  for (const NodeLease& n : topo.nodes) {
    for (const cni::IpAddr& a : local_addrs) {
      if (IsUnset(a)) continue;
      if (a == n.node_ip || a == n.node_ipv6) return n;
    }
  }
  std::string addrs;
  for (const cni::IpAddr& a : local_addrs) {
    addrs += (addrs.empty() ? "" : ", ") + a.ToString();
  }
  return InvalidTopology("this node is not in the topology: no node is named \"" + hostname +
                         "\" (hostname) and no node IP is among the local addresses [" + addrs +
                         "]; set \"nodeName\" or add this node");
}

bool NeedsLocalAddrs(const StaticTopology& topo, const std::optional<std::string>& node_name,
                     const std::string& hostname) {
  if (node_name && !node_name->empty()) return false;
  for (const NodeLease& n : topo.nodes) {
    if (!hostname.empty() && n.name == hostname) return false;
  }
  return true;
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
