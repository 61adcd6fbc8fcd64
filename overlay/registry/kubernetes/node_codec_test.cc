#include "overlay/registry/kubernetes/node_codec.h"

#include <gtest/gtest.h>

#include "libcni/types.h"

namespace linen::kube {
namespace {

using cni::json;

// A Node as the API server returns it for a node running flanneld
// --kube-subnet-mgr with the vxlan backend (annotations exactly as flanneld writes
// them: backend-data is a JSON string inside the annotation).
constexpr const char* kFlannelNode = R"({
  "apiVersion": "v1", "kind": "Node",
  "metadata": {
    "name": "worker-1", "uid": "0b3c4b8e-6d3c-4c53-9d2a-5d0a3c1f0e11",
    "resourceVersion": "81234", "creationTimestamp": "2024-03-01T10:00:00Z",
    "labels": {"kubernetes.io/hostname": "worker-1", "kubernetes.io/os": "linux"},
    "annotations": {
      "flannel.alpha.coreos.com/backend-data": "{\"VNI\":1,\"VtepMAC\":\"8a:9b:3c:4d:5e:6f\"}",
      "flannel.alpha.coreos.com/backend-type": "vxlan",
      "flannel.alpha.coreos.com/kube-subnet-manager": "true",
      "flannel.alpha.coreos.com/public-ip": "192.168.56.11",
      "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
      "node.alpha.kubernetes.io/ttl": "0",
      "volumes.kubernetes.io/controller-managed-attach-detach": "true"
    }
  },
  "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
  "status": {
    "addresses": [{"type": "InternalIP", "address": "192.168.56.11"},
                  {"type": "Hostname", "address": "worker-1"}],
    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]
  }
})";

overlay::ClusterConfig Vxlan() {
  overlay::ClusterConfig c;
  c.network = *cni::IpNet::Parse("10.244.0.0/16");
  c.subnet_len = 24;
  return c;
}

AnnotationNames Names() { return *MakeAnnotationNames(kDefaultAnnotationPrefix); }

TEST(NodeCodecTest, FlannelNodeBecomesPeerLease) {
  auto n = DecodeNode(json::parse(kFlannelNode));
  ASSERT_TRUE(n) << n.error().msg();
  EXPECT_EQ(n->name, "worker-1");
  EXPECT_EQ(n->resource_version, "81234");
  EXPECT_EQ(n->created, 1709287200);
  auto c = CandidateFromNode(*n, Names(), Vxlan());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->lease) << c->decode_error;
  EXPECT_EQ(c->key, "worker-1");
  EXPECT_EQ(c->backend_type, "vxlan");
  EXPECT_EQ(c->lease->name, "worker-1");
  EXPECT_EQ(c->lease->subnet.ToString(), "10.244.1.0/24");
  EXPECT_EQ(c->lease->node_ip.ToString(), "192.168.56.11");
  EXPECT_EQ(c->lease->vtep_mac, "8a:9b:3c:4d:5e:6f");
  auto verdict = overlay::ValidateLeases(Vxlan(), {}, {*c});
  EXPECT_EQ(verdict.accepted.count("worker-1"), 1u);
}

TEST(NodeCodecTest, DualStackNodeFillsBothFamilies) {
  json j = json::parse(kFlannelNode);
  j["spec"]["podCIDRs"] = {"10.244.1.0/24", "fd00:10:244:1::/64"};
  auto& a = j["metadata"]["annotations"];
  a["flannel.alpha.coreos.com/backend-v6-data"] = R"({"VNI":1,"VtepMAC":"8a:9b:3c:4d:5e:70"})";
  a["flannel.alpha.coreos.com/public-ipv6"] = "fd00:56::11";
  auto n = DecodeNode(j);
  ASSERT_TRUE(n);
  auto cfg = Vxlan();
  cfg.enable_ipv6 = true;
  cfg.ipv6_network = *cni::IpNet::Parse("fd00:10:244::/56");
  auto c = CandidateFromNode(*n, Names(), cfg);
  ASSERT_TRUE(c && c->lease) << (c ? c->decode_error : "no candidate");
  EXPECT_EQ(c->lease->ipv6_subnet.ToString(), "fd00:10:244:1::/64");
  EXPECT_EQ(c->lease->node_ipv6.ToString(), "fd00:56::11");
  EXPECT_EQ(c->lease->vtep_mac_v6, "8a:9b:3c:4d:5e:70");
  EXPECT_EQ(c->lease->subnet.ToString(), "10.244.1.0/24");
}

TEST(NodeCodecTest, OnlyManagedNodesWithPodCidrTakePart) {
  json j = json::parse(kFlannelNode);
  j["metadata"]["annotations"].erase("flannel.alpha.coreos.com/kube-subnet-manager");
  EXPECT_FALSE(CandidateFromNode(*DecodeNode(j), Names(), Vxlan()));
  j = json::parse(kFlannelNode);
  j["spec"].erase("podCIDR");
  j["spec"].erase("podCIDRs");
  EXPECT_FALSE(CandidateFromNode(*DecodeNode(j), Names(), Vxlan()));
  // spec.podCIDR alone (clusters before dual-stack) is enough.
  j = json::parse(kFlannelNode);
  j["spec"].erase("podCIDRs");
  auto c = CandidateFromNode(*DecodeNode(j), Names(), Vxlan());
  ASSERT_TRUE(c && c->lease);
  EXPECT_EQ(c->lease->subnet.ToString(), "10.244.1.0/24");
}

