// KubeRegistry against the test API server (testing/kube_api_server.h) in a test
// namespace: TLS, bearer token from a file, list + watch, patches on nodes/status.
#include "overlay/registry/kubernetes/kube_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "libcni/sys/file.h"
#include "libcni/types.h"
#include "libcni/base64.h"
#include "netns/netns.h"
#include "overlay/registry/etcd/etcd_test_fixture.h"
#include "overlay/registry/kubernetes/testing/kube_api_server.h"
#include "test/support/test_support.h"

namespace linen::kube {
namespace {

using cni::json;
using overlay::PeerEvent;
using testing::FlannelAnnotations;
using testing::KubeApiServer;
using testing::MakeNodeJson;

constexpr const char* kP = "flannel.alpha.coreos.com/";

class KubeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = test::TempNetns::Create(test::UniqueName("kreg"));
    ASSERT_TRUE(ns) << ns.error().msg();
    ns_.emplace(std::move(*ns));
    auto s = KubeApiServer::Start(ns_->ns(), {.port = 0});
    ASSERT_TRUE(s) << s.error().msg();
    server_ = std::move(*s);
    auto sw = cni::ScopedNetnsSwitch::Enter(ns_->ns());
    ASSERT_TRUE(sw) << sw.error().msg();
    inside_.emplace(std::move(*sw));
    WriteToken(server_->token());
    // kube-flannel.yml's net-conf.json, as shipped.
    NetConf(R"({
  "Network": "10.244.0.0/16",
  "EnableNFTables": false,
  "Backend": {
    "Type": "vxlan"
  }
})");
  }
  void TearDown() override {
    server_.reset();
    inside_.reset();
    ns_.reset();
  }

  void WriteToken(const std::string& t) {
    // As the kubelet rotates a projected token: a new file renamed into place.
    std::string tmp = dir_.path() + "/token.tmp";
    std::ofstream(tmp) << t;
    ASSERT_EQ(std::rename(tmp.c_str(), (dir_.path() + "/token").c_str()), 0);
  }
  void NetConf(const std::string& text) { std::ofstream(dir_.path() + "/net-conf.json") << text; }

  RegistryOptions Options(const std::string& node = "n1") {
    RegistryOptions o;
    o.client.server = server_->url();
    o.client.ca_file = server_->ca_file();
    o.client.token_file = dir_.path() + "/token";
    o.node_name = node;
    o.net_config_path = dir_.path() + "/net-conf.json";
    return o;
  }
  std::unique_ptr<KubeRegistry> Make(const std::string& node = "n1") {
    auto r = KubeRegistry::Create(Options(node));
    EXPECT_TRUE(r) << r.error().msg();
    return r ? std::move(*r) : nullptr;
  }
  void AddNode(const std::string& name, const std::string& ip,
               std::vector<std::string> cidrs = {}) {
    auto rv = server_->PutNode(MakeNodeJson(name, ip, cidrs));
    ASSERT_TRUE(rv) << rv.error().msg();
  }
  // A node as flanneld leaves it: podCIDR and its annotations.
  void AddFlannelNode(const std::string& name, int i) {
    AddNode(name, "10.99.0." + std::to_string(10 + i), {"10.244." + std::to_string(i) + ".0/24"});
    FlannelAnnotations f;
    f.public_ip = "10.99.0." + std::to_string(10 + i);
    f.vtep_mac = "8a:00:00:00:00:0" + std::to_string(i);
    ASSERT_TRUE(server_->WriteFlannelAnnotations(name, f));
  }
  overlay::NodeLease Wanted(const std::string& name = "n1", const std::string& ip = "10.99.0.11") {
    overlay::NodeLease w;
    w.name = name;
    w.node_ip = *cni::IpAddr::Parse(ip);
    w.vtep_mac = overlay::DeriveVtepMac(w.node_ip);
    return w;
  }
  // Waits (bounded) until WaitPeers has reported events matching `done`.
  std::vector<PeerEvent> WaitFor(KubeRegistry& r, size_t n) {
    std::vector<PeerEvent> all;
    for (int i = 0; i < 40 && all.size() < n; ++i) {
      auto evs = r.WaitPeers(std::chrono::milliseconds(250));
      EXPECT_TRUE(evs) << evs.error().msg();
      if (!evs) break;
      all.insert(all.end(), evs->begin(), evs->end());
    }
    return all;
  }
  // "+n3 -n2 ~n4 " sorted by node name (the order within one batch is not promised).
  static std::string Names(std::vector<PeerEvent> evs) {
    std::sort(evs.begin(), evs.end(),
              [](const PeerEvent& a, const PeerEvent& b) { return a.lease.name < b.lease.name; });
    std::string s;
    for (const auto& e : evs) {
      s += (e.kind == PeerEvent::Kind::kAdded     ? "+"
            : e.kind == PeerEvent::Kind::kRemoved ? "-"
                                                  : "~") +
           e.lease.name + " ";
    }
    return s;
  }

  test::TempDir dir_;
  std::optional<test::TempNetns> ns_;
  std::unique_ptr<KubeApiServer> server_;
  std::optional<cni::ScopedNetnsSwitch> inside_;
};

