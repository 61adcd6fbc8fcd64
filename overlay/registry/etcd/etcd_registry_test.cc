// EtcdRegistry against a real etcd in a test namespace.
#include "overlay/registry/etcd/etcd_registry.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "overlay/registry/etcd/etcd_test_fixture.h"

namespace linen::etcd {
namespace {

using overlay::NodeLease;
using overlay::PeerEvent;
using std::chrono::milliseconds;

class RegistryTest : public testing::EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    if (HasFatalFailure()) return;
    prefix_ = UniquePrefix();
  }

  std::unique_ptr<EtcdRegistry> NewRegistry(std::chrono::seconds ttl = std::chrono::seconds(60)) {
    RegistryOptions o;
    o.client = client_options();
    o.prefix = prefix_;
    o.lease_ttl = ttl;
    auto r = EtcdRegistry::Create(o);
    EXPECT_TRUE(r) << r.error().msg();
    return r ? *std::move(r) : nullptr;
  }

  void WriteConfig(const std::string& json) {
    auto c = NewClient();
    ASSERT_TRUE(c->Put(ConfigKey(prefix_), json));
  }

  static NodeLease Wanted(const std::string& name, const std::string& ip) {
    NodeLease l;
    l.name = name;
    l.node_ip = *cni::IpAddr::Parse(ip);
    l.vtep_mac = overlay::DeriveVtepMac(l.node_ip);
    return l;
  }

  std::string prefix_;
};

TEST_F(RegistryTest, MissingConfigIsClearError) {
  auto r = NewRegistry();
  auto cfg = r->Config();
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_TRUE(cfg.error().IsNotFound());
  EXPECT_NE(cfg.error().msg().find(prefix_ + "/config"), std::string::npos) << cfg.error().msg();
  auto l = r->Acquire(Wanted("n1", "192.168.1.1"));
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), cni::Code::kInvalidNetworkConfig);
}

TEST_F(RegistryTest, PutConfigKeepsExistingUnlessOverwrite) {
  auto r = NewRegistry();
  overlay::ClusterConfig c;
  c.network = *cni::IpNet::Parse("10.50.0.0/16");
  ASSERT_TRUE(r->PutConfig(c, false));
  overlay::ClusterConfig other = c;
  other.network = *cni::IpNet::Parse("10.60.0.0/16");
  ASSERT_TRUE(r->PutConfig(other, false));
  EXPECT_EQ(r->Config()->network.ToString(), "10.50.0.0/16");
  ASSERT_TRUE(r->PutConfig(other, true));
  EXPECT_EQ(r->Config()->network.ToString(), "10.60.0.0/16");
}

TEST_F(RegistryTest, AcquirePublishesLeaseWithTtl) {
  WriteConfig(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4}})");
  auto r = NewRegistry(std::chrono::seconds(30));
  auto l = r->Acquire(Wanted("node-a", "192.168.1.10"));
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->subnet.prefix, 24);
  EXPECT_TRUE(cni::IpNet::Parse("10.244.0.0/16")->Contains(l->subnet.addr));
  EXPECT_NE(l->subnet.addr.ToString(), "10.244.0.0") << "the first subnet is skipped";

  // Read what was published straight from etcd.
  auto c = NewClient();
  auto kv = c->Get(SubnetKey(prefix_, l->subnet));
  ASSERT_TRUE(kv && kv->has_value());
  EXPECT_EQ((*kv)->lease, r->lease_id());
  auto stored = LeaseFromKv(prefix_, (*kv)->key, (*kv)->value);
  ASSERT_TRUE(stored) << stored.error().msg();
  EXPECT_EQ(*stored, *l);
  EXPECT_NE((*kv)->value.find("\"VNI\":4"), std::string::npos) << (*kv)->value;
  auto ttl = c->TimeToLive(r->lease_id());
  ASSERT_TRUE(ttl);
  EXPECT_LE(*ttl, 30);
  EXPECT_GT(*ttl, 20);

  ASSERT_TRUE(r->Renew());
  ASSERT_TRUE(r->Release());
  auto gone = c->Get(SubnetKey(prefix_, l->subnet));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value()) << "Release deletes the key";
  EXPECT_TRUE(r->Release()) << "releasing twice is success";
}

TEST_F(RegistryTest, TwoNodesGetDistinctSubnetsAndSeeEachOther) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");
  auto a = NewRegistry();
  auto b = NewRegistry();
  auto la = a->Acquire(Wanted("a", "192.168.1.1"));
  auto lb = b->Acquire(Wanted("b", "192.168.1.2"));
  ASSERT_TRUE(la && lb);
  EXPECT_NE(la->subnet, lb->subnet);
  auto peers = a->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0], *lb);
}

