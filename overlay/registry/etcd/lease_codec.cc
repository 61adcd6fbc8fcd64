#include "overlay/registry/etcd/lease_codec.h"

#include <nlohmann/json.hpp>

#include "libcni/decode.h"
#include "libcni/types.h"

namespace linen::etcd {
namespace {

using nlohmann::json;

cni::Error Invalid(const std::string& msg) {
  return cni::Error(cni::Code::kInvalidNetworkConfig, msg);
}

// The fields of flannel's network config; errors name the key, for the caller to
// put in context.
cni::Result<NetworkConfig> DecodeNetworkConfig(const cni::Decoder& d) {
  NetworkConfig out;
  overlay::ClusterConfig& c = out.cluster;
  auto network = d["Network"].As<std::string>();
  if (!network) return network.error();
  auto net = cni::ParseCidrField("Network", *network);
  if (!net) return net.error();
  c.network = net->Masked();
  const int bits = c.network.addr.bits();
  uint8_t subnet_len = 0;
  if (auto st = d.Get("SubnetLen", &subnet_len); !st) return st.error();
  if (subnet_len != 0) {
    c.subnet_len = subnet_len;
  } else if (c.network.addr.is_v4()) {
    c.subnet_len = c.network.prefix <= 22 ? 24 : c.network.prefix + 2;
  } else {
    c.subnet_len = c.network.prefix <= 62 ? 64 : c.network.prefix + 2;
  }
  if (c.network.addr.is_v4() && c.network.prefix > 28) {
    return Invalid("Network " + c.network.ToString() + " is smaller than /28");
  }
  if (c.subnet_len <= c.network.prefix || c.subnet_len > bits - 2) {
    return Invalid("SubnetLen " + std::to_string(c.subnet_len) + " does not fit Network " +
                   c.network.ToString() + " (must be in /" +
                   std::to_string(c.network.prefix + 1) + "../" + std::to_string(bits - 2) + ")");
  }
  const unsigned __int128 step = static_cast<unsigned __int128>(1) << (bits - c.subnet_len);
  out.subnet_min = c.network.addr.Add(static_cast<__int128>(step));
  out.subnet_max = cni::IpNet{c.network.Broadcast(), c.subnet_len}.Network();
  for (const char* key : {"SubnetMin", "SubnetMax"}) {
    auto text = d.Optional<std::string>(key);
    if (!text) return text.error();
    if (!*text) continue;
    auto a = cni::ParseIpField(key, **text);
    if (!a) return a.error();
    if (!c.network.Contains(*a) || cni::IpNet{*a, c.subnet_len}.Network() != *a) {
      return Invalid(std::string(key) + " " + a->ToString() + " is not a /" +
                     std::to_string(c.subnet_len) + " subnet of " + c.network.ToString());
    }
    (std::string(key) == "SubnetMin" ? out.subnet_min : out.subnet_max) = *a;
  }
  if (out.subnet_max < out.subnet_min) return Invalid("SubnetMax is below SubnetMin");
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
  json j = {{"Network", c.network.Masked().ToString()},
            {"SubnetLen", c.subnet_len},
            {"Backend", b},
            {"IPMasq", c.ip_masq}};
  return j.dump();
}

std::string ConfigKey(const std::string& prefix) { return prefix + "/config"; }
std::string SubnetsPrefix(const std::string& prefix) { return prefix + "/subnets/"; }

std::string SubnetKey(const std::string& prefix, const cni::IpNet& subnet) {
  return SubnetsPrefix(prefix) + subnet.Network().ToString() + "-" + std::to_string(subnet.prefix);
}

std::optional<cni::IpNet> SubnetFromKey(const std::string& prefix, const std::string& key) {
  const std::string sp = SubnetsPrefix(prefix);
  if (key.compare(0, sp.size(), sp) != 0) return std::nullopt;
  std::string rest = key.substr(sp.size());
  auto dash = rest.rfind('-');
  if (dash == std::string::npos) return std::nullopt;
  rest[dash] = '/';
  auto net = cni::IpNet::Parse(rest);
  if (!net || net->Network() != net->addr) return std::nullopt;
  return net;
}

std::string LeaseToJson(const overlay::NodeLease& lease, const overlay::ClusterConfig& cfg) {
  json j = {{"PublicIP", lease.node_ip.ToString()},
            {"BackendType", overlay::BackendName(cfg.backend)},
            {"NodeName", lease.name}};
  if (cfg.backend == overlay::BackendType::kVxlan) {
    j["BackendData"] = {{"VNI", cfg.vni}, {"VtepMAC", lease.vtep_mac}};
  } else {
    j["BackendData"] = nullptr;
  }
  return j.dump();
}

cni::Result<overlay::NodeLease> LeaseFromKv(const std::string& prefix, const std::string& key,
                                            const std::string& value,
                                            std::string* backend_type) {
  auto subnet = SubnetFromKey(prefix, key);
  if (!subnet) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd key " + key + " is not a subnet key");
  }
  json j;
  try {
    j = json::parse(value);
  } catch (const json::exception& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      "etcd lease " + key + ": not a lease: " + e.what());
  }
  const cni::Decoder d(j);
  overlay::NodeLease out;
  out.subnet = *subnet;
  auto public_ip = d["PublicIP"].As<std::string>();
  if (!public_ip) return public_ip.error().Context("etcd lease " + key);
  auto ip = cni::ParseIpField("PublicIP", *public_ip);
  if (!ip) return ip.error().Context("etcd lease " + key);
  out.node_ip = *ip;
  if (auto st = d.Get("NodeName", &out.name); !st) return st.error().Context("etcd lease " + key);
  std::string type;
  if (auto st = d.Get("BackendType", &type); !st) return st.error().Context("etcd lease " + key);
  if (backend_type != nullptr) *backend_type = type;
  // BackendData is null for host-gw; only vxlan's object carries the VTEP MAC.
  if (const cni::Decoder bd = d["BackendData"]; bd.value().is_object()) {
    if (auto st = bd.Get("VtepMAC", &out.vtep_mac); !st) {
      return st.error().Context("etcd lease " + key);
    }
  }
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