TEST_F(KubeRegistryTest, AcquirePublishesFlannelAnnotationsOnce) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  auto r = Make();
  ASSERT_TRUE(r);
  auto l = r->Acquire(Wanted());
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->subnet.ToString(), "10.244.1.0/24");
  EXPECT_EQ(l->vtep_mac, overlay::DeriveVtepMac(l->node_ip)) << "nothing published before";
  EXPECT_EQ(server_->Annotation("n1", std::string(kP) + "backend-type"), "vxlan");
  EXPECT_EQ(server_->Annotation("n1", std::string(kP) + "backend-data"),
            R"({"VNI":1,"VtepMAC":")" + l->vtep_mac + R"("})");
  EXPECT_EQ(server_->Annotation("n1", std::string(kP) + "public-ip"), "10.99.0.11");
  EXPECT_EQ(server_->Annotation("n1", std::string(kP) + "kube-subnet-manager"), "true");
  // The test server logs a request after answering it: wait (bounded).
  EXPECT_TRUE(server_->WaitForCount("patch", "/api/v1/nodes/n1/status", 1));
  EXPECT_EQ(server_->Count("patch", "/api/v1/nodes/n1/status"), 1);
  // Unchanged annotations are not written again. (A third call on the same
  // connection is answered only after the second one's requests were logged.)
  ASSERT_TRUE(r->Acquire(Wanted()));
  ASSERT_TRUE(r->Acquire(Wanted()));
  EXPECT_EQ(server_->Count("patch"), 1);
  // The kubelet's conditions survive NetworkUnavailable=False.
  ASSERT_TRUE(r->DataPathUp());
  EXPECT_EQ(server_->ConditionStatus("n1", "NetworkUnavailable"), "False");
  EXPECT_EQ(server_->ConditionStatus("n1", "Ready"), "True");
  EXPECT_EQ(server_->ConditionStatus("n1", "MemoryPressure"), "False");
  // --cleanup: the annotations go, so peers stop sending here.
  ASSERT_TRUE(r->Release());
  EXPECT_FALSE(server_->Annotation("n1", std::string(kP) + "public-ip"));
  EXPECT_FALSE(server_->Annotation("n1", std::string(kP) + "kube-subnet-manager"));
}

TEST_F(KubeRegistryTest, ReusesPublishedVtepMacAndHonoursOverwrite) {
  // The node ran flannel (or linen) before: its MAC is what peers programmed.
  AddFlannelNode("n1", 1);
  ASSERT_TRUE(server_->SetAnnotations(
      "n1", {{std::string(kP) + "public-ip-overwrite", std::string("203.0.113.5")}}));
  auto r = Make();
  auto l = r->Acquire(Wanted());
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->vtep_mac, "8a:00:00:00:00:01") << "flannel#1795: the MAC peers already have";
  EXPECT_EQ(l->node_ip.ToString(), "10.99.0.11") << "the data path keeps the local address";
  EXPECT_EQ(server_->Annotation("n1", std::string(kP) + "public-ip"), "203.0.113.5");
  ASSERT_TRUE(server_->SetAnnotations(
      "n1", {{std::string(kP) + "public-ip-overwrite", std::string("not-an-ip")}}));
  auto bad = r->Acquire(Wanted());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().msg().find("public-ip-overwrite"), std::string::npos);
}

