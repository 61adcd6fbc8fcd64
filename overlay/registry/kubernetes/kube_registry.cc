#include "overlay/registry/kubernetes/kube_registry.h"

#include <fstream>
#include <sstream>

#include "libcni/mac.h"
#include "libcni/types.h"
#include "overlay/registry/network_config.h"

namespace linen::kube {
namespace {

using cni::json;
using overlay::NodeLease;
using overlay::PeerEvent;

constexpr const char* kMergePatch = "application/merge-patch+json";
constexpr const char* kStrategicMergePatch = "application/strategic-merge-patch+json";
// Nodes per list page: bounds one answer's size in big clusters.
constexpr int kListPageSize = 500;

bool UnicastMac(const std::string& text) {
  auto mac = cni::ParseMac(text);
  if (!mac) return false;
  bool zero = true;
  for (uint8_t b : *mac) zero = zero && b == 0;
  return !zero && ((*mac)[0] & 1) == 0;
}

cni::Result<json> ParseBody(const HttpAnswer& a, const std::string& what) {
  json j = json::parse(a.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return cni::Error(cni::Code::kDecodingFailure,
                      what + ": the API server answered with something that is not JSON: " +
                          a.body.substr(0, 200));
  }
  return j;
}

cni::Error NotReady(const std::string& msg) { return cni::Error(cni::Code::kNotAvailable, msg); }

}  // namespace

cni::Result<std::unique_ptr<KubeRegistry>> KubeRegistry::Create(const RegistryOptions& opts) {
  if (opts.node_name.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "kubernetes registry: node name is empty");
  }
  auto names = MakeAnnotationNames(opts.annotation_prefix);
  if (!names) return names.error();
  auto client = Client::Create(opts.client);
  if (!client) return client.error();
  return std::unique_ptr<KubeRegistry>(new KubeRegistry(opts, *names, *std::move(client)));
}

KubeRegistry::KubeRegistry(RegistryOptions opts, AnnotationNames names,
                           std::unique_ptr<Client> client)
    : opts_(std::move(opts)), names_(std::move(names)), client_(std::move(client)) {}

cni::Result<overlay::ClusterConfig> KubeRegistry::Config() {
  std::ifstream in(opts_.net_config_path, std::ios::binary);
  if (!in) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "network config " + opts_.net_config_path +
                          " cannot be read (--net-config-path; flannel's net-conf.json, e.g. "
                          "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}})",
                      "", cni::Cause::kNotFound);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  auto parsed = overlay::ParseNetworkConfig(ss.str());
  if (!parsed) return parsed.error().Context(opts_.net_config_path);
  overlay::ClusterConfig cfg = parsed->cluster;
  // The controller manager gives every node a podCIDR of one size
  // (--node-cidr-mask-size); peers are judged against that, not flannel's default.
  if (own_) {
    if (cfg.enable_ipv4 && own_->subnet.prefix != 0) cfg.subnet_len = own_->subnet.prefix;
    if (cfg.enable_ipv6 && own_->ipv6_subnet.prefix != 0) {
      cfg.ipv6_subnet_len = own_->ipv6_subnet.prefix;
    }
  }
  cluster_ = cfg;
  return cfg;
}

cni::Result<KubeNode> KubeRegistry::GetOwnNode() {
  const std::string what = "get node " + opts_.node_name;
  auto a = client_->Request("GET", "/api/v1/nodes/" + opts_.node_name);
  if (!a) return a.error().Context(what);
  if (a->status == 404) {
    return NotReady("node \"" + opts_.node_name +
                    "\" is not registered with the API server (yet?); check --node-name");
  }
  if (a->status != 200) return AnswerError(what, *a);
  auto j = ParseBody(*a, what);
  if (!j) return j.error();
  auto n = DecodeNode(*j);
  if (!n) return n.error().Context(what);
  return n;
}

cni::Status KubeRegistry::PatchStatus(const std::string& content_type, const std::string& body,
                                      const std::string& what) {
  auto a = client_->Request("PATCH", "/api/v1/nodes/" + opts_.node_name + "/status",
                            content_type, body);
  if (!a) return a.error().Context(what);
  if (a->status != 200) return AnswerError(what, *a);
  return cni::OkStatus();
}

