#include "overlay/registry/kubernetes/node_codec.h"

#include <algorithm>
#include <ctime>

#include "libcni/decode.h"
#include "libcni/mac.h"

namespace linen::kube {
namespace {

using cni::json;

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// flannel's regexp: (?:[a-z0-9_-]+\.)+[a-z0-9_-]+/(?:[a-z0-9_-]+-)?$
bool ValidPrefix(const std::string& p) {
  auto slash = p.find('/');
  if (slash == std::string::npos) return false;
  std::string fqdn = p.substr(0, slash), rest = p.substr(slash + 1);
  if (fqdn.find('.') == std::string::npos) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = fqdn.find('.', start);
    std::string label = fqdn.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty()) return false;
    for (char c : label) {
      if (!IsLabelChar(c)) return false;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (rest.empty()) return true;
  if (rest.back() != '-' || rest.size() < 2) return false;
  for (char c : rest) {
    if (!IsLabelChar(c)) return false;
  }
  return true;
}

// "2024-05-01T10:00:00Z" -> seconds since the epoch; 0 when unreadable.
int64_t ParseTimestamp(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

cni::Result<std::string> LeaseField(const std::map<std::string, std::string>& a,
                                    const std::string& name) {
  auto it = a.find(name);
  if (it == a.end() || it->second.empty()) {
    return cni::Error(cni::Code::kDecodingFailure, "annotation " + name + " is missing");
  }
  return it->second;
}

// The VtepMAC of a backend-data value, or an error naming the annotation.
cni::Result<std::string> DecodeVtepMac(const std::string& name, const std::string& value) {
  json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return cni::Error(cni::Code::kDecodingFailure,
                      "annotation " + name + " is not a JSON object: " + value.substr(0, 100));
  }
  auto mac = cni::Decoder(j, name)["VtepMAC"].As<std::string>();
  if (!mac) return mac.error();
  return *mac;
}

// The lease part of one family; errors say which annotation is wrong.
cni::Status FillFamily(const KubeNode& n, const AnnotationNames& names,
                       const overlay::ClusterConfig& cfg, int family, overlay::NodeLease* l) {
  auto cidr = PodCidr(n, family);
  if (!cidr) return cidr.error();
  if (!*cidr) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("node has no IPv") + (family == 4 ? "4" : "6") + " podCIDR");
  }
  const std::string& ip_name = family == 4 ? names.public_ip : names.public_ipv6;
  auto ip_text = LeaseField(n.annotations, ip_name);
  if (!ip_text) return ip_text.error();
  auto ip = cni::ParseIpField(ip_name, *ip_text);
  if (!ip) return ip.error();
  std::string mac;
  if (cfg.backend == overlay::BackendType::kVxlan) {
    const std::string& data_name = family == 4 ? names.backend_data : names.backend_v6_data;
    auto data = LeaseField(n.annotations, data_name);
    if (!data) return data.error();
    auto m = DecodeVtepMac(data_name, *data);
    if (!m) return m.error();
    mac = *m;
  }
  if (family == 4) {
    l->subnet = (*cidr)->Masked();
    l->node_ip = *ip;
    l->vtep_mac = mac;
  } else {
    l->ipv6_subnet = (*cidr)->Masked();
    l->node_ipv6 = *ip;
    l->vtep_mac_v6 = mac;
  }
  return cni::OkStatus();
}

std::string BackendData(const overlay::ClusterConfig& cfg, const std::string& mac) {
  if (cfg.backend != overlay::BackendType::kVxlan) return "null";
  // Go's encoding of flannel's vxlanLeaseAttrs: VNI first, then VtepMAC.
  return "{\"VNI\":" + std::to_string(cfg.vni) + ",\"VtepMAC\":" + json(mac).dump() + "}";
}

}  // namespace

cni::Result<AnnotationNames> MakeAnnotationNames(const std::string& prefix_in) {
  std::string prefix = prefix_in;
  const auto slashes = std::count(prefix.begin(), prefix.end(), '/');
  if (slashes > 1) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "--kube-annotation-prefix \"" + prefix_in + "\": at most one '/'");
  }
  if (slashes == 0) prefix += "/";
  if (prefix.back() != '/' && prefix.back() != '-') prefix += "-";
  if (!ValidPrefix(prefix)) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "--kube-annotation-prefix \"" + prefix_in +
                          "\": must be a lower-case domain name, optionally followed by "
                          "/name (e.g. flannel.alpha.coreos.com)");
  }
  AnnotationNames a;
  a.kube_subnet_manager = prefix + "kube-subnet-manager";
  a.backend_type = prefix + "backend-type";
  a.backend_data = prefix + "backend-data";
  a.backend_v6_data = prefix + "backend-v6-data";
  a.public_ip = prefix + "public-ip";
  a.public_ipv6 = prefix + "public-ipv6";
  a.public_ip_overwrite = prefix + "public-ip-overwrite";
  a.public_ipv6_overwrite = prefix + "public-ipv6-overwrite";
  return a;
}