TEST_F(KubeRegistryTest, NodeWithoutPodCidrWaitsThenBecomesReady) {
  AddNode("n1", "10.99.0.11");
  auto r = Make();
  auto l = r->Acquire(Wanted());
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), cni::Code::kNotAvailable);
  EXPECT_NE(l.error().msg().find("podCIDR"), std::string::npos) << l.error().msg();
  EXPECT_EQ(server_->Count("patch"), 0) << "nothing published without a subnet";
  auto missing = Make("ghost")->Acquire(Wanted("ghost"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), cni::Code::kNotAvailable);
  // The controller manager allocates; the next try succeeds.
  ASSERT_TRUE(server_->SetPodCidrs("n1", {"10.244.7.0/24"}));
  l = r->Acquire(Wanted());
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->subnet.ToString(), "10.244.7.0/24");
  // A podCIDR outside the configured Network is a configuration error.
  NetConf(R"({"Network":"10.100.0.0/16","Backend":{"Type":"vxlan"}})");
  auto outside = r->Acquire(Wanted());
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code(), cni::Code::kInvalidNetworkConfig);
}

TEST_F(KubeRegistryTest, PeersFromListAndWatch) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  AddFlannelNode("n2", 2);
  AddNode("n3", "10.99.0.13", {"10.244.3.0/24"});  // no annotations: not a peer
  AddFlannelNode("n4", 4);
  ASSERT_TRUE(server_->SetAnnotations("n4", {{std::string(kP) + "public-ip", std::string("x")}}));
  auto r = Make();
  ASSERT_TRUE(r->Acquire(Wanted()));
  auto peers = r->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].name, "n2");
  EXPECT_EQ((*peers)[0].vtep_mac, "8a:00:00:00:00:02");
  ASSERT_EQ(r->Rejected().size(), 1u);
  EXPECT_EQ(r->Rejected()[0].key, "n4");

  // n3 gets flannel's annotations, n2 goes away, n4 is fixed.
  FlannelAnnotations f3;
  f3.public_ip = "10.99.0.13";
  f3.vtep_mac = "8a:00:00:00:00:03";
  ASSERT_TRUE(server_->WriteFlannelAnnotations("n3", f3));
  ASSERT_TRUE(server_->DeleteNode("n2"));
  ASSERT_TRUE(server_->SetAnnotations("n4", {{std::string(kP) + "public-ip",
                                              std::string("10.99.0.14")}}));
  auto evs = WaitFor(*r, 3);
  EXPECT_EQ(Names(evs), "-n2 +n3 +n4 ");
  EXPECT_TRUE(r->Rejected().empty());
  EXPECT_EQ(r->lists(), 1) << "followed on the watch, no re-list";

  // A change that is no peer's business brings no event.
  ASSERT_TRUE(server_->SetAnnotations("n3", {{"unrelated", std::string("x")}}));
  const std::string rv = std::to_string(server_->resource_version());
  for (int i = 0; i < 20 && r->resource_version() != rv; ++i) {
    auto none = r->WaitPeers(std::chrono::milliseconds(100));
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty()) << Names(*none);
  }
  EXPECT_EQ(r->resource_version(), rv);
  // A bookmark moves the resourceVersion on (here: to the same one) without events.
  server_->SendBookmark();
  auto quiet = r->WaitPeers(std::chrono::milliseconds(100));
  ASSERT_TRUE(quiet);
  EXPECT_TRUE(quiet->empty());

  // Someone strips our annotations: they are published again.
  ASSERT_TRUE(server_->SetAnnotations("n1", {{std::string(kP) + "kube-subnet-manager",
                                              std::nullopt}}));
  for (int i = 0; i < 20 && !server_->Annotation("n1", std::string(kP) + "kube-subnet-manager");
       ++i) {
    ASSERT_TRUE(r->WaitPeers(std::chrono::milliseconds(100)));
  }
  EXPECT_EQ(server_->Annotation("n1", std::string(kP) + "kube-subnet-manager"), "true");
}

TEST_F(KubeRegistryTest, GoneMidWatchRelistsWithoutLosingAChange) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  AddFlannelNode("n2", 2);
  AddFlannelNode("n3", 3);
  auto r = Make();
  ASSERT_TRUE(r->Acquire(Wanted()));
  ASSERT_TRUE(r->ListPeers());
  ASSERT_TRUE(r->WaitPeers(std::chrono::milliseconds(50)));  // the watch is open
  ASSERT_TRUE(server_->WaitForWatches(1));
  // 410 arrives mid-watch; the change after it is never streamed to us.
  server_->ExpireWatches();
  ASSERT_TRUE(server_->DeleteNode("n3"));
  auto evs = WaitFor(*r, 1);
  EXPECT_EQ(Names(evs), "-n3 ");
  EXPECT_EQ(r->lists(), 2);

  // The connection drops mid-stream (an API server restart): re-list.
  AddFlannelNode("n5", 5);
  EXPECT_EQ(Names(WaitFor(*r, 1)), "+n5 ");
  server_->CloseWatches();
  ASSERT_TRUE(server_->DeleteNode("n2"));
  EXPECT_EQ(Names(WaitFor(*r, 1)), "-n2 ");
  EXPECT_EQ(r->lists(), 3);
}

