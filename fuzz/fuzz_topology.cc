// libFuzzer target: the registries' text inputs. Every input goes to each parser
// (their formats overlap: a topology and a Node are JSON, a kubeconfig is YAML, JSON
// included), so one target and one corpus cover them.
//  - The static topology parser (overlay/registry). On an accepted topology: every
//    node finds itself by name, and its peers are all the other nodes.
//  - A Kubernetes Node object (kubernetes/node_codec.h), judged by a dual-stack vxlan
//    and an IPv6-only host-gw cluster: a peer lease that is accepted, published again
//    with LeaseAnnotations on the same podCIDRs, reads back as the same lease.
//  - A kubeconfig (kubernetes/kube_config.h): YamlToJson's output is JSON, and
//    ParseKubeconfig returns (it reads no files).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "overlay/registry/kubernetes/kube_config.h"
#include "overlay/registry/kubernetes/node_codec.h"
#include "overlay/registry/lease_validation.h"
#include "overlay/registry/static_topology.h"

namespace {

using namespace linen;

void FuzzTopology(std::string_view text) {
  auto topo = overlay::ParseTopology(text);
  if (!topo) return;
  for (const auto& node : topo->nodes) {
    auto self = overlay::FindSelf(*topo, node.name, "", {});
    if (!self || !(*self == node)) std::abort();
    if (overlay::PeersOf(*topo, *self).size() + 1 != topo->nodes.size()) std::abort();
  }
}

overlay::ClusterConfig Cluster(bool ipv4, overlay::BackendType backend) {
  overlay::ClusterConfig c;
  c.enable_ipv4 = ipv4;
  if (ipv4) {
    c.network = *cni::IpNet::Parse("10.244.0.0/16");
    c.subnet_len = 24;
  }
  c.enable_ipv6 = true;
  c.ipv6_network = *cni::IpNet::Parse("fd00:10:244::/56");
  c.ipv6_subnet_len = 64;
  c.backend = backend;
  return c;
}

void FuzzNode(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return;
  auto n = kube::DecodeNode(j);
  if (!n) return;
  static const kube::AnnotationNames names =
      *kube::MakeAnnotationNames(kube::kDefaultAnnotationPrefix);
  for (const auto& cfg : {Cluster(true, overlay::BackendType::kVxlan),
                          Cluster(false, overlay::BackendType::kHostGw)}) {
    auto c = kube::CandidateFromNode(*n, names, cfg);
    if (!c) continue;
    auto verdict = overlay::ValidateLeases(cfg, {}, {*c});
    auto it = verdict.accepted.find(n->name);
    if (it == verdict.accepted.end()) continue;
    kube::KubeNode again = *n;
    again.annotations = kube::LeaseAnnotations(it->second, cfg, names);
    auto c2 = kube::CandidateFromNode(again, names, cfg);
    if (!c2 || !c2->lease) std::abort();
    auto v2 = overlay::ValidateLeases(cfg, {}, {*c2});
    if (v2.accepted.size() != 1 || !(v2.accepted.begin()->second == it->second)) std::abort();
  }
}

void FuzzKubeconfig(const std::string& text) {
  auto j = kube::YamlToJson(text);
  if (j && nlohmann::json::parse(*j, nullptr, /*allow_exceptions=*/false).is_discarded()) {
    std::abort();
  }
  (void)kube::ParseKubeconfig(text, "/nonexistent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  FuzzTopology(text);
  FuzzNode(text);
  FuzzKubeconfig(text);
  return 0;
}
