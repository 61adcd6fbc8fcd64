#include "overlay/registry/etcd/lease_codec.h"

#include <nlohmann/json.hpp>

#include "libcni/decode.h"
#include "libcni/types.h"
#include "overlay/registry/static_topology.h"

namespace linen::etcd {
namespace {

using nlohmann::json;

cni::Error Invalid(const std::string& msg) {
  return cni::Error(cni::Code::kInvalidNetworkConfig, msg);
}

// One family's allocation settings as flannel's config names them.
struct FamilyKeys {
  cni::Family family;
  const char* network;     // "Network" / "IPv6Network"
  const char* subnet_len;  // "SubnetLen" / "IPv6SubnetLen"
  const char* min;         // "SubnetMin" / "IPv6SubnetMin"
  const char* max;         // "SubnetMax" / "IPv6SubnetMax"
};
constexpr FamilyKeys kV4Keys{cni::Family::kV4, "Network", "SubnetLen", "SubnetMin", "SubnetMax"};
constexpr FamilyKeys kV6Keys{cni::Family::kV6, "IPv6Network", "IPv6SubnetLen", "IPv6SubnetMin",
                             "IPv6SubnetMax"};

// flannel's CheckNetworkConfig for one family: default subnet length (24 up to a
// /22, 64 up to a /62, else prefix + 2), the first subnet skipped, min/max aligned.
cni::Status DecodeFamily(const cni::Decoder& d, const FamilyKeys& k, cni::IpNet* network,
                         int* subnet_len, cni::IpAddr* min, cni::IpAddr* max) {
  const bool v4 = k.family == cni::Family::kV4;
  auto text = d.Optional<std::string>(k.network);
  if (!text) return text.error();
  if (!*text) {
    return Invalid(std::string(k.network) + " is missing" +
                   (v4 ? " (for an IPv6-only network set EnableIPv4 to false)"
                       : " (EnableIPv6 is true)"));
  }
  auto net = cni::ParseCidrField(k.network, **text);
  if (!net) return net.error();
  if (net->family() != k.family) {
    return Invalid(std::string(k.network) + " " + **text +
                   (v4 ? " is not IPv4 (an IPv6 network goes in IPv6Network, with EnableIPv6)"
                       : " is not IPv6 (the IPv4 network goes in Network)"));
  }
  *network = net->Masked();
  const int bits = network->addr.bits();
  // At least four subnets of four addresses (flannel: /28, /124).
  if (network->prefix > bits - 4) {
    return Invalid(std::string(k.network) + " " + network->ToString() + " is smaller than /" +
                   std::to_string(bits - 4));
  }
  uint8_t len = 0;
  if (auto st = d.Get(k.subnet_len, &len); !st) return st;
  if (len != 0) {
    *subnet_len = len;
  } else {
    *subnet_len = v4 ? overlay::DefaultSubnetLen(network->prefix)
                     : overlay::DefaultIpv6SubnetLen(network->prefix);
  }
  if (*subnet_len <= network->prefix || *subnet_len > bits - 2) {
    return Invalid(std::string(k.subnet_len) + " " + std::to_string(*subnet_len) +
                   " does not fit " + k.network + " " + network->ToString() + " (must be in /" +
                   std::to_string(network->prefix + 1) + "../" + std::to_string(bits - 2) + ")");
  }
  const unsigned __int128 step = static_cast<unsigned __int128>(1) << (bits - *subnet_len);
  *min = network->addr.Add(static_cast<__int128>(step));
  *max = cni::IpNet{network->Broadcast(), *subnet_len}.Network();
  for (const char* key : {k.min, k.max}) {
    auto t = d.Optional<std::string>(key);
    if (!t) return t.error();
    if (!*t) continue;
    auto a = cni::ParseIpField(key, **t);
    if (!a) return a.error();
    if (!network->Contains(*a) || cni::IpNet{*a, *subnet_len}.Network() != *a) {
      return Invalid(std::string(key) + " " + a->ToString() + " is not a /" +
                     std::to_string(*subnet_len) + " subnet of " + network->ToString());
    }
    (key == k.min ? *min : *max) = *a;
  }
  if (*max < *min) return Invalid(std::string(k.max) + " is below " + k.min);
  return cni::OkStatus();
}

// The fields of flannel's network config; errors name the key, for the caller to
// put in context.
cni::Result<NetworkConfig> DecodeNetworkConfig(const cni::Decoder& d) {
  NetworkConfig out;
  overlay::ClusterConfig& c = out.cluster;
  if (auto st = d.Get("EnableIPv4", &c.enable_ipv4); !st) return st.error();
  if (auto st = d.Get("EnableIPv6", &c.enable_ipv6); !st) return st.error();
  if (!c.enable_ipv4 && !c.enable_ipv6) {
    return Invalid("EnableIPv4 and EnableIPv6 are both false: enable at least one family");
  }
  // A disabled family's keys are not read, as in flannel.
  if (c.enable_ipv4) {
    if (auto st = DecodeFamily(d, kV4Keys, &c.network, &c.subnet_len, &out.subnet_min,
                               &out.subnet_max);
        !st) {
      return st.error();
    }
  }
  if (c.enable_ipv6) {
    if (auto st = DecodeFamily(d, kV6Keys, &c.ipv6_network, &c.ipv6_subnet_len,
                               &out.ipv6_subnet_min, &out.ipv6_subnet_max);
        !st) {
      return st.error();
    }
  }
  if (auto st = d.Get("IPMasq", &c.ip_masq); !st) return st.error();
  if (const cni::Decoder b = d["Backend"]; b.IsSet()) {
    if (auto st = b.ObjectOrUnset(); !st) return st.error();
    auto type = b.Optional<std::string>("Type");
    if (!type) return type.error();
    if (*type) {
      auto t = overlay::ParseBackendName(**type);
      if (!t) return t.error().Context("Backend.Type");
      c.backend = *t;
    }
    uint16_t port = 0, mtu = static_cast<uint16_t>(c.mtu);
    if (auto st = b.Get("VNI", &c.vni); !st) return st.error();
    if (auto st = b.Get("Port", &port); !st) return st.error();
    if (auto st = b.Get("MTU", &mtu); !st) return st.error();
    if (port != 0) c.port = port;
    c.mtu = mtu;
    if (auto st = b.Get("DirectRouting", &c.direct_routing); !st) return st.error();
  }
  if (c.vni == 0 || c.vni > 0xffffff) return Invalid("Backend.VNI must be 1..16777215");
  return out;
}

}  // namespace

cni::Result<NetworkConfig> ParseNetworkConfig(const std::string& json_text) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("etcd network config: not JSON: ") + e.what());
  }
  if (!j.is_object()) return Invalid("etcd network config: not a JSON object");
  auto out = DecodeNetworkConfig(cni::Decoder(j));
  if (!out) return out.error().Context("etcd network config");
  return out;
}