TEST_F(KubeRegistryTest, ClosedWatchReopensAndGoneAtStartRelists) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  AddFlannelNode("n2", 2);
  AddFlannelNode("n3", 3);
  auto o = Options();
  o.watch_timeout_seconds = 1;
  auto made = KubeRegistry::Create(o);
  ASSERT_TRUE(made);
  auto& r = *made;
  ASSERT_TRUE(r->Acquire(Wanted()));
  ASSERT_TRUE(r->ListPeers());
  // The server ends each watch after timeoutSeconds: reopened from the last version,
  // without a list.
  for (int i = 0; i < 40 && server_->Count("watch") < 2; ++i) {
    ASSERT_TRUE(r->WaitPeers(std::chrono::milliseconds(100)));
  }
  EXPECT_GE(server_->Count("watch"), 2);
  EXPECT_EQ(r->lists(), 1);
  // Let a watch end, then change and compact before it is reopened: the new watch
  // gets 410 at its start, and only a re-list shows the change.
  for (int i = 0; i < 40 && server_->open_watches() > 0; ++i) {
    ASSERT_TRUE(r->WaitPeers(std::chrono::milliseconds(100)));
  }
  ASSERT_EQ(server_->open_watches(), 0u);
  ASSERT_TRUE(server_->DeleteNode("n3"));
  server_->Compact();
  EXPECT_EQ(Names(WaitFor(*r, 1)), "-n3 ");
  EXPECT_EQ(r->lists(), 2);
}

TEST_F(KubeRegistryTest, RotatedTokenIsReadAgain) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  AddFlannelNode("n2", 2);
  auto r = Make();
  ASSERT_TRUE(r->Acquire(Wanted()));
  ASSERT_TRUE(r->ListPeers());
  const int reads = r->client().token_reads();
  server_->SetToken("rotated-token");
  WriteToken("rotated-token");
  auto peers = r->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  EXPECT_EQ(peers->size(), 1u);
  EXPECT_GT(r->client().token_reads(), reads);
  // The watch is opened with the new token too.
  AddFlannelNode("n3", 3);
  EXPECT_EQ(Names(WaitFor(*r, 1)), "+n3 ");
  // A token the server refuses and that the file does not fix: code 5, says 401.
  server_->SetToken("another");
  auto refused = r->ListPeers();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), cni::Code::kIoFailure);
  EXPECT_NE(refused.error().msg().find("401"), std::string::npos) << refused.error().msg();
}

TEST_F(KubeRegistryTest, UntrustedServerIsATlsError) {
  auto o = Options();
  o.client.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // not the test CA
  auto r = KubeRegistry::Create(o);
  ASSERT_TRUE(r);
  auto l = (*r)->ListPeers();
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), cni::Code::kIoFailure);
  EXPECT_NE(l.error().msg().find("TLS"), std::string::npos) << l.error().msg();
}

TEST_F(KubeRegistryTest, OwnNodeDeletedOrReallocatedMeansAcquireAgain) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  auto r = Make();
  ASSERT_TRUE(r->Acquire(Wanted()));
  ASSERT_TRUE(r->ListPeers());
  EXPECT_TRUE(r->Renew());
  ASSERT_TRUE(server_->DeleteNode("n1"));
  for (int i = 0; i < 20 && r->Renew(); ++i) ASSERT_TRUE(r->WaitPeers(std::chrono::milliseconds(100)));
  auto lost = r->Renew();
  ASSERT_FALSE(lost);
  EXPECT_TRUE(lost.error().IsNotFound()) << lost.error().msg();
  AddNode("n1", "10.99.0.11", {"10.244.9.0/24"});
  auto again = r->Acquire(Wanted());
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(again->subnet.ToString(), "10.244.9.0/24");
  EXPECT_TRUE(r->Renew());
}

