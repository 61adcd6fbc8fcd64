#include "overlay/registry/etcd/lease_codec.h"

#include <nlohmann/json.hpp>

#include "libcni/decode.h"
#include "libcni/types.h"

namespace linen::etcd {

using nlohmann::json;

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
