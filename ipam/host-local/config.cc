#include "ipam/host-local/config.h"

#include <limits>
#include <utility>

namespace host_local {
namespace {

using cni::json;

cni::Error Invalid(std::string msg) {
  return cni::Error(cni::Code::kInvalidNetworkConfig, std::move(msg));
}
cni::Error Decode(std::string msg) {
  return cni::Error(cni::Code::kDecodingFailure, std::move(msg));
}

// An optional string key; "" counts as absent, as Go's net.IP decoding treats it.
cni::Result<std::optional<std::string>> OptString(const json& obj, const char* key,
                                                  std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Decode(std::string(where) + "." + key + " must be a string, got " + it->dump());
  }
  std::string s = it->get<std::string>();
  if (s.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(s));
}

cni::Result<Range> ParseRange(const json& j, const std::string& where) {
  if (!j.is_object()) return Decode(where + " must be an object, got " + j.dump());
  RangeSpec spec;
  auto subnet = OptString(j, "subnet", where);
  if (!subnet) return subnet.error();
  if (!*subnet) return Invalid(where + ": missing \"subnet\"");
  spec.subnet = **subnet;
  auto start = OptString(j, "rangeStart", where);
  if (!start) return start.error();
  spec.range_start = *start;
  auto end = OptString(j, "rangeEnd", where);
  if (!end) return end.error();
  spec.range_end = *end;
  auto gw = OptString(j, "gateway", where);
  if (!gw) return gw.error();
  spec.gateway = *gw;
  auto r = MakeRange(spec);
  if (!r) return r.error().Context(where);
  return r;
}

// `[[range, ...], ...]` -> raw range lists (validated as sets later, with indices).
cni::Status AppendRangeSets(const json& j, const std::string& key,
                            std::vector<std::vector<Range>>* out) {
  if (j.is_null()) return cni::OkStatus();
  if (!j.is_array()) return Decode(key + " must be a list of range lists, got " + j.dump());
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = key + "[" + std::to_string(i) + "]";
    if (!j[i].is_array()) return Decode(where + " must be a list of ranges, got " + j[i].dump());
    std::vector<Range> set;
    for (size_t k = 0; k < j[i].size(); ++k) {
      auto r = ParseRange(j[i][k], where + "[" + std::to_string(k) + "]");
      if (!r) return r.error();
      set.push_back(*r);
    }
    out->push_back(std::move(set));
  }
  return cni::OkStatus();
}

cni::Result<std::optional<int>> OptInt(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int>();
  const std::optional<int64_t> v = cni::JsonInteger(*it);
  if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    return Decode(where + "." + key + " must be an integer, got " + it->dump().substr(0, 64));
  }
  return std::optional<int>(static_cast<int>(*v));
}

cni::Result<std::vector<cni::Route>> ParseRoutes(const json& j) {
  std::vector<cni::Route> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Decode("ipam.routes must be a list, got " + j.dump());
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = "ipam.routes[" + std::to_string(i) + "]";
    if (!j[i].is_object()) return Decode(where + " must be an object, got " + j[i].dump());
    cni::Route route;
    auto dst = OptString(j[i], "dst", where);
    if (!dst) return dst.error();
    if (!*dst) return Invalid(where + ": missing \"dst\"");
    auto dst_net = cni::IpNet::Parse(**dst);
    if (!dst_net) return Invalid(where + ".dst \"" + **dst + "\" is not a CIDR");
    route.dst = *dst_net;
    auto gw = OptString(j[i], "gw", where);
    if (!gw) return gw.error();
    if (*gw) {
      auto ip = cni::IpAddr::Parse(**gw);
      if (!ip) return Invalid(where + ".gw \"" + **gw + "\" is not an IP address");
      route.gw = *ip;
    }
    const std::pair<const char*, std::optional<int>*> ints[] = {
        {"mtu", &route.mtu},           {"advmss", &route.advmss}, {"priority", &route.priority},
        {"table", &route.table},       {"scope", &route.scope}};
    for (const auto& [key, field] : ints) {
      auto v = OptInt(j[i], key, where);
      if (!v) return v.error();
      *field = *v;
    }
    out.push_back(std::move(route));
  }
  return out;
}

// "ip" or "ip/prefix" (Go's ip.IP accepts both and keeps the address).
cni::Result<cni::IpAddr> ParseRequested(const std::string& text, const std::string& where) {
  std::string_view addr = text;
  if (auto slash = addr.find('/'); slash != std::string_view::npos) {
    if (!cni::IpNet::Parse(text)) return Invalid(where + ": invalid IP \"" + text + "\"");
    addr = addr.substr(0, slash);
  }
  auto ip = cni::IpAddr::Parse(addr);
  if (!ip) return Invalid(where + ": invalid IP \"" + text + "\"");
  return *ip;
}

cni::Status AppendRequested(const json& j, const std::string& where,
                            std::vector<cni::IpAddr>* out) {
  if (j.is_null()) return cni::OkStatus();
  if (!j.is_array()) return Decode(where + " must be a list of IPs, got " + j.dump());
  for (const json& e : j) {
    if (!e.is_string()) return Decode(where + " entries must be strings, got " + e.dump());
    auto ip = ParseRequested(e.get<std::string>(), where);
    if (!ip) return ip.error();
    out->push_back(*ip);
  }
  return cni::OkStatus();
}