TEST_F(KubeRegistryTest, PeersAreJudgedByThePodCidrSize) {
  // --node-cidr-mask-size 25 with a net-conf.json that states no SubnetLen (flannel's
  // default would be 24): the podCIDR's size is the cluster's subnet length.
  AddNode("n1", "10.99.0.11", {"10.244.1.0/25"});
  AddNode("n2", "10.99.0.12", {"10.244.1.128/25"});
  FlannelAnnotations f;
  f.public_ip = "10.99.0.12";
  f.vtep_mac = "8a:00:00:00:00:02";
  ASSERT_TRUE(server_->WriteFlannelAnnotations("n2", f));
  auto r = Make();
  ASSERT_TRUE(r->Acquire(Wanted()));
  auto peers = r->ListPeers();
  ASSERT_TRUE(peers);
  EXPECT_EQ(peers->size(), 1u);
  EXPECT_TRUE(r->Rejected().empty());
  EXPECT_EQ(r->Config()->subnet_len, 25);
}

// ---- Dual-stack and IPv6-only (flanneld --kube-subnet-mgr with EnableIPv6)

constexpr const char* kDualStack =
    R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56",)"
    R"("Backend":{"Type":"vxlan"}})";
constexpr const char* kIpv6Only =
    R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56",)"
    R"("Backend":{"Type":"vxlan"}})";

// What the agent asks for in a dual-stack cluster: both addresses, both VTEP MACs.
overlay::NodeLease WantedDual(const std::string& name, const std::string& ip,
                              const std::string& ip6) {
  overlay::NodeLease w;
  w.name = name;
  if (!ip.empty()) {
    w.node_ip = *cni::IpAddr::Parse(ip);
    w.vtep_mac = overlay::DeriveVtepMac(w.node_ip);
  }
  w.node_ipv6 = *cni::IpAddr::Parse(ip6);
  w.vtep_mac_v6 = overlay::DeriveVtepMacV6(w.node_ipv6);
  return w;
}

TEST_F(KubeRegistryTest, DualStackAcquirePublishesBothFamilies) {
  NetConf(kDualStack);
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24", "fd00:10:244:1::/64"});
  auto r = Make();
  const auto wanted = WantedDual("n1", "10.99.0.11", "fd00:99::11");
  auto l = r->Acquire(wanted);
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->subnet.ToString(), "10.244.1.0/24");
  EXPECT_EQ(l->ipv6_subnet.ToString(), "fd00:10:244:1::/64");
  EXPECT_EQ(l->vtep_mac_v6, wanted.vtep_mac_v6) << "nothing published before";
  const std::string p = kP;
  EXPECT_EQ(server_->Annotation("n1", p + "backend-data"),
            R"({"VNI":1,"VtepMAC":")" + wanted.vtep_mac + R"("})");
  EXPECT_EQ(server_->Annotation("n1", p + "backend-v6-data"),
            R"({"VNI":1,"VtepMAC":")" + wanted.vtep_mac_v6 + R"("})");
  EXPECT_EQ(server_->Annotation("n1", p + "public-ip"), "10.99.0.11");
  EXPECT_EQ(server_->Annotation("n1", p + "public-ipv6"), "fd00:99::11");
  auto cfg = r->Config();
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->ipv6_subnet_len, 64);

  // A restart on a node whose IPv6 VTEP MAC peers already have (flannel#1795, for the
  // v6 VTEP too) and whose operator overrides the published IPv6 address.
  ASSERT_TRUE(server_->SetAnnotations(
      "n1", {{p + "backend-v6-data", std::string(R"({"VNI":1,"VtepMAC":"8a:00:00:00:06:01"})")},
             {p + "public-ipv6-overwrite", std::string("2001:db8::11")}}));
  auto again = Make()->Acquire(wanted);
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(again->vtep_mac_v6, "8a:00:00:00:06:01");
  EXPECT_EQ(again->vtep_mac, wanted.vtep_mac);
  EXPECT_EQ(again->node_ipv6.ToString(), "fd00:99::11") << "the data path keeps the local address";
  EXPECT_EQ(server_->Annotation("n1", p + "public-ipv6"), "2001:db8::11");
  EXPECT_EQ(server_->Annotation("n1", p + "backend-v6-data"),
            R"({"VNI":1,"VtepMAC":"8a:00:00:00:06:01"})");
  ASSERT_TRUE(server_->SetAnnotations(
      "n1", {{p + "public-ipv6-overwrite", std::string("10.1.2.3")}}));
  auto bad = Make()->Acquire(wanted);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().msg().find("public-ipv6-overwrite"), std::string::npos) << bad.error().msg();

  // Dual-stack, but the controller manager gave only an IPv4 podCIDR so far: wait.
  AddNode("n2", "10.99.0.12", {"10.244.2.0/24"});
  auto half = Make("n2")->Acquire(WantedDual("n2", "10.99.0.12", "fd00:99::12"));
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().code(), cni::Code::kNotAvailable);
  EXPECT_NE(half.error().msg().find("waiting for podCIDR: no IPv6"), std::string::npos)
      << half.error().msg();
}

