#include "overlay/registry/network_config.h"

#include <nlohmann/json.hpp>

#include "libcni/decode.h"
#include "libcni/types.h"
#include "overlay/registry/static_topology.h"

namespace linen::overlay {
namespace {

using nlohmann::json;

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
    return cni::InvalidConfig(
        std::string(k.network) + " is missing" +
        (v4 ? " (for an IPv6-only network set EnableIPv4 to false)" : " (EnableIPv6 is true)"));
  }
  auto net = cni::ParseCidrField(k.network, **text);
  if (!net) return net.error();
  if (net->family() != k.family) {
    return cni::InvalidConfig(
        std::string(k.network) + " " + **text +
        (v4 ? " is not IPv4 (an IPv6 network goes in IPv6Network, with EnableIPv6)"
            : " is not IPv6 (the IPv4 network goes in Network)"));
  }
  *network = net->Masked();
  const int bits = network->addr.bits();
  // At least four subnets of four addresses (flannel: /28, /124).
  if (network->prefix > bits - 4) {
    return cni::InvalidConfig(std::string(k.network) + " " + network->ToString() +
                              " is smaller than /" + std::to_string(bits - 4));
  }
  uint8_t len = 0;
  if (auto st = d.Get(k.subnet_len, &len); !st) return st;
  if (len != 0) {
    *subnet_len = len;
  } else {
    *subnet_len = v4 ? DefaultSubnetLen(network->prefix)
                     : DefaultIpv6SubnetLen(network->prefix);
  }
  if (*subnet_len <= network->prefix || *subnet_len > bits - 2) {
    return cni::InvalidConfig(std::string(k.subnet_len) + " " + std::to_string(*subnet_len) +
                              " does not fit " + k.network + " " + network->ToString() +
                              " (must be in /" + std::to_string(network->prefix + 1) + "../" +
                              std::to_string(bits - 2) + ")");
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
      return cni::InvalidConfig(std::string(key) + " " + a->ToString() + " is not a /" +
                                std::to_string(*subnet_len) + " subnet of " + network->ToString());
    }
    (key == k.min ? *min : *max) = *a;
  }
  if (*max < *min) return cni::InvalidConfig(std::string(k.max) + " is below " + k.min);
  return cni::OkStatus();
}

// The fields of flannel's network config; errors name the key, for the caller to
// put in context.
cni::Result<NetworkConfig> DecodeNetworkConfig(const cni::Decoder& d) {
  NetworkConfig out;
  ClusterConfig& c = out.cluster;
  if (auto st = d.Get("EnableIPv4", &c.enable_ipv4); !st) return st.error();
  if (auto st = d.Get("EnableIPv6", &c.enable_ipv6); !st) return st.error();
  if (!c.enable_ipv4 && !c.enable_ipv6) {
    return cni::InvalidConfig(
        "EnableIPv4 and EnableIPv6 are both false: enable at least one family");
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
      auto t = ParseBackendName(**type);
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
  if (c.vni == 0 || c.vni > 0xffffff) return cni::InvalidConfig("Backend.VNI must be 1..16777215");
  return out;
}

}  // namespace

cni::Result<NetworkConfig> ParseNetworkConfig(const std::string& json_text) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("network config: not JSON: ") + e.what());
  }
  if (!j.is_object()) return cni::InvalidConfig("network config: not a JSON object");
  auto out = DecodeNetworkConfig(cni::Decoder(j));
  if (!out) return out.error().Context("network config");
  return out;
}

std::string NetworkConfigToJson(const ClusterConfig& c) {
  json b = {{"Type", BackendName(c.backend)}};
  if (c.backend == BackendType::kVxlan) {
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

}  // namespace linen::overlay
