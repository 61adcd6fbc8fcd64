#include "ipam/host-local/config.h"

#include <utility>

#include "libcni/decode.h"

namespace host_local {
namespace {

using cni::json;

cni::Error Decode(std::string msg) {
  return cni::Error(cni::Code::kDecodingFailure, std::move(msg));
}

// An optional string key; "" counts as absent, as Go's net.IP decoding treats it.
cni::Result<std::optional<std::string>> OptString(const cni::Decoder& obj, const char* key) {
  auto v = obj.Optional<std::string>(key);
  if (v && *v && (*v)->empty()) return std::optional<std::string>();
  return v;
}

cni::Result<Range> ParseRange(const cni::Decoder& j) {
  if (!j.value().is_object()) return j.TypeError("object");
  const std::string& where = j.path();
  RangeSpec spec;
  auto subnet = OptString(j, "subnet");
  if (!subnet) return subnet.error();
  if (!*subnet) return cni::InvalidConfig(where + ": missing \"subnet\"");
  spec.subnet = **subnet;
  auto start = OptString(j, "rangeStart");
  if (!start) return start.error();
  spec.range_start = *start;
  auto end = OptString(j, "rangeEnd");
  if (!end) return end.error();
  spec.range_end = *end;
  auto gw = OptString(j, "gateway");
  if (!gw) return gw.error();
  spec.gateway = *gw;
  auto r = MakeRange(spec);
  if (!r) return r.error().Context(where);
  return r;
}

// `[[range, ...], ...]` -> raw range lists (validated as sets later, with indices).
cni::Status AppendRangeSets(const cni::Decoder& j, std::vector<std::vector<Range>>* out) {
  if (!j.IsSet()) return cni::OkStatus();
  if (!j.value().is_array()) return j.TypeError("list of range lists");
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].value().is_array()) return j[i].TypeError("list of ranges");
    std::vector<Range> set;
    for (size_t k = 0; k < j[i].size(); ++k) {
      auto r = ParseRange(j[i][k]);
      if (!r) return r.error();
      set.push_back(*r);
    }
    out->push_back(std::move(set));
  }
  return cni::OkStatus();
}