TEST_F(KubeRegistryTest, Ipv6OnlyNodeAndFlannelIpv6OnlyPeer) {
  NetConf(kIpv6Only);
  AddNode("n1", "fd00:99::11", {"fd00:10:244:1::/64"});
  auto r = Make();
  const auto wanted = WantedDual("n1", "", "fd00:99::11");
  auto l = r->Acquire(wanted);
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_TRUE(overlay::IsUnset(l->subnet));
  EXPECT_EQ(l->ipv6_subnet.ToString(), "fd00:10:244:1::/64");
  const std::string p = kP;
  // As flanneld's vxlan backend with IPv4 off: no IPv4 pair at all.
  EXPECT_FALSE(server_->Annotation("n1", p + "backend-data"));
  EXPECT_FALSE(server_->Annotation("n1", p + "public-ip"));
  EXPECT_EQ(server_->Annotation("n1", p + "backend-v6-data"),
            R"({"VNI":1,"VtepMAC":")" + wanted.vtep_mac_v6 + R"("})");
  EXPECT_EQ(server_->Annotation("n1", p + "public-ipv6"), "fd00:99::11");

  // A flanneld IPv6-only node, annotated as flanneld does it.
  AddNode("n2", "fd00:99::12", {"fd00:10:244:2::/64"});
  ASSERT_TRUE(server_->WriteFlannelAnnotations(
      "n2", {.vtep_mac_v6 = "8a:00:00:00:06:02", .public_ipv6 = "fd00:99::12"}));
  auto peers = r->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  ASSERT_EQ(peers->size(), 1u) << (r->Rejected().empty() ? "" : r->Rejected()[0].detail);
  const overlay::NodeLease& n2 = (*peers)[0];
  EXPECT_EQ(n2.ipv6_subnet.ToString(), "fd00:10:244:2::/64");
  EXPECT_EQ(n2.node_ipv6.ToString(), "fd00:99::12");
  EXPECT_EQ(n2.vtep_mac_v6, "8a:00:00:00:06:02");
  EXPECT_TRUE(overlay::IsUnset(n2.subnet));
  EXPECT_TRUE(n2.vtep_mac.empty());
}