cni::Result<NodeLease> KubeRegistry::Acquire(const NodeLease& wanted) {
  if (wanted.name != opts_.node_name) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "kubernetes registry: asked for node \"" + wanted.name +
                          "\" but runs for node \"" + opts_.node_name + "\"");
  }
  own_.reset();  // the subnet length comes from the podCIDR read now
  auto cfg = Config();
  if (!cfg) return cfg.error();
  auto node = GetOwnNode();
  if (!node) return node.error();
  if (node->pod_cidrs.empty()) {
    return NotReady("node \"" + node->name +
                    "\" not ready, waiting for podCIDR: none assigned yet "
                    "(kube-controller-manager --allocate-node-cidrs assigns it)");
  }
  NodeLease out = wanted;
  out.subnet = {};
  out.ipv6_subnet = {};
  std::map<std::string, std::string> publish_ips;
  const auto& ann = node->annotations;
  auto annotation = [&](const std::string& name) {
    auto it = ann.find(name);
    return it == ann.end() ? std::string() : it->second;
  };
  const bool was_vxlan = annotation(names_.backend_type) == "vxlan";
  for (int family : {4, 6}) {
    const bool v4 = family == 4;
    if (!(v4 ? cfg->enable_ipv4 : cfg->enable_ipv6)) continue;
    auto cidr = PodCidr(*node, family);
    if (!cidr) return cidr.error().Context("node " + node->name);
    if (!*cidr) {
      return NotReady("node \"" + node->name + "\" not ready, waiting for podCIDR: no IPv" +
                      std::to_string(family) + " one yet (podCIDRs " +
                      json(node->pod_cidrs).dump() + ")");
    }
    const cni::IpNet& net = v4 ? cfg->network : cfg->ipv6_network;
    if (!net.Contains((*cidr)->addr) || (*cidr)->prefix < net.prefix) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "podCIDR " + (*cidr)->ToString() + " of node " + node->name +
                            " is outside the Network " + net.Masked().ToString() + " of " +
                            opts_.net_config_path);
    }
    (v4 ? out.subnet : out.ipv6_subnet) = **cidr;
    // Published address: an operator's overwrite wins (a node behind NAT); the data
    // path keeps the local address.
    const cni::IpAddr& local = v4 ? out.node_ip : out.node_ipv6;
    // No address of this family given (a caller that resolved none): nothing to
    // publish for it.
    if (local.IsUnspecified() || local.is_v4() != v4) continue;
    const std::string& over_name = v4 ? names_.public_ip_overwrite : names_.public_ipv6_overwrite;
    std::string published = local.ToString();
    if (const std::string over = annotation(over_name); !over.empty()) {
      auto ip = cni::ParseIpField(over_name, over);
      if (!ip || ip->is_v4() != v4) {
        return cni::Error(cni::Code::kInvalidNetworkConfig,
                          "node " + node->name + " annotation " + over_name + " \"" + over +
                              "\" is not an IPv" + std::to_string(family) + " address");
      }
      published = ip->ToString();
    }
    publish_ips[v4 ? names_.public_ip : names_.public_ipv6] = published;
    // flannel#1795: keep the VTEP MAC peers already have for this node.
    if (cfg->backend == overlay::BackendType::kVxlan && was_vxlan) {
      std::string mac = VtepMacOf(annotation(v4 ? names_.backend_data : names_.backend_v6_data));
      if (UnicastMac(mac)) (v4 ? out.vtep_mac : out.vtep_mac_v6) = mac;
    }
  }
  auto want = LeaseAnnotations(out, *cfg, names_);
  for (const auto& [k, v] : publish_ips) want[k] = v;
  std::map<std::string, std::string> diff;
  for (const auto& [k, v] : want) {
    if (annotation(k) != v) diff[k] = v;
  }
  if (!diff.empty()) {
    if (auto s = PatchStatus(kMergePatch, AnnotationsMergePatch(diff, {}),
                             "publish annotations of node " + node->name);
        !s) {
      return s.error();
    }
  }
  published_ = want;
  own_ = out;
  own_cidrs_ = node->pod_cidrs;
  own_lost_ = false;
  republish_ = false;
  nodes_[node->name] = *node;
  // The subnet length now follows the podCIDR; peers are judged again with it.
  if (auto c = Config(); c && listed_) (void)Judge();
  return out;
}

cni::Status KubeRegistry::Renew() {
  if (!own_) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "kubernetes registry: no lease to renew",
                      "", cni::Cause::kNotFound);
  }
  if (own_lost_) {
    return cni::Error(cni::Code::kIoFailure,
                      "node " + opts_.node_name + " was deleted or its podCIDR changed", "",
                      cni::Cause::kNotFound);
  }
  return cni::OkStatus();
}

cni::Status KubeRegistry::Release() {
  if (!own_) return cni::OkStatus();
  std::vector<std::string> remove;
  for (const auto& [k, v] : published_) remove.push_back(k);
  if (auto s = PatchStatus(kMergePatch, AnnotationsMergePatch({}, remove),
                           "remove annotations of node " + opts_.node_name);
      !s && !s.error().IsNotFound()) {
    return s.error();
  }
  own_.reset();
  published_.clear();
  return cni::OkStatus();
}

cni::Status KubeRegistry::DataPathUp() {
  want_available_ = true;
  available_done_ = false;
  auto s = PatchStatus(kStrategicMergePatch, NetworkAvailablePatch(Rfc3339Now()),
                       "set NetworkUnavailable=False on node " + opts_.node_name);
  if (s) available_done_ = true;
  return s;
}