cni::Result<KubeNode> DecodeNode(const json& j) {
  const cni::Decoder d(j, "node");
  if (!j.is_object()) return d.TypeError("object");
  const cni::Decoder meta = d["metadata"];
  KubeNode n;
  auto name = meta["name"].As<std::string>();
  if (!name) return name.error();
  n.name = *name;
  if (auto s = meta.Get("resourceVersion", &n.resource_version); !s) return s.error();
  std::string created;
  if (auto s = meta.Get("creationTimestamp", &created); !s) return s.error();
  n.created = ParseTimestamp(created);
  if (const cni::Decoder a = meta["annotations"]; a.IsSet()) {
    if (auto s = a.ObjectOrUnset(); !s) return s.error();
    for (const auto& [k, v] : a.value().items()) {
      auto text = a[k].As<std::string>();
      if (!text) return text.error();
      n.annotations[k] = *text;
    }
  }
  const cni::Decoder spec = d["spec"];
  auto cidrs = spec.Optional<std::vector<std::string>>("podCIDRs");
  if (!cidrs) return cidrs.error();
  if (*cidrs && !(*cidrs)->empty()) {
    n.pod_cidrs = **cidrs;
  } else {
    std::string one;
    if (auto s = spec.Get("podCIDR", &one); !s) return s.error();
    if (!one.empty()) n.pod_cidrs.push_back(one);
  }
  return n;
}

cni::Result<NodeList> DecodeNodeList(const json& j) {
  const cni::Decoder d(j, "node list");
  if (!j.is_object()) return d.TypeError("object");
  NodeList out;
  const cni::Decoder meta = d["metadata"];
  if (auto s = meta.Get("resourceVersion", &out.resource_version); !s) return s.error();
  if (auto s = meta.Get("continue", &out.continue_token); !s) return s.error();
  const cni::Decoder items = d["items"];
  if (auto s = items.ArrayOrUnset(); !s) return s.error();
  for (size_t i = 0; i < items.size(); ++i) {
    auto n = DecodeNode(items[i].value());
    if (!n) return n.error();
    out.items.push_back(*std::move(n));
  }
  return out;
}

cni::Result<std::optional<cni::IpNet>> PodCidr(const KubeNode& n, int family) {
  for (const auto& text : n.pod_cidrs) {
    auto net = cni::ParseCidrField("podCIDR", text);
    if (!net) return net.error().WithCode(cni::Code::kInvalidNetworkConfig);
    if ((family == 4) == net->addr.is_v4()) return std::optional<cni::IpNet>(net->Masked());
  }
  return std::optional<cni::IpNet>();
}

std::optional<overlay::LeaseCandidate> CandidateFromNode(const KubeNode& n,
                                                         const AnnotationNames& names,
                                                         const overlay::ClusterConfig& cfg) {
  auto managed = n.annotations.find(names.kube_subnet_manager);
  if (managed == n.annotations.end() || managed->second != "true" || n.pod_cidrs.empty()) {
    return std::nullopt;
  }
  overlay::LeaseCandidate c;
  c.key = n.name;
  c.order = n.created;
  // The value shown with a rejection: what the judgement read.
  json shown = {{"podCIDRs", n.pod_cidrs}};
  for (const std::string* k : {&names.backend_type, &names.backend_data, &names.backend_v6_data,
                               &names.public_ip, &names.public_ipv6}) {
    if (auto it = n.annotations.find(*k); it != n.annotations.end()) shown[*k] = it->second;
  }
  c.value = shown.dump();
  if (auto t = n.annotations.find(names.backend_type); t != n.annotations.end()) {
    c.backend_type = t->second;
  }
  overlay::NodeLease l;
  l.name = n.name;
  cni::Status s = cni::OkStatus();
  if (cfg.enable_ipv4) s = FillFamily(n, names, cfg, 4, &l);
  if (s && cfg.enable_ipv6) s = FillFamily(n, names, cfg, 6, &l);
  if (!s) {
    c.decode_error = "node " + n.name + ": " + s.error().msg();
    return c;
  }
  c.lease = l;
  return c;
}

std::map<std::string, std::string> LeaseAnnotations(const overlay::NodeLease& lease,
                                                    const overlay::ClusterConfig& cfg,
                                                    const AnnotationNames& names) {
  std::map<std::string, std::string> a;
  a[names.backend_type] = overlay::BackendName(cfg.backend);
  a[names.kube_subnet_manager] = "true";
  if (cfg.enable_ipv4) {
    a[names.backend_data] = BackendData(cfg, lease.vtep_mac);
    a[names.public_ip] = lease.node_ip.ToString();
  }
  if (cfg.enable_ipv6 && !lease.node_ipv6.IsUnspecified()) {
    a[names.backend_v6_data] = BackendData(cfg, lease.vtep_mac_v6);
    a[names.public_ipv6] = lease.node_ipv6.ToString();
  }
  return a;
}

std::string VtepMacOf(const std::string& backend_data) {
  auto m = DecodeVtepMac("backend-data", backend_data);
  return m ? *m : std::string();
}

std::string AnnotationsMergePatch(const std::map<std::string, std::string>& set,
                                  const std::vector<std::string>& remove) {
  json a = json::object();
  for (const auto& [k, v] : set) a[k] = v;
  for (const auto& k : remove) a[k] = nullptr;
  return json{{"metadata", {{"annotations", a}}}}.dump();
}

std::string NetworkAvailablePatch(const std::string& now) {
  json cond = {{"type", "NetworkUnavailable"},
               {"status", "False"},
               {"reason", "LinenIsUp"},
               {"message", "linen is running on this node"},
               {"lastTransitionTime", now},
               {"lastHeartbeatTime", now}};
  return json{{"status", {{"conditions", json::array({cond})}}}}.dump();
}

std::string Rfc3339Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace linen::kube