// A dual-stack node exactly as flanneld writes it is a peer with both families; the
// judgement covers both families against this node (overlaps_self, own_ip) and the
// IPv6 cluster network (outside_network), for peers and for our own podCIDR.
TEST_F(KubeRegistryTest, DualStackPeersAreJudgedInBothFamilies) {
  NetConf(kDualStack);
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24", "fd00:10:244:1::/64"});
  auto flannel_node = [&](const std::string& name, int i, const std::string& v6cidr,
                          const std::string& ip6) {
    AddNode(name, "10.99.0." + std::to_string(10 + i),
            {"10.244." + std::to_string(i) + ".0/24", v6cidr});
    ASSERT_TRUE(server_->WriteFlannelAnnotations(
        name, {.vtep_mac = "8a:00:00:00:04:0" + std::to_string(i),
               .public_ip = "10.99.0." + std::to_string(10 + i),
               .vtep_mac_v6 = "8a:00:00:00:06:0" + std::to_string(i),
               .public_ipv6 = ip6}));
  };
  flannel_node("n2", 2, "fd00:10:244:2::/64", "fd00:99::12");
  flannel_node("n3", 3, "fd00:10:244:1::/64", "fd00:99::13");  // our IPv6 podCIDR
  flannel_node("n4", 4, "fd00:10:244:4::/64", "fd00:99::11");  // our IPv6 address
  flannel_node("n5", 5, "fd00:10:99:5::/64", "fd00:99::15");   // outside IPv6Network
  auto r = Make();
  ASSERT_TRUE(r->Acquire(WantedDual("n1", "10.99.0.11", "fd00:99::11")));
  auto peers = r->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  ASSERT_EQ(peers->size(), 1u);
  const overlay::NodeLease& n2 = (*peers)[0];
  EXPECT_EQ(n2.name, "n2");
  EXPECT_EQ(n2.subnet.ToString(), "10.244.2.0/24");
  EXPECT_EQ(n2.node_ip.ToString(), "10.99.0.12");
  EXPECT_EQ(n2.vtep_mac, "8a:00:00:00:04:02");
  EXPECT_EQ(n2.ipv6_subnet.ToString(), "fd00:10:244:2::/64");
  EXPECT_EQ(n2.node_ipv6.ToString(), "fd00:99::12");
  EXPECT_EQ(n2.vtep_mac_v6, "8a:00:00:00:06:02");
  std::map<std::string, overlay::RejectReason> why;
  for (const auto& rej : r->Rejected()) why[rej.key] = rej.reason;
  EXPECT_EQ(why.size(), 3u);
  EXPECT_EQ(why["n3"], overlay::RejectReason::kOverlapsSelf);
  EXPECT_EQ(why["n4"], overlay::RejectReason::kOwnIp);
  EXPECT_EQ(why["n5"], overlay::RejectReason::kOutsideNetwork);

  // Our own IPv6 podCIDR outside IPv6Network is a configuration error, as in flannel.
  AddNode("n6", "10.99.0.16", {"10.244.6.0/24", "fd00:10:99:6::/64"});
  auto outside = Make("n6")->Acquire(WantedDual("n6", "10.99.0.16", "fd00:99::16"));
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(outside.error().msg().find("fd00:10:99:6::/64"), std::string::npos)
      << outside.error().msg();
}

// Every way linend is told where the API server is reaches it: a kubeconfig with the
// CA inline, one with a client certificate (files, then inline data), and the pod's
// service account.
TEST_F(KubeRegistryTest, EveryConfigSourceReachesTheServer) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  auto try_config = [&](const cni::Result<KubeClientConfig>& c, const std::string& what) {
    ASSERT_TRUE(c) << what << ": " << c.error().msg();
    RegistryOptions o = Options();
    o.client = *c;
    auto r = KubeRegistry::Create(o);
    ASSERT_TRUE(r) << what << ": " << r.error().msg();
    auto l = (*r)->Acquire(Wanted());
    EXPECT_TRUE(l) << what << ": " << l.error().msg();
  };
  const std::string kc = dir_.path() + "/kubeconfig";
  ASSERT_TRUE(server_->WriteKubeconfig(kc, {.embed_ca = true}));
  try_config(LoadKubeconfig(kc), "kubeconfig with certificate-authority-data");

  const std::string sa = dir_.path() + "/serviceaccount";
  ASSERT_TRUE(cni::MakeDirs(sa));
  ASSERT_TRUE(server_->WriteServiceAccountDir(sa));
  const std::string port = std::to_string(server_->port());
  auto env = [&](const char* k) -> const char* {
    if (std::string(k) == "KUBERNETES_SERVICE_HOST") return "127.0.0.1";
    if (std::string(k) == "KUBERNETES_SERVICE_PORT") return port.c_str();
    return nullptr;
  };
  try_config(InClusterConfig(env, sa), "in-cluster service account");

  // A second server that takes client certificates (CN = user).
  auto pki = etcd::testing::TestPki::Get();
  ASSERT_TRUE(pki) << pki.error().msg();
  auto certs = KubeApiServer::Start(ns_->ns(), {.port = 0, .client_ca_file = (*pki)->ca});
  ASSERT_TRUE(certs) << certs.error().msg();
  ASSERT_TRUE((*certs)->PutNode(MakeNodeJson("n1", "10.99.0.11", {"10.244.1.0/24"})));
  ASSERT_TRUE((*certs)->WriteKubeconfig(
      kc, {.token = false, .client_cert_file = (*pki)->cn_cert, .client_key_file = (*pki)->cn_key}));
  try_config(LoadKubeconfig(kc), "kubeconfig with client-certificate files");
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string inline_yaml =
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
      "clusters: [{name: k, cluster: {server: '" + (*certs)->url() +
      "', certificate-authority-data: " + cni::Base64Encode(read((*certs)->ca_file())) +
      "}}]\nusers: [{name: u, user: {client-certificate-data: " +
      cni::Base64Encode(read((*pki)->cn_cert)) +
      ", client-key-data: " + cni::Base64Encode(read((*pki)->cn_key)) + "}}]\n";
  try_config(ParseKubeconfig(inline_yaml, dir_.path()), "kubeconfig with client-certificate-data");
}