TEST_F(RegistryTest, RestartKeepsSubnet) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");
  cni::IpNet first;
  int64_t first_lease = 0;
  {
    auto r = NewRegistry();
    auto l = r->Acquire(Wanted("node-a", "192.168.1.10"));
    ASSERT_TRUE(l);
    first = l->subnet;
    first_lease = r->lease_id();
  }  // the process "dies" without releasing: the key stays until its TTL runs out
  auto r2 = NewRegistry();
  auto l2 = r2->Acquire(Wanted("node-a", "192.168.1.10"));
  ASSERT_TRUE(l2) << l2.error().msg();
  EXPECT_EQ(l2->subnet, first);
  EXPECT_NE(r2->lease_id(), first_lease);
  auto c = NewClient();
  EXPECT_EQ((*c->Get(SubnetKey(prefix_, first)))->lease, r2->lease_id())
      << "the key moved onto the new etcd lease";
  auto old = c->TimeToLive(first_lease);
  ASSERT_FALSE(old) << "the old etcd lease is revoked";
  EXPECT_TRUE(old.error().IsNotFound());
}

TEST_F(RegistryTest, PreviousSubnetHintUsedAfterLeaseExpired) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");
  auto r = NewRegistry();
  NodeLease w = Wanted("node-a", "192.168.1.10");
  w.subnet = *cni::IpNet::Parse("10.244.77.0/24");  // e.g. read back from subnet.env
  auto l = r->Acquire(w);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->subnet.ToString(), "10.244.77.0/24");

  // A hint that someone else holds is not taken.
  auto other = NewRegistry();
  NodeLease wb = Wanted("node-b", "192.168.1.11");
  wb.subnet = l->subnet;
  auto lb = other->Acquire(wb);
  ASSERT_TRUE(lb);
  EXPECT_NE(lb->subnet, l->subnet);
}

TEST_F(RegistryTest, FiftyRacingAgentsNeverShareASubnet) {
  // 10.9.0.0/24 in /28s: 16 subnets, the first skipped, so 15 winners out of 50.
  WriteConfig(R"({"Network":"10.9.0.0/24","SubnetLen":28})");
  constexpr int kAgents = 50;
  std::vector<std::optional<cni::Result<NodeLease>>> results(kAgents);
  std::vector<std::unique_ptr<EtcdRegistry>> regs;
  for (int i = 0; i < kAgents; ++i) regs.push_back(NewRegistry());
  std::vector<std::thread> threads;
  for (int i = 0; i < kAgents; ++i) {
    threads.emplace_back([&, i] {
      results[i].emplace(regs[i]->Acquire(
          Wanted("node" + std::to_string(i), "192.168.0." + std::to_string(i + 1))));
    });
  }
  for (auto& t : threads) t.join();

  std::set<cni::IpNet> subnets;
  int won = 0, full = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value());
    if (r->ok()) {
      ++won;
      EXPECT_TRUE(subnets.insert((*r)->subnet).second) << "duplicate " << (*r)->subnet.ToString();
    } else {
      EXPECT_EQ(r->error().code(), cni::Code::kNoAddressAvailable) << r->error().msg();
      EXPECT_NE(r->error().msg().find("is full"), std::string::npos) << r->error().msg();
      ++full;
    }
  }
  EXPECT_EQ(won, 15);
  EXPECT_EQ(full, kAgents - 15);
  // etcd agrees: exactly 15 keys, one per winner.
  auto c = NewClient();
  auto all = c->Range(SubnetsPrefix(prefix_), PrefixRangeEnd(SubnetsPrefix(prefix_)));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->kvs.size(), 15u);
}

TEST_F(RegistryTest, WatchReportsAddChangeRemove) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");
  auto a = NewRegistry();
  ASSERT_TRUE(a->Acquire(Wanted("a", "192.168.1.1")));
  auto peers = a->ListPeers();
  ASSERT_TRUE(peers);
  EXPECT_TRUE(peers->empty());

  // A change between the list and the watch start must not be missed.
  auto b = NewRegistry();
  auto lb = b->Acquire(Wanted("b", "192.168.1.2"));
  ASSERT_TRUE(lb);
  auto evs = a->WaitPeers(milliseconds(3000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].kind, PeerEvent::Kind::kAdded);
  EXPECT_EQ((*evs)[0].lease, *lb);

  // b restarts with a new node IP: same subnet, changed lease.
  auto b2 = NewRegistry();
  auto lb2 = b2->Acquire(Wanted("b", "192.168.1.22"));
  ASSERT_TRUE(lb2);
  EXPECT_EQ(lb2->subnet, lb->subnet);
  evs = a->WaitPeers(milliseconds(3000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].kind, PeerEvent::Kind::kChanged);
  EXPECT_EQ((*evs)[0].lease.node_ip.ToString(), "192.168.1.22");

  ASSERT_TRUE(b2->Release());
  evs = a->WaitPeers(milliseconds(3000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].kind, PeerEvent::Kind::kRemoved);
  EXPECT_EQ((*evs)[0].lease.name, "b");

  auto quiet = a->WaitPeers(milliseconds(50));
  ASSERT_TRUE(quiet);
  EXPECT_TRUE(quiet->empty());
}