cni::Result<std::vector<cni::Route>> ParseRoutes(const cni::Decoder& j) {
  std::vector<cni::Route> out;
  if (!j.IsSet()) return out;
  if (!j.value().is_array()) return j.TypeError("list");
  for (size_t i = 0; i < j.size(); ++i) {
    const cni::Decoder r = j[i];
    const std::string& where = r.path();
    if (!r.value().is_object()) return r.TypeError("object");
    cni::Route route;
    auto dst = OptString(r, "dst");
    if (!dst) return dst.error();
    if (!*dst) return cni::InvalidConfig(where + ": missing \"dst\"");
    auto dst_net = cni::IpNet::Parse(**dst);
    if (!dst_net) return cni::InvalidConfig(where + ".dst \"" + **dst + "\" is not a CIDR");
    route.dst = *dst_net;
    auto gw = OptString(r, "gw");
    if (!gw) return gw.error();
    if (*gw) {
      auto ip = cni::IpAddr::Parse(**gw);
      if (!ip) return cni::InvalidConfig(where + ".gw \"" + **gw + "\" is not an IP address");
      route.gw = *ip;
    }
    const std::pair<const char*, std::optional<int>*> ints[] = {
        {"mtu", &route.mtu},           {"advmss", &route.advmss}, {"priority", &route.priority},
        {"table", &route.table},       {"scope", &route.scope}};
    for (const auto& [key, field] : ints) {
      auto v = r.Optional<int>(key);
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
    if (!cni::IpNet::Parse(text)) {
      return cni::InvalidConfig(where + ": invalid IP \"" + text + "\"");
    }
    addr = addr.substr(0, slash);
  }
  auto ip = cni::IpAddr::Parse(addr);
  if (!ip) return cni::InvalidConfig(where + ": invalid IP \"" + text + "\"");
  return *ip;
}

cni::Status AppendRequested(const cni::Decoder& j, std::vector<cni::IpAddr>* out) {
  if (!j.IsSet()) return cni::OkStatus();
  if (!j.value().is_array()) return j.TypeError("list of IPs");
  for (size_t i = 0; i < j.size(); ++i) {
    auto text = j[i].As<std::string>();
    if (!text) return text.error();
    auto ip = ParseRequested(*text, j.path());
    if (!ip) return ip.error();
    out->push_back(*ip);
  }
  return cni::OkStatus();
}

cni::Result<IpamConfig> ConfigFromJson(const json& root,
                                       const std::map<std::string, std::string>& cni_args) {
  if (!root.is_object()) return Decode("network config must be a JSON object");
  IpamConfig conf;
  const cni::Decoder d(root);
  if (auto v = OptString(d, "name"); !v) return v.error();
  else if (*v) conf.name = **v;
  if (auto v = OptString(d, "cniVersion"); !v) return v.error();
  else if (*v) conf.cni_version = **v;

  const cni::Decoder ipam = d["ipam"];
  if (!ipam.value().is_object()) return cni::InvalidConfig("IPAM config missing 'ipam' key");

  // Requested addresses, in the reference's order.
  if (auto it = cni_args.find("IP"); it != cni_args.end() && !it->second.empty()) {
    auto ip = ParseRequested(it->second, "CNI_ARGS IP");
    if (!ip) return ip.error();
    conf.requested.push_back(*ip);
  }
  if (auto s = AppendRequested(d["args"]["cni"]["ips"], &conf.requested); !s) return s.error();
  const cni::Decoder runtime = d["runtimeConfig"];
  if (auto s = AppendRequested(runtime["ips"], &conf.requested); !s) return s.error();

  // Range sets: runtimeConfig.ipRanges, the legacy single range, then ipam.ranges.
  std::vector<std::vector<Range>> raw;
  if (auto s = AppendRangeSets(runtime["ipRanges"], &raw); !s) return s.error();
  if (auto legacy = OptString(ipam, "subnet"); !legacy) {
    return legacy.error();
  } else if (*legacy) {
    auto r = ParseRange(ipam);
    if (!r) return r.error();
    raw.push_back({*r});
  }
  if (auto s = AppendRangeSets(ipam["ranges"], &raw); !s) return s.error();
  if (raw.empty()) {
    return cni::InvalidConfig("no IP ranges specified (set ipam.ranges or ipam.subnet)");
  }

  int v4 = 0, v6 = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    auto set = RangeSet::Make(std::move(raw[i]));
    if (!set) return set.error().Context("invalid range set " + std::to_string(i));
    (set->family() == cni::Family::kV4 ? v4 : v6)++;
    conf.ranges.push_back(std::move(*set));
  }
  if ((v4 > 1 || v6 > 1) && !conf.cni_version.empty() &&
      !cni::VersionAtLeast(conf.cni_version, "0.3.0")) {
    return cni::InvalidConfig("CNI version " + conf.cni_version +
                              " does not support more than 1 address per family");
  }
  for (size_t i = 0; i < conf.ranges.size(); ++i) {
    for (size_t j = i + 1; j < conf.ranges.size(); ++j) {
      if (conf.ranges[i].Overlaps(conf.ranges[j])) {
        return cni::InvalidConfig("range set " + std::to_string(i) + " (" +
                                  conf.ranges[i].ToString() + ") overlaps with range set " +
                                  std::to_string(j) + " (" + conf.ranges[j].ToString() + ")");
      }
    }
  }

  auto routes = ParseRoutes(ipam["routes"]);
  if (!routes) return routes.error();
  conf.routes = std::move(*routes);
  if (auto v = OptString(ipam, "dataDir"); !v) return v.error();
  else if (*v) conf.data_dir = **v;
  if (auto v = OptString(ipam, "resolvConf"); !v) return v.error();
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
    return ConfigFromJson(*root, cni_args);
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
    return cni::InvalidConfig(
        "network \"" + conf.name +
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