const json& Member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

cni::Result<IpamConfig> Load(const json& root, const std::map<std::string, std::string>& cni_args) {
  if (!root.is_object()) return Decode("network config must be a JSON object");
  IpamConfig conf;
  if (auto v = OptString(root, "name", "config"); !v) return v.error();
  else if (*v) conf.name = **v;
  if (auto v = OptString(root, "cniVersion", "config"); !v) return v.error();
  else if (*v) conf.cni_version = **v;

  const json& ipam = Member(root, "ipam");
  if (!ipam.is_object()) return Invalid("IPAM config missing 'ipam' key");

  // Requested addresses, in the reference's order.
  if (auto it = cni_args.find("IP"); it != cni_args.end() && !it->second.empty()) {
    auto ip = ParseRequested(it->second, "CNI_ARGS IP");
    if (!ip) return ip.error();
    conf.requested.push_back(*ip);
  }
  if (auto s = AppendRequested(Member(Member(Member(root, "args"), "cni"), "ips"), "args.cni.ips",
                               &conf.requested);
      !s) {
    return s.error();
  }
  const json& runtime = Member(root, "runtimeConfig");
  if (auto s = AppendRequested(Member(runtime, "ips"), "runtimeConfig.ips", &conf.requested); !s) {
    return s.error();
  }

  // Range sets: runtimeConfig.ipRanges, the legacy single range, then ipam.ranges.
  std::vector<std::vector<Range>> raw;
  if (auto s = AppendRangeSets(Member(runtime, "ipRanges"), "runtimeConfig.ipRanges", &raw); !s) {
    return s.error();
  }
  if (auto legacy = OptString(ipam, "subnet", "ipam"); !legacy) {
    return legacy.error();
  } else if (*legacy) {
    auto r = ParseRange(ipam, "ipam");
    if (!r) return r.error();
    raw.push_back({*r});
  }
  if (auto s = AppendRangeSets(Member(ipam, "ranges"), "ipam.ranges", &raw); !s) return s.error();
  if (raw.empty()) return Invalid("no IP ranges specified (set ipam.ranges or ipam.subnet)");

  int v4 = 0, v6 = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    auto set = RangeSet::Make(std::move(raw[i]));
    if (!set) return set.error().Context("invalid range set " + std::to_string(i));
    (set->family() == cni::Family::kV4 ? v4 : v6)++;
    conf.ranges.push_back(std::move(*set));
  }
  if ((v4 > 1 || v6 > 1) && !conf.cni_version.empty() &&
      !cni::VersionAtLeast(conf.cni_version, "0.3.0")) {
    return Invalid("CNI version " + conf.cni_version +
                   " does not support more than 1 address per family");
  }
  for (size_t i = 0; i < conf.ranges.size(); ++i) {
    for (size_t j = i + 1; j < conf.ranges.size(); ++j) {
      if (conf.ranges[i].Overlaps(conf.ranges[j])) {
        return Invalid("range set " + std::to_string(i) + " (" + conf.ranges[i].ToString() +
                       ") overlaps with range set " + std::to_string(j) + " (" +
                       conf.ranges[j].ToString() + ")");
      }
    }
  }

  auto routes = ParseRoutes(Member(ipam, "routes"));
  if (!routes) return routes.error();
  conf.routes = std::move(*routes);
  if (auto v = OptString(ipam, "dataDir", "ipam"); !v) return v.error();
  else if (*v) conf.data_dir = **v;
  if (auto v = OptString(ipam, "resolvConf", "ipam"); !v) return v.error();
  else if (*v) conf.resolv_conf = **v;
  return conf;
}

cni::Result<json> ParseJson(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return Decode(std::string("cannot parse network config: ") + e.what());
  }
}

}  // namespace

cni::Result<IpamConfig> LoadIpamConfig(std::string_view stdin_data,
                                       const std::map<std::string, std::string>& cni_args) {
  auto root = ParseJson(stdin_data);
  if (!root) return root.error();
  try {
    return Load(*root, cni_args);
  } catch (const json::exception& e) {  // a type we did not check, e.g. an int out of range
    return Decode(std::string("cannot decode ipam config: ") + e.what());
  }
}

cni::Status ValidateRequested(const IpamConfig& conf) {
  std::string outside;
  for (const cni::IpAddr& ip : conf.requested) {
    bool in_some_set = false;
    for (const RangeSet& set : conf.ranges) in_some_set = in_some_set || set.Contains(ip);
    if (!in_some_set) outside += " " + ip.ToString();
  }
  if (!outside.empty()) {
    return Invalid("network \"" + conf.name +
                   "\": failed to allocate all requested IPs (not in any range set):" + outside);
  }
  return cni::OkStatus();
}

cni::Result<std::vector<Attachment>> ParseValidAttachments(std::string_view stdin_data) {
  auto root = ParseJson(stdin_data);
  if (!root) return root.error();
  return cni::ValidAttachments(*root);
}

}  // namespace host_local