TEST(NodeCodecTest, UnreadableAnnotationsAreRejectedNotDropped) {
  for (auto [key, value] : {std::pair{"flannel.alpha.coreos.com/public-ip", "not-an-ip"},
                            std::pair{"flannel.alpha.coreos.com/backend-data", "{\"VNI\":1"},
                            std::pair{"flannel.alpha.coreos.com/backend-data", "{\"VNI\":1}"}}) {
    json j = json::parse(kFlannelNode);
    j["metadata"]["annotations"][key] = value;
    auto c = CandidateFromNode(*DecodeNode(j), Names(), Vxlan());
    ASSERT_TRUE(c) << key;
    EXPECT_FALSE(c->lease) << key << "=" << value;
    auto verdict = overlay::ValidateLeases(Vxlan(), {}, {*c});
    ASSERT_EQ(verdict.rejected.size(), 1u);
    EXPECT_EQ(verdict.rejected[0].reason, overlay::RejectReason::kUndecodable);
    EXPECT_NE(verdict.rejected[0].detail.find("worker-1"), std::string::npos);
  }
}

TEST(NodeCodecTest, HostGwNodeNeedsNoBackendData) {
  json j = json::parse(kFlannelNode);
  auto& a = j["metadata"]["annotations"];
  a["flannel.alpha.coreos.com/backend-type"] = "host-gw";
  a["flannel.alpha.coreos.com/backend-data"] = "null";
  auto cfg = Vxlan();
  cfg.backend = overlay::BackendType::kHostGw;
  auto c = CandidateFromNode(*DecodeNode(j), Names(), cfg);
  ASSERT_TRUE(c && c->lease) << (c ? c->decode_error : "");
  EXPECT_EQ(c->lease->vtep_mac, "");
  // The same node judged by a vxlan cluster: wrong backend.
  auto v = CandidateFromNode(*DecodeNode(j), Names(), Vxlan());
  auto verdict = overlay::ValidateLeases(Vxlan(), {}, {*v});
  ASSERT_EQ(verdict.rejected.size(), 1u);
}

TEST(NodeCodecTest, PublishesFlannelsExactStrings) {
  overlay::NodeLease l;
  l.name = "n1";
  l.node_ip = *cni::IpAddr::Parse("10.0.0.5");
  l.subnet = *cni::IpNet::Parse("10.244.3.0/24");
  l.vtep_mac = "0e:4c:0a:00:00:05";
  auto a = LeaseAnnotations(l, Vxlan(), Names());
  EXPECT_EQ(a["flannel.alpha.coreos.com/backend-data"],
            R"({"VNI":1,"VtepMAC":"0e:4c:0a:00:00:05"})");
  EXPECT_EQ(a["flannel.alpha.coreos.com/backend-type"], "vxlan");
  EXPECT_EQ(a["flannel.alpha.coreos.com/kube-subnet-manager"], "true");
  EXPECT_EQ(a["flannel.alpha.coreos.com/public-ip"], "10.0.0.5");
  EXPECT_EQ(a.count("flannel.alpha.coreos.com/backend-v6-data"), 0u);
  auto hg = Vxlan();
  hg.backend = overlay::BackendType::kHostGw;
  EXPECT_EQ(LeaseAnnotations(l, hg, Names())["flannel.alpha.coreos.com/backend-data"], "null");
  EXPECT_EQ(VtepMacOf(a["flannel.alpha.coreos.com/backend-data"]), "0e:4c:0a:00:00:05");
  EXPECT_EQ(VtepMacOf("null"), "");
}

TEST(NodeCodecTest, AnnotationPrefixFollowsFlannelsRules) {
  EXPECT_EQ(MakeAnnotationNames("flannel.alpha.coreos.com")->public_ip,
            "flannel.alpha.coreos.com/public-ip");
  EXPECT_EQ(MakeAnnotationNames("example.com/net")->public_ip, "example.com/net-public-ip");
  EXPECT_EQ(MakeAnnotationNames("example.com/net-")->backend_type, "example.com/net-backend-type");
  for (const char* bad : {"a/b/c", "noDots", "Upper.Case", "example.com/x y", "", "x.y/ -"}) {
    auto r = MakeAnnotationNames(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), cni::Code::kInvalidNetworkConfig);
  }
}

TEST(NodeCodecTest, PatchBodies) {
  json m = json::parse(AnnotationsMergePatch({{"a.b/x", "1"}}, {"a.b/y"}));
  EXPECT_EQ(m, json::parse(R"({"metadata":{"annotations":{"a.b/x":"1","a.b/y":null}}})"));
  json s = json::parse(NetworkAvailablePatch("2026-01-02T03:04:05Z"));
  const json& cond = s["status"]["conditions"][0];
  EXPECT_EQ(s["status"]["conditions"].size(), 1u);
  EXPECT_EQ(cond["type"], "NetworkUnavailable");
  EXPECT_EQ(cond["status"], "False");
  EXPECT_EQ(cond["reason"], "LinenIsUp");
  EXPECT_EQ(cond["lastTransitionTime"], "2026-01-02T03:04:05Z");
}

TEST(NodeCodecTest, BadObjectsAreCode6) {
  for (const char* text : {R"([])", R"({"metadata":{}})",
                           R"({"metadata":{"name":"n","annotations":{"a":1}}})",
                           R"({"metadata":{"name":"n"},"spec":{"podCIDRs":"10.0.0.0/24"}})"}) {
    auto n = DecodeNode(json::parse(text));
    ASSERT_FALSE(n) << text;
    EXPECT_EQ(n.error().code(), cni::Code::kDecodingFailure) << text;
  }
  auto list = DecodeNodeList(json::parse(
      R"({"kind":"NodeList","metadata":{"resourceVersion":"7","continue":"abc"},"items":[)" +
      std::string(kFlannelNode) + "]}"));
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_EQ(list->resource_version, "7");
  EXPECT_EQ(list->continue_token, "abc");
  ASSERT_EQ(list->items.size(), 1u);
}

}  // namespace
}  // namespace linen::kube