// Everything the registry does needs exactly the RBAC the manifest grants (flannel's):
// nodes get/list/watch and nodes/status patch. Without the patch rule the refusal
// names what is missing.
TEST_F(KubeRegistryTest, NeedsOnlyTheManifestsRbac) {
  auto rbac = KubeApiServer::Start(ns_->ns(), {.port = 0, .rules = testing::LinenRbacRules()});
  ASSERT_TRUE(rbac) << rbac.error().msg();
  auto& srv = *rbac;
  ASSERT_TRUE(srv->PutNode(MakeNodeJson("n1", "10.99.0.11", {"10.244.1.0/24"})));
  ASSERT_TRUE(srv->PutNode(MakeNodeJson("n2", "10.99.0.12", {"10.244.2.0/24"})));
  RegistryOptions o = Options();
  o.client.server = srv->url();
  auto made = KubeRegistry::Create(o);
  ASSERT_TRUE(made);
  auto& r = *made;
  ASSERT_TRUE(r->Acquire(Wanted()));
  ASSERT_TRUE(r->ListPeers());
  FlannelAnnotations f;
  f.public_ip = "10.99.0.12";
  f.vtep_mac = "8a:00:00:00:00:02";
  ASSERT_TRUE(srv->WriteFlannelAnnotations("n2", f));
  EXPECT_EQ(Names(WaitFor(*r, 1)), "+n2 ");
  EXPECT_TRUE(r->DataPathUp());
  EXPECT_TRUE(r->Release());
  for (const auto& req : srv->Requests()) {
    EXPECT_NE(req.code, 403) << req.method << " " << req.path << "?" << req.query;
  }

  auto narrow = KubeApiServer::Start(
      ns_->ns(), {.port = 0, .rules = {{"nodes", {"get", "list", "watch"}}}});
  ASSERT_TRUE(narrow) << narrow.error().msg();
  ASSERT_TRUE((*narrow)->PutNode(MakeNodeJson("n1", "10.99.0.11", {"10.244.1.0/24"})));
  o.client.server = (*narrow)->url();
  auto refused = (*KubeRegistry::Create(o))->Acquire(Wanted());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), cni::Code::kIoFailure);
  EXPECT_NE(refused.error().msg().find("nodes/status patch"), std::string::npos)
      << refused.error().msg();
}

// An API server that is down, overloaded or failing is an outage (code 11: the agent
// keeps the data path and retries), and what changed meanwhile is seen once it is back.
TEST_F(KubeRegistryTest, OutageAndServerErrorsAreTryAgain) {
  AddNode("n1", "10.99.0.11", {"10.244.1.0/24"});
  AddFlannelNode("n2", 2);
  auto r = Make();
  ASSERT_TRUE(r->Acquire(Wanted()));
  ASSERT_TRUE(r->ListPeers());
  ASSERT_TRUE(r->WaitPeers(std::chrono::milliseconds(50)));
  server_->Stop();
  ASSERT_TRUE(server_->DeleteNode("n2"));
  cni::Result<std::vector<PeerEvent>> lost = std::vector<PeerEvent>{};
  for (int i = 0; i < 20 && lost; ++i) lost = r->WaitPeers(std::chrono::milliseconds(100));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code(), cni::Code::kTryAgainLater) << lost.error().msg();
  auto down = r->ListPeers();
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), cni::Code::kTryAgainLater) << down.error().msg();
  ASSERT_TRUE(server_->Restart());
  auto back = r->ListPeers();
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_TRUE(back->empty()) << "n2 was deleted during the outage";
  for (int code : {429, 500, 503, 504}) {
    server_->FailRequests(1, code);
    auto failed = r->ListPeers();
    ASSERT_FALSE(failed) << code;
    EXPECT_EQ(failed.error().code(), cni::Code::kTryAgainLater) << failed.error().msg();
  }
  EXPECT_TRUE(r->ListPeers());
}

}  // namespace
}  // namespace linen::kube