TEST_F(RegistryTest, ExpiredPeerIsRemoved) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");
  auto a = NewRegistry();
  ASSERT_TRUE(a->Acquire(Wanted("a", "192.168.1.1")));
  auto b = NewRegistry(std::chrono::seconds(1));
  ASSERT_TRUE(b->Acquire(Wanted("b", "192.168.1.2")));
  auto peers = a->ListPeers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);
  // b never renews: etcd expires its lease and the key with it.
  auto evs = a->WaitPeers(milliseconds(5000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].kind, PeerEvent::Kind::kRemoved);
  auto renew = b->Renew();
  ASSERT_FALSE(renew);
  EXPECT_TRUE(renew.error().IsNotFound()) << renew.error().msg();
  // Acquiring again gets the same subnet back (nobody took it meanwhile).
  auto again = b->Acquire(Wanted("b", "192.168.1.2"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->subnet, (*peers)[0].subnet);
}

TEST_F(RegistryTest, OwnKeyDeletedMakesRenewFail) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");
  auto a = NewRegistry();
  auto l = a->Acquire(Wanted("a", "192.168.1.1"));
  ASSERT_TRUE(l);
  ASSERT_TRUE(a->ListPeers());
  ASSERT_TRUE(NewClient()->Delete(SubnetKey(prefix_, l->subnet)));
  auto evs = a->WaitPeers(milliseconds(3000));
  ASSERT_TRUE(evs);
  EXPECT_TRUE(evs->empty()) << "our own key is not a peer";
  auto renew = a->Renew();
  ASSERT_FALSE(renew);
  EXPECT_TRUE(renew.error().IsNotFound());
  auto again = a->Acquire(Wanted("a", "192.168.1.1"));
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_TRUE(a->Renew());
}

TEST_F(RegistryTest, WatchLossThenRelistRecovers) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");
  auto a = NewRegistry();
  ASSERT_TRUE(a->Acquire(Wanted("a", "192.168.1.1")));
  ASSERT_TRUE(a->ListPeers());
  ASSERT_TRUE(a->WaitPeers(milliseconds(10)));  // watch established
  etcd_->Stop();
  auto lost = a->WaitPeers(milliseconds(5000));
  ASSERT_FALSE(lost) << "etcd going away loses the watch";
  auto relist = a->ListPeers();
  ASSERT_FALSE(relist);
  EXPECT_EQ(relist.error().code(), cni::Code::kTryAgainLater);
  ASSERT_TRUE(etcd_->Restart());
  auto b = NewRegistry();
  ASSERT_TRUE(b->Acquire(Wanted("b", "192.168.1.2")));
  auto peers = a->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  EXPECT_EQ(peers->size(), 1u);
  EXPECT_TRUE(a->Renew()) << "the lease survived the outage";
}

// The production set-up: TLS with client certificates, and auth with a user whose
// role covers only the registry's prefix.
class SecureRegistryTest : public RegistryTest {
 protected:
  testing::EtcdServerOptions server_options() const override {
    testing::EtcdServerOptions o;
    o.tls = true;
    return o;
  }
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    auto s = etcd_->EnableAuth("linen", "linen-secret", prefix_ + "/");
    ASSERT_TRUE(s) << s.error().msg();
  }
  std::unique_ptr<EtcdRegistry> Node() {
    RegistryOptions o;
    o.client = client_options();  // TLS files; root's login, replaced here
    o.client.username = "linen";
    o.client.password = "linen-secret";
    o.prefix = prefix_;
    auto r = EtcdRegistry::Create(o);
    EXPECT_TRUE(r) << r.error().msg();
    return r ? *std::move(r) : nullptr;
  }
};

TEST_F(SecureRegistryTest, TwoNodesLeasePublishAndFollowOverTlsWithAuth) {
  WriteConfig(R"({"Network":"10.244.0.0/16"})");  // as root
  auto a = Node();
  auto la = a->Acquire(Wanted("a", "192.168.1.1"));
  ASSERT_TRUE(la) << la.error().msg();
  ASSERT_TRUE(a->Renew());
  auto peers = a->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  EXPECT_TRUE(peers->empty());

  auto b = Node();
  auto lb = b->Acquire(Wanted("b", "192.168.1.2"));
  ASSERT_TRUE(lb) << lb.error().msg();
  EXPECT_NE(la->subnet, lb->subnet);
  auto evs = a->WaitPeers(milliseconds(3000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].kind, PeerEvent::Kind::kAdded);
  EXPECT_EQ((*evs)[0].lease, *lb);

  ASSERT_TRUE(b->Release());
  evs = a->WaitPeers(milliseconds(3000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].kind, PeerEvent::Kind::kRemoved);
}

TEST_F(SecureRegistryTest, ClientCertificateWithCommonNameIsRefusedWithTheFix) {
  auto pki = testing::TestPki::Get();
  ASSERT_TRUE(pki);
  RegistryOptions o;
  o.client = client_options();
  o.client.cert_file = (*pki)->cn_cert;
  o.client.key_file = (*pki)->cn_key;
  o.client.username = "linen";
  o.client.password = "linen-secret";
  o.prefix = prefix_;
  auto r = EtcdRegistry::Create(o);
  ASSERT_TRUE(r);
  auto cfg = (*r)->Config();
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code(), cni::Code::kIoFailure) << cfg.error().msg();
  EXPECT_NE(cfg.error().msg().find("without a CN"), std::string::npos) << cfg.error().msg();
}

}  // namespace
}  // namespace linen::etcd
