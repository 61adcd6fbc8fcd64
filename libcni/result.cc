// AddResult <-> JSON for every spec version, converting the way pkg/types/{020,040,100}
// do: the in-memory shape is 1.1.0; older shapes are produced and read at the edge.
#include <string>

#include "libcni/json_util.h"
#include "libcni/types.h"

namespace cni {
namespace {

using internal::DecodeError;

bool Is02x(std::string_view v) { return v == "0.1.0" || v == "0.2.0"; }
bool Is1x(std::string_view v) { return v == "1.0.0" || v == "1.1.0"; }

Result<IpNet> ParseCidr(const json& obj, std::string_view key, std::string_view where) {
  std::string text;
  if (auto s = internal::GetString(obj, key, where, &text); !s) return s.error();
  if (text.empty()) return DecodeError(where, std::string(key) + " is missing");
  auto n = IpNet::Parse(text);
  if (!n) return DecodeError(where, "invalid CIDR \"" + text + "\" in " + std::string(key));
  return *n;
}

// Absent or "" is no address, as Go's net.IP unmarshalling.
Result<std::optional<IpAddr>> ParseOptionalIp(const json& obj, std::string_view key,
                                              std::string_view where) {
  std::string text;
  if (auto s = internal::GetString(obj, key, where, &text); !s) return s.error();
  if (text.empty()) return std::optional<IpAddr>();
  auto a = IpAddr::Parse(text);
  if (!a) return DecodeError(where, "invalid IP \"" + text + "\" in " + std::string(key));
  return std::optional<IpAddr>(*a);
}

Result<Route> ParseRoute(const json& j) {
  constexpr std::string_view kWhere = "route";
  if (!j.is_object()) return DecodeError(kWhere, "must be an object");
  Route r;
  auto dst = ParseCidr(j, "dst", kWhere);
  if (!dst) return dst.error();
  r.dst = *dst;
  auto gw = ParseOptionalIp(j, "gw", kWhere);
  if (!gw) return gw.error();
  r.gw = *gw;
  for (auto [key, field] : {std::pair{"mtu", &r.mtu}, std::pair{"advmss", &r.advmss},
                            std::pair{"priority", &r.priority}, std::pair{"table", &r.table},
                            std::pair{"scope", &r.scope}}) {
    if (auto s = internal::GetInt(j, key, kWhere, field); !s) return s.error();
  }
  return r;
}

Status ParseRoutes(const json& obj, std::vector<Route>* out) {
  auto it = obj.find("routes");
  if (it == obj.end() || it->is_null()) return OkStatus();
  if (!it->is_array()) return DecodeError("result", "routes must be a list");
  for (const auto& e : *it) {
    auto r = ParseRoute(e);
    if (!r) return r.error();
    out->push_back(std::move(*r));
  }
  return OkStatus();
}

Status ParseDnsField(const json& obj, Dns* out) {
  auto it = obj.find("dns");
  if (it == obj.end() || it->is_null()) return OkStatus();
  auto dns = ParseDns(*it);
  if (!dns) return dns.error();
  *out = std::move(*dns);
  return OkStatus();
}

// 0.1.0/0.2.0: {ip4:{ip,gateway,routes}, ip6:{...}, dns}.
Status Parse02x(const json& j, AddResult* r) {
  std::vector<Route> routes;
  for (const char* key : {"ip4", "ip6"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) return DecodeError("result", std::string(key) + " must be an object");
    auto ip = ParseCidr(*it, "ip", key);
    if (!ip) return ip.error();
    auto gw = ParseOptionalIp(*it, "gateway", key);
    if (!gw) return gw.error();
    r->ips.push_back(IpConfig{*ip, *gw, std::nullopt});
    if (auto s = ParseRoutes(*it, &r->routes); !s) return s.error();
  }
  return ParseDnsField(j, &r->dns);
}

// 0.3.0 and later: interfaces, ips, routes, dns. Only the fields the version
// defines are read, so a 0.4.0 result never carries an interface mtu.
Status ParseCurrent(const json& j, std::string_view version, AddResult* r) {
  const bool v1 = Is1x(version);
  if (auto it = j.find("interfaces"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return DecodeError("result", "interfaces must be a list");
    for (const auto& e : *it) {
      if (!e.is_object()) return DecodeError("interface", "must be an object");
      Interface intf;
      for (auto [key, field] : {std::pair{"name", &intf.name}, std::pair{"mac", &intf.mac},
                                std::pair{"sandbox", &intf.sandbox}}) {
        if (auto s = internal::GetString(e, key, "interface", field); !s) return s.error();
      }
      if (v1) {
        if (auto s = internal::GetInt(e, "mtu", "interface", &intf.mtu); !s) return s.error();
        if (auto s = internal::GetString(e, "socketPath", "interface", &intf.socket_path); !s) {
          return s.error();
        }
        if (auto s = internal::GetString(e, "pciID", "interface", &intf.pci_id); !s) {
          return s.error();
        }
      }
      r->interfaces.push_back(std::move(intf));
    }
  }
  if (auto it = j.find("ips"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return DecodeError("result", "ips must be a list");
    for (const auto& e : *it) {
      if (!e.is_object()) return DecodeError("ip", "must be an object");
      IpConfig ipc;
      auto addr = ParseCidr(e, "address", "ip");
      if (!addr) return addr.error();
      ipc.address = *addr;
      auto gw = ParseOptionalIp(e, "gateway", "ip");
      if (!gw) return gw.error();
      ipc.gateway = *gw;
      if (auto s = internal::GetInt(e, "interface", "ip", &ipc.interface); !s) return s.error();
      std::string ignored_version;  // derived from the address when printing
      if (auto s = internal::GetString(e, "version", "ip", &ignored_version); !s) {
        return s.error();
      }
      r->ips.push_back(std::move(ipc));
    }
  }
  if (auto s = ParseRoutes(j, &r->routes); !s) return s.error();
  return ParseDnsField(j, &r->dns);
}

template <typename J>
J RouteToJson(const Route& rt, bool extras) {
  J j = J::object();
  j["dst"] = rt.dst.ToString();
  if (rt.gw) j["gw"] = rt.gw->ToString();
  if (!extras) return j;
  // Go's omitempty: zero mtu/advmss/priority are not printed; table/scope are pointers.
  if (rt.mtu && *rt.mtu != 0) j["mtu"] = *rt.mtu;
  if (rt.advmss && *rt.advmss != 0) j["advmss"] = *rt.advmss;
  if (rt.priority && *rt.priority != 0) j["priority"] = *rt.priority;
  if (rt.table) j["table"] = *rt.table;
  if (rt.scope) j["scope"] = *rt.scope;
  return j;
}

template <typename J>
J DnsTo(const Dns& dns) {
  J j = J::object();
  if (!dns.nameservers.empty()) j["nameservers"] = dns.nameservers;
  if (!dns.domain.empty()) j["domain"] = dns.domain;
  if (!dns.search.empty()) j["search"] = dns.search;
  if (!dns.options.empty()) j["options"] = dns.options;
  return j;
}

template <typename J>
Result<J> To02x(const AddResult& r, std::string_view version) {
  const IpConfig* v4 = nullptr;
  const IpConfig* v6 = nullptr;
  for (const auto& ip : r.ips) {
    if (ip.address.addr.is_v4() && v4 == nullptr) v4 = &ip;
    if (!ip.address.addr.is_v4() && v6 == nullptr) v6 = &ip;
  }
  if (v4 == nullptr && v6 == nullptr) {
    return Error(Code::kIncompatibleVersion,
                 "cannot convert result to " + std::string(version) + ": no IP addresses");
  }
  J j = J::object();
  j["cniVersion"] = std::string(version);
  auto block = [&r](const IpConfig& ip) {
    J b = J::object();
    b["ip"] = ip.address.ToString();
    if (ip.gateway) b["gateway"] = ip.gateway->ToString();
    J routes = J::array();
    for (const auto& rt : r.routes) {
      if (rt.dst.addr.is_v4() == ip.address.addr.is_v4()) routes.push_back(RouteToJson<J>(rt, false));
    }
    if (!routes.empty()) b["routes"] = std::move(routes);
    return b;
  };
  if (v4) j["ip4"] = block(*v4);
  if (v6) j["ip6"] = block(*v6);
  // Go's 0.2.0 type has no "omit empty" for the dns struct, so {} is always printed.
  j["dns"] = DnsTo<J>(r.dns);
  return j;
}

template <typename J>
J ToCurrent(const AddResult& r, std::string_view version) {
  const bool v1 = Is1x(version);
  J j = J::object();
  j["cniVersion"] = std::string(version);
  if (!r.interfaces.empty()) {
    J list = J::array();
    for (const auto& intf : r.interfaces) {
      J i = J::object();
      i["name"] = intf.name;
      if (!intf.mac.empty()) i["mac"] = intf.mac;
      if (v1 && intf.mtu && *intf.mtu != 0) i["mtu"] = *intf.mtu;
      if (!intf.sandbox.empty()) i["sandbox"] = intf.sandbox;
      if (v1 && !intf.socket_path.empty()) i["socketPath"] = intf.socket_path;
      if (v1 && !intf.pci_id.empty()) i["pciID"] = intf.pci_id;
      list.push_back(std::move(i));
    }
    j["interfaces"] = std::move(list);
  }
  if (!r.ips.empty()) {
    J list = J::array();
    for (const auto& ip : r.ips) {
      J i = J::object();
      if (!v1) i["version"] = ip.address.addr.is_v4() ? "4" : "6";
      if (ip.interface) i["interface"] = *ip.interface;
      i["address"] = ip.address.ToString();
      if (ip.gateway) i["gateway"] = ip.gateway->ToString();
      list.push_back(std::move(i));
    }
    j["ips"] = std::move(list);
  }
  if (!r.routes.empty()) {
    J list = J::array();
    // The reference shares one Route type across 0.3.0..1.1.0, so extras survive.
    for (const auto& rt : r.routes) list.push_back(RouteToJson<J>(rt, true));
    j["routes"] = std::move(list);
  }
  // 1.0.0+ drops an empty dns; the 0.3.x/0.4.0 types always print it.
  if (!v1 || !r.dns.empty()) j["dns"] = DnsTo<J>(r.dns);
  return j;
}

template <typename J>
Result<J> ToVersion(const AddResult& r, std::string_view version) {
  if (!IsSupportedVersion(version)) return IncompatibleVersionError(version);
  if (Is02x(version)) return To02x<J>(r, version);
  return ToCurrent<J>(r, version);
}

}  // namespace

Result<Dns> ParseDns(const json& j) {
  constexpr std::string_view kWhere = "dns";
  if (!j.is_object()) return DecodeError(kWhere, "must be an object");
  Dns d;
  if (auto s = internal::GetStringList(j, "nameservers", kWhere, &d.nameservers); !s) {
    return s.error();
  }
  if (auto s = internal::GetString(j, "domain", kWhere, &d.domain); !s) return s.error();
  if (auto s = internal::GetStringList(j, "search", kWhere, &d.search); !s) return s.error();
  if (auto s = internal::GetStringList(j, "options", kWhere, &d.options); !s) return s.error();
  return d;
}

json DnsToJson(const Dns& dns) { return DnsTo<json>(dns); }

Result<AddResult> ParseResult(const json& j, std::string_view version) {
  if (!j.is_object()) return DecodeError("result", "must be a JSON object");
  AddResult r;
  r.cni_version = std::string(version);
  if (r.cni_version.empty()) {
    if (auto s = internal::GetString(j, "cniVersion", "result", &r.cni_version); !s) {
      return s.error();
    }
    if (r.cni_version.empty()) r.cni_version = "0.1.0";
  }
  if (!IsSupportedVersion(r.cni_version)) return IncompatibleVersionError(r.cni_version);
  Status s = Is02x(r.cni_version) ? Parse02x(j, &r) : ParseCurrent(j, r.cni_version, &r);
  if (!s) return s.error();
  return r;
}

Result<AddResult> ParseResultText(std::string_view text, std::string_view version) {
  auto j = ParseJsonText(text, "error parsing result");
  if (!j) return j.error();
  return ParseResult(*j, version);
}

Result<json> ResultToJson(const AddResult& r, std::string_view version) {
  return ToVersion<json>(r, version);
}

namespace internal {
Result<std::string> ResultToText(const AddResult& r, std::string_view version) {
  auto j = ToVersion<nlohmann::ordered_json>(r, version);
  if (!j) return j.error();
  return j->dump(4, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}
}  // namespace internal

}  // namespace cni