cni::Status KubeRegistry::ListNodes() {
  std::map<std::string, KubeNode> all;
  std::string cont, rv;
  for (int restarts = 0;;) {
    std::string path = "/api/v1/nodes?limit=" + std::to_string(kListPageSize);
    if (!cont.empty()) path += "&continue=" + cont;
    auto a = client_->Request("GET", path);
    if (!a) return a.error().Context("list nodes");
    if (a->status == 410 && !cont.empty() && restarts++ < 3) {
      // The continue token expired between pages: start over.
      all.clear();
      cont.clear();
      continue;
    }
    if (a->status != 200) return AnswerError("list nodes", *a);
    auto j = ParseBody(*a, "list nodes");
    if (!j) return j.error();
    auto list = DecodeNodeList(*j);
    if (!list) return list.error().Context("list nodes");
    for (auto& n : list->items) all[n.name] = std::move(n);
    rv = list->resource_version;
    cont = list->continue_token;
    if (cont.empty()) break;
  }
  nodes_ = std::move(all);
  rv_ = rv;
  listed_ = true;
  ++lists_;
  if (own_) {
    auto me = nodes_.find(opts_.node_name);
    if (me == nodes_.end()) {
      own_lost_ = true;
    } else {
      CheckOwnNode(me->second);
    }
  }
  return cni::OkStatus();
}

std::vector<PeerEvent> KubeRegistry::Judge() {
  const overlay::SelfView self = overlay::SelfView::Of(own_);
  std::vector<overlay::LeaseCandidate> all;
  for (const auto& [name, n] : nodes_) {
    if (name == opts_.node_name) continue;
    if (auto c = CandidateFromNode(n, names_, *cluster_)) all.push_back(*std::move(c));
  }
  auto verdict = overlay::ValidateLeases(*cluster_, self, all);
  std::vector<PeerEvent> out = overlay::AcceptedChanges(peers_, verdict.accepted);
  peers_ = std::move(verdict.accepted);
  rejected_ = std::move(verdict.rejected);
  return out;
}

cni::Result<std::vector<NodeLease>> KubeRegistry::ListPeers() {
  if (!cluster_) {
    if (auto c = Config(); !c) return c.error().Context("list peers");
  }
  watch_.reset();
  if (auto s = ListNodes(); !s) return s.error();
  peers_.clear();
  (void)Judge();
  std::vector<NodeLease> out;
  out.reserve(peers_.size());
  for (const auto& [name, lease] : peers_) out.push_back(lease);
  return out;
}

void KubeRegistry::CheckOwnNode(const KubeNode& n) {
  if (!own_) return;
  if (n.pod_cidrs != own_cidrs_) {
    own_lost_ = true;
    return;
  }
  for (const auto& [k, v] : published_) {
    auto it = n.annotations.find(k);
    if (it == n.annotations.end() || it->second != v) republish_ = true;
  }
}

void KubeRegistry::ApplyWatchEvent(const WatchEvent& ev) {
  if (!ev.node.resource_version.empty()) rv_ = ev.node.resource_version;
  if (ev.type == WatchEvent::Type::kBookmark) return;
  const std::string& name = ev.node.name;
  if (ev.type == WatchEvent::Type::kDeleted) {
    nodes_.erase(name);
    if (name == opts_.node_name && own_) own_lost_ = true;
    return;
  }
  nodes_[name] = ev.node;
  if (name == opts_.node_name) CheckOwnNode(ev.node);
}

cni::Result<std::vector<PeerEvent>> KubeRegistry::WaitPeers(std::chrono::milliseconds timeout) {
  if (!listed_ || !cluster_) {
    return cni::Error(cni::Code::kInternal, "kubernetes registry: WaitPeers before ListPeers");
  }
  // Pending writes to our own node: retried on every turn until they get through.
  if (republish_ && own_) {
    std::map<std::string, std::string> set = published_;
    if (PatchStatus(kMergePatch, AnnotationsMergePatch(set, {}),
                    "publish annotations of node " + opts_.node_name)) {
      republish_ = false;
    }
  }
  if (want_available_ && !available_done_) (void)DataPathUp();

  bool relist = false;
  if (!watch_) {
    auto w = NodeWatch::Start(*client_, rv_, opts_.watch_timeout_seconds);
    if (!w) return w.error().Context("watch nodes");
    watch_ = *std::move(w);
  }
  std::vector<WatchEvent> evs;
  auto got = watch_->Next(timeout);
  if (got) {
    evs = *std::move(got);
  } else if (watch_->end() == NodeWatch::End::kClosed) {
    watch_.reset();  // reopened from rv_ on the next call
  } else {
    relist = true;
  }
  bool changed = false;
  for (const auto& ev : evs) {
    ApplyWatchEvent(ev);
    changed = changed || ev.type != WatchEvent::Type::kBookmark;
  }
  if (relist) {
    // 410 Gone (our resourceVersion is too old), an ERROR event, or a lost stream:
    // read everything again; the difference to the last accepted set is the events.
    watch_.reset();
    if (auto s = ListNodes(); !s) return s.error().Context("re-list nodes after watch ended");
    changed = true;
  }
  if (!changed) return std::vector<PeerEvent>{};
  return Judge();
}

}  // namespace linen::kube