std::string NetworkConfigToJson(const overlay::ClusterConfig& c) {
  json b = {{"Type", overlay::BackendName(c.backend)}};
  if (c.backend == overlay::BackendType::kVxlan) {
    b["VNI"] = c.vni;
    b["Port"] = c.port;
  }
  if (c.direct_routing) b["DirectRouting"] = true;
  if (c.mtu != 0) b["MTU"] = c.mtu;
  json j = {{"Backend", b}, {"IPMasq", c.ip_masq}};
  if (c.enable_ipv4) {
    j["Network"] = c.network.Masked().ToString();
    j["SubnetLen"] = c.subnet_len;
  } else {
    j["EnableIPv4"] = false;
  }
  if (c.enable_ipv6) {
    j["EnableIPv6"] = true;
    j["IPv6Network"] = c.ipv6_network.Masked().ToString();
    j["IPv6SubnetLen"] = c.ipv6_subnet_len;
  }
  return j.dump();
}

std::string ConfigKey(const std::string& prefix) { return prefix + "/config"; }
std::string SubnetsPrefix(const std::string& prefix) { return prefix + "/subnets/"; }

namespace {

// flannel's ip.IP4Net/IP6Net StringSep(.., "-"): the address as Go prints it, '-',
// the prefix length.
std::string KeyPart(const cni::IpNet& n) {
  return n.Network().ToString() + "-" + std::to_string(n.prefix);
}

// "<address>-<len>" of the given family, in network-address form.
std::optional<cni::IpNet> ParseKeyPart(std::string_view part, cni::Family family) {
  auto dash = part.rfind('-');
  if (dash == std::string::npos) return std::nullopt;
  std::string cidr(part);
  cidr[dash] = '/';
  auto net = cni::IpNet::Parse(cidr);
  if (!net || net->family() != family || net->Network() != net->addr) return std::nullopt;
  // Parse also reads "::ffff:a.b.c.d" as IPv4; a key is written one way only.
  if (net->addr.ToString() != part.substr(0, dash)) return std::nullopt;
  return net;
}

}  // namespace

std::string SubnetKey(const std::string& prefix, const cni::IpNet& subnet,
                      const cni::IpNet& ipv6_subnet) {
  // flannel's MakeSubnetKey; an IPv6-only lease has the empty IPv4 net 0.0.0.0-0.
  std::string key = SubnetsPrefix(prefix) + (overlay::IsUnset(subnet) ? "0.0.0.0-0" : KeyPart(subnet));
  if (!overlay::IsUnset(ipv6_subnet)) key += "&" + KeyPart(ipv6_subnet);
  return key;
}

std::string SubnetKey(const std::string& prefix, const overlay::NodeLease& lease) {
  return SubnetKey(prefix, lease.subnet, lease.ipv6_subnet);
}

