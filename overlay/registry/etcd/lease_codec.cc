#include "overlay/registry/etcd/lease_codec.h"

#include <nlohmann/json.hpp>

#include "libcni/types.h"

namespace linen::etcd {
namespace {

using nlohmann::json;

cni::Error Invalid(const std::string& msg) {
  return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd network config: " + msg);
}

// An integer member within [lo, hi]; absent or null leaves `out` alone. Read through
// cni::JsonInteger because get<int>() on a float such as 1e30 is undefined behaviour.
cni::Status IntField(const json& obj, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return cni::OkStatus();
  const std::optional<int64_t> v = cni::JsonInteger(*it);
  if (!v || *v < lo || *v > hi) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("etcd network config: ") + key + " must be an integer in " +
                          std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                          it->dump().substr(0, 64));
  }
  *out = *v;
  return cni::OkStatus();
}

}  // namespace

cni::Result<NetworkConfig> ParseNetworkConfig(const std::string& json_text) {
  try {
    json j = json::parse(json_text);
    if (!j.is_object()) return Invalid("not a JSON object");
    NetworkConfig out;
    overlay::ClusterConfig& c = out.cluster;
    auto net = cni::ParseCidrField("Network", j.at("Network").get<std::string>());
    if (!net) return net.error().Context("etcd network config");
    c.network = net->Masked();
    const int bits = c.network.addr.bits();
    int64_t subnet_len = 0;
    if (auto st = IntField(j, "SubnetLen", 0, 128, &subnet_len); !st) return st.error();
    if (subnet_len != 0) {
      c.subnet_len = static_cast<int>(subnet_len);
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
      if (!j.contains(key)) continue;
      auto a = cni::ParseIpField(key, j[key].get<std::string>());
      if (!a) return a.error().Context("etcd network config");
      if (!c.network.Contains(*a) || cni::IpNet{*a, c.subnet_len}.Network() != *a) {
        return Invalid(std::string(key) + " " + a->ToString() + " is not a /" +
                       std::to_string(c.subnet_len) + " subnet of " + c.network.ToString());
      }
      (std::string(key) == "SubnetMin" ? out.subnet_min : out.subnet_max) = *a;
    }
    if (out.subnet_max < out.subnet_min) return Invalid("SubnetMax is below SubnetMin");
    if (j.contains("IPMasq")) c.ip_masq = j["IPMasq"].get<bool>();
    if (j.contains("Backend") && !j["Backend"].is_null()) {
      const json& b = j["Backend"];
      if (b.contains("Type")) {
        auto t = overlay::ParseBackendName(b["Type"].get<std::string>());
        if (!t) return t.error().Context("etcd network config Backend.Type");
        c.backend = *t;
      }
      int64_t vni = c.vni, port = 0, mtu = c.mtu;
      if (auto st = IntField(b, "VNI", 0, 0xffffffffLL, &vni); !st) return st.error();
      if (auto st = IntField(b, "Port", 0, 65535, &port); !st) return st.error();
      if (auto st = IntField(b, "MTU", 0, 65535, &mtu); !st) return st.error();
      c.vni = static_cast<uint32_t>(vni);
      if (port != 0) c.port = static_cast<uint16_t>(port);
      c.mtu = static_cast<int>(mtu);
      if (b.contains("DirectRouting")) c.direct_routing = b["DirectRouting"].get<bool>();
    }
    if (c.vni == 0 || c.vni > 0xffffff) return Invalid("Backend.VNI must be 1..16777215");
    return out;
  } catch (const json::parse_error& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("etcd network config: not JSON: ") + e.what());
  } catch (const json::exception& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("etcd network config: wrong type or missing key: ") + e.what());
  }
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
                                            const std::string& value) {
  auto subnet = SubnetFromKey(prefix, key);
  if (!subnet) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd key " + key + " is not a subnet key");
  }
  try {
    json j = json::parse(value);
    overlay::NodeLease out;
    out.subnet = *subnet;
    auto ip = cni::ParseIpField("PublicIP", j.at("PublicIP").get<std::string>());
    if (!ip) return ip.error().Context("etcd lease " + key);
    out.node_ip = *ip;
    out.name = j.value("NodeName", std::string());
    if (auto bd = j.find("BackendData"); bd != j.end() && bd->is_object()) {
      out.vtep_mac = bd->value("VtepMAC", std::string());
    }
    return out;
  } catch (const json::exception& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      "etcd lease " + key + ": not a lease: " + e.what());
  }
}

}  // namespace linen::etcd