std::optional<KeySubnets> SubnetsFromKey(const std::string& prefix, const std::string& key) {
  const std::string sp = SubnetsPrefix(prefix);
  if (key.compare(0, sp.size(), sp) != 0) return std::nullopt;
  const std::string_view rest = std::string_view(key).substr(sp.size());
  const auto amp = rest.find('&');
  KeySubnets out;
  auto v4 = ParseKeyPart(rest.substr(0, amp), cni::Family::kV4);
  if (!v4) return std::nullopt;
  if (!overlay::IsUnset(*v4)) out.subnet = *v4;
  if (amp != std::string_view::npos) {
    auto v6 = ParseKeyPart(rest.substr(amp + 1), cni::Family::kV6);
    if (!v6 || overlay::IsUnset(*v6)) return std::nullopt;
    out.ipv6_subnet = *v6;
  }
  // 0.0.0.0-0 alone names nothing.
  if (overlay::IsUnset(out.subnet) && overlay::IsUnset(out.ipv6_subnet)) return std::nullopt;
  return out;
}

std::string LeaseToJson(const overlay::NodeLease& lease, const overlay::ClusterConfig& cfg) {
  // flannel's lease.LeaseAttrs: PublicIP is always there ("0.0.0.0" when IPv4 is
  // off), PublicIPv6 is null unless IPv6 is on, the Backend*Data per family.
  const bool vxlan = cfg.backend == overlay::BackendType::kVxlan;
  json j = {{"PublicIP", cfg.enable_ipv4 ? lease.node_ip.ToString() : std::string("0.0.0.0")},
            {"PublicIPv6", nullptr},
            {"BackendType", overlay::BackendName(cfg.backend)},
            {"NodeName", lease.name}};
  if (cfg.enable_ipv4) {
    j["BackendData"] = vxlan ? json{{"VNI", cfg.vni}, {"VtepMAC", lease.vtep_mac}} : json(nullptr);
  }
  if (cfg.enable_ipv6) {
    j["PublicIPv6"] = lease.node_ipv6.ToString();
    if (vxlan) j["BackendV6Data"] = {{"VNI", cfg.vni}, {"VtepMAC", lease.vtep_mac_v6}};
  }
  return j.dump();
}

namespace {

// PublicIP / PublicIPv6: absent, null and the unspecified address all mean "none"
// (flannel writes "0.0.0.0" and null for a family it does not run).
cni::Status DecodePublicIp(const cni::Decoder& d, const char* key, cni::IpAddr* out) {
  auto text = d.Optional<std::string>(key);
  if (!text) return text.error();
  if (!*text) return cni::OkStatus();
  auto ip = cni::ParseIpField(key, **text);
  if (!ip) return ip.error();
  *out = *ip;
  return cni::OkStatus();
}

// BackendData / BackendV6Data: null for host-gw; vxlan's object carries the MAC.
cni::Status DecodeVtepMac(const cni::Decoder& d, const char* key, std::string* out) {
  if (const cni::Decoder bd = d[key]; bd.value().is_object()) return bd.Get("VtepMAC", out);
  return cni::OkStatus();
}

}  // namespace

cni::Result<overlay::NodeLease> LeaseFromKv(const std::string& prefix, const std::string& key,
                                            const std::string& value,
                                            std::string* backend_type) {
  auto subnets = SubnetsFromKey(prefix, key);
  if (!subnets) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd key " + key + " is not a subnet key");
  }
  json j;
  try {
    j = json::parse(value);
  } catch (const json::exception& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      "etcd lease " + key + ": not a lease: " + e.what());
  }
  if (!j.is_object()) {
    return cni::Error(cni::Code::kDecodingFailure, "etcd lease " + key + ": not a JSON object");
  }
  const cni::Decoder d(j);
  overlay::NodeLease out;
  out.subnet = subnets->subnet;
  out.ipv6_subnet = subnets->ipv6_subnet;
  std::string type;
  for (cni::Status st : {DecodePublicIp(d, "PublicIP", &out.node_ip),
                         DecodePublicIp(d, "PublicIPv6", &out.node_ipv6),
                         d.Get("NodeName", &out.name), d.Get("BackendType", &type),
                         DecodeVtepMac(d, "BackendData", &out.vtep_mac),
                         DecodeVtepMac(d, "BackendV6Data", &out.vtep_mac_v6)}) {
    if (!st) return st.error().Context("etcd lease " + key);
  }
  if (backend_type != nullptr) *backend_type = type;
  return out;
}

overlay::LeaseCandidate CandidateFromKv(const std::string& prefix, const std::string& key,
                                        const std::string& value, int64_t create_revision) {
  overlay::LeaseCandidate c;
  c.key = key;
  c.value = value;
  c.order = create_revision;
  auto l = LeaseFromKv(prefix, key, value, &c.backend_type);
  if (l) {
    c.lease = *std::move(l);
  } else {
    c.decode_error = l.error().msg();
  }
  return c;
}

}  // namespace linen::etcd
