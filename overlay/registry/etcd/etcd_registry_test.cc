// EtcdRegistry against a real etcd in a test namespace.
#include "overlay/registry/etcd/etcd_registry.h"

#include <gtest/gtest.h>

#include <map>
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

  // Each lease acquired by its own registry, all at once (one thread each).
  std::vector<cni::Result<NodeLease>> AcquireAtOnce(const std::vector<NodeLease>& wanted) {
    std::vector<std::unique_ptr<EtcdRegistry>> regs;
    for (size_t i = 0; i < wanted.size(); ++i) regs.push_back(NewRegistry());
    std::vector<std::optional<cni::Result<NodeLease>>> results(wanted.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < wanted.size(); ++i) {
      threads.emplace_back([&, i] { results[i].emplace(regs[i]->Acquire(wanted[i])); });
    }
    for (auto& t : threads) t.join();
    std::vector<cni::Result<NodeLease>> out;
    for (auto& r : results) out.push_back(*std::move(r));
    return out;
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

  // A lease value as flannel / linen write it; every field can be overridden.
  static std::string LeaseJson(const std::string& ip, const std::string& mac,
                               const std::string& name = "", const std::string& type = "vxlan") {
    std::string j = R"({"PublicIP":")" + ip + R"(","BackendType":")" + type +
                    R"(","BackendData":{"VNI":1,"VtepMAC":")" + mac + R"("})";
    if (!name.empty()) j += R"(,"NodeName":")" + name + R"(")";
    return j + "}";
  }

  std::string Key(const std::string& tail) { return SubnetsPrefix(prefix_) + tail; }

  // Waits (bounded) until `r` has seen every change up to now; returns the events.
  std::vector<PeerEvent> DrainEvents(EtcdRegistry& r) {
    std::vector<PeerEvent> all;
    for (int i = 0; i < 20; ++i) {
      auto evs = r.WaitPeers(milliseconds(i == 0 ? 3000 : 300));
      EXPECT_TRUE(evs) << evs.error().msg();
      if (!evs || (evs->empty() && i > 0)) break;
      all.insert(all.end(), evs->begin(), evs->end());
    }
    return all;
  }

  static std::map<std::string, overlay::RejectReason> Reasons(const EtcdRegistry& r) {
    std::map<std::string, overlay::RejectReason> out;
    for (const auto& x : r.Rejected()) out[x.key] = x.reason;
    return out;
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
  std::vector<NodeLease> wanted;
  for (int i = 0; i < kAgents; ++i) {
    wanted.push_back(Wanted("node" + std::to_string(i), "192.168.0." + std::to_string(i + 1)));
  }
  std::set<cni::IpNet> subnets;
  int won = 0, full = 0;
  for (auto& r : AcquireAtOnce(wanted)) {
    if (r.ok()) {
      ++won;
      EXPECT_TRUE(subnets.insert(r->subnet).second) << "duplicate " << r->subnet.ToString();
    } else {
      EXPECT_EQ(r.error().code(), cni::Code::kNoAddressAvailable) << r.error().msg();
      EXPECT_NE(r.error().msg().find("is full"), std::string::npos) << r.error().msg();
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

// Leases linen did not write, beside real registries: each kind is rejected with its
// reason, never handed out as a peer, and does not fail the list; a valid flannel
// lease (no NodeName) is a peer like any other.
TEST_F(RegistryTest, StrayLeasesAreRejectedWithTheirReason) {
  WriteConfig(R"({"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}})");
  auto a = NewRegistry();
  auto la = a->Acquire(Wanted("a", "192.168.1.1"));
  ASSERT_TRUE(la) << la.error().msg();
  auto b = NewRegistry();
  auto lb = b->Acquire(Wanted("b", "192.168.1.2"));
  ASSERT_TRUE(lb) << lb.error().msg();
  // A watcher that listed before the strays came: it must see them only as rejects.
  auto w = NewRegistry();
  auto lw = w->Acquire(Wanted("w", "192.168.1.3"));
  ASSERT_TRUE(lw) << lw.error().msg();
  ASSERT_TRUE(w->ListPeers());

  const std::string mac = "0e:4c:c0:a8:01:09";
  const std::string inside_a = la->subnet.Network().ToString();  // a.b.c.0
  const std::string half_a = inside_a.substr(0, inside_a.rfind('.')) + ".128-25";
  const std::map<std::string, std::pair<std::string, overlay::RejectReason>> strays = {
      {"10.99.0.0-24", {LeaseJson("192.168.1.9", mac, "s1"), overlay::RejectReason::kOutsideNetwork}},
      {"0.0.0.0-1", {LeaseJson("192.168.1.9", mac, "s2"), overlay::RejectReason::kOutsideNetwork}},
      {"10.244.200.0-26", {LeaseJson("192.168.1.9", mac, "s3"), overlay::RejectReason::kWrongLength}},
      {"10.244.201.0-24", {LeaseJson("192.168.1.9", "zz:zz", "s4"), overlay::RejectReason::kBadVtepMac}},
      {"10.244.202.0-24", {LeaseJson("fd00::9", mac, "s5"), overlay::RejectReason::kWrongFamily}},
      {"10.244.203.0-24", {LeaseJson("192.168.1.1", mac, "s6"), overlay::RejectReason::kOwnIp}},
      {"10.244.204.0-24", {LeaseJson("192.168.1.9", mac, "s7", "host-gw"), overlay::RejectReason::kWrongBackend}},
      {"10.244.205.0-24", {"{not json", overlay::RejectReason::kUndecodable}},
      {"not-a-subnet", {LeaseJson("192.168.1.9", mac, "s9"), overlay::RejectReason::kUndecodable}},
      {half_a, {LeaseJson("192.168.1.9", mac, "s10"), overlay::RejectReason::kOverlapsSelf}},
  };
  const std::string flannel_key = Key("10.244.206.0-24");
  auto c = NewClient();
  std::vector<TxnOp> puts;
  for (const auto& [tail, v] : strays) puts.push_back(TxnOp::Put(Key(tail), v.first));
  puts.push_back(TxnOp::Put(flannel_key, LeaseJson("192.168.1.10", "0e:4c:c0:a8:01:0a")));
  ASSERT_TRUE(c->Txn({}, puts));

  auto peers = a->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  std::set<std::string> seen;
  for (const auto& p : *peers) seen.insert(p.subnet.ToString());
  EXPECT_EQ(seen, (std::set<std::string>{lb->subnet.ToString(), lw->subnet.ToString(),
                                         "10.244.206.0/24"}));
  auto reasons = Reasons(*a);
  EXPECT_EQ(reasons.size(), strays.size());
  for (const auto& [tail, v] : strays) {
    auto it = reasons.find(Key(tail));
    ASSERT_NE(it, reasons.end()) << tail;
    EXPECT_EQ(it->second, v.second) << tail;
  }
  for (const auto& r : a->Rejected()) {
    EXPECT_FALSE(r.detail.empty()) << r.key;
    EXPECT_EQ(r.value, strays.at(r.key.substr(SubnetsPrefix(prefix_).size())).first);
  }

  // The watcher: only valid leases arrive as peers. a's IP is not w's own, so that
  // lease is a valid peer for w.
  auto evs = DrainEvents(*w);
  std::set<std::string> added;
  for (const auto& e : evs) {
    EXPECT_EQ(e.kind, PeerEvent::Kind::kAdded);
    added.insert(e.lease.subnet.ToString());
  }
  EXPECT_EQ(added, (std::set<std::string>{"10.244.203.0/24", "10.244.206.0/24"}));
  auto wr = Reasons(*w);
  EXPECT_EQ(wr.count(Key("10.99.0.0-24")), 1u);
  // Not ours on w, so only its length is wrong there.
  EXPECT_EQ(wr[Key(half_a)], overlay::RejectReason::kWrongLength);
  EXPECT_EQ(wr.size(), strays.size() - 1);

  // A stray fixed in place becomes a peer; a deleted one leaves the rejected set.
  ASSERT_TRUE(c->Put(Key("10.244.201.0-24"), LeaseJson("192.168.1.11", "0e:4c:c0:a8:01:0b", "s4")));
  ASSERT_TRUE(c->Delete(Key("10.99.0.0-24")));
  evs = DrainEvents(*w);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, PeerEvent::Kind::kAdded);
  EXPECT_EQ(evs[0].lease.subnet.ToString(), "10.244.201.0/24");
  wr = Reasons(*w);
  EXPECT_EQ(wr.count(Key("10.99.0.0-24")), 0u);
  EXPECT_EQ(wr.count(Key("10.244.201.0-24")), 0u);
  EXPECT_EQ(wr.size(), strays.size() - 3);
}

// Two keys for one subnet ("-24" and "-024" both parse, in flannel too): the older
// by create revision wins; when it goes, the other is accepted and reported added.
TEST_F(RegistryTest, OverlapOlderWinsAndTheOtherTakesOverWhenItGoes) {
  WriteConfig(R"({"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}})");
  auto a = NewRegistry();
  ASSERT_TRUE(a->Acquire(Wanted("a", "192.168.1.1")));
  auto c = NewClient();
  // Above 10.244.100.0: a's own subnet is one of the first 100, so never this one.
  const std::string younger = Key("10.244.150.0-24"), older = Key("10.244.150.0-024");
  ASSERT_TRUE(c->Put(older, LeaseJson("192.168.1.50", "0e:4c:c0:a8:01:32", "old")));
  ASSERT_TRUE(c->Put(younger, LeaseJson("192.168.1.51", "0e:4c:c0:a8:01:33", "young")));
  // A later update of the older one keeps its create revision, so it keeps winning.
  ASSERT_TRUE(c->Put(older, LeaseJson("192.168.1.52", "0e:4c:c0:a8:01:34", "old")));

  auto peers = a->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].name, "old");
  ASSERT_EQ(a->Rejected().size(), 1u);
  EXPECT_EQ(a->Rejected()[0].key, younger);
  EXPECT_EQ(a->Rejected()[0].reason, overlay::RejectReason::kOverlapsPeer);
  EXPECT_NE(a->Rejected()[0].detail.find(older), std::string::npos) << a->Rejected()[0].detail;

  ASSERT_TRUE(c->Delete(older));
  auto evs = DrainEvents(*a);
  ASSERT_EQ(evs.size(), 2u);
  // Removed before added: a consumer keyed by subnet must end up with the new one.
  EXPECT_EQ(evs[0].kind, PeerEvent::Kind::kRemoved);
  EXPECT_EQ(evs[0].lease.name, "old");
  EXPECT_EQ(evs[1].kind, PeerEvent::Kind::kAdded);
  EXPECT_EQ(evs[1].lease.name, "young");
  EXPECT_TRUE(a->Rejected().empty());
}

// ---- dual-stack and IPv6-only ----

NodeLease WantedDual(const std::string& name, const std::string& ip, const std::string& ip6) {
  NodeLease l;
  l.name = name;
  l.node_ip = *cni::IpAddr::Parse(ip);
  l.vtep_mac = overlay::DeriveVtepMac(l.node_ip);
  l.node_ipv6 = *cni::IpAddr::Parse(ip6);
  l.vtep_mac_v6 = overlay::DeriveVtepMacV6(l.node_ipv6);
  return l;
}

// A dual-stack lease value in flannel's field order (pkg/lease LeaseAttrs).
std::string DualJson(const std::string& ip, const std::string& ip6, const std::string& mac,
                     const std::string& mac6, const std::string& name = "") {
  std::string j = R"({"PublicIP":")" + ip + R"(","PublicIPv6":")" + ip6 +
                  R"(","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":")" + mac +
                  R"("},"BackendV6Data":{"VNI":1,"VtepMAC":")" + mac6 + R"("})";
  if (!name.empty()) j += R"(,"NodeName":")" + name + R"(")";
  return j + "}";
}

constexpr const char* kDualConfig =
    R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56",
        "Backend":{"Type":"vxlan"}})";

// Agents racing for dual-stack leases, where one family's pool has 15 subnets and
// the other's plenty: the lease key names both subnets, so only the registry's own
// check stops two keys from sharing the small family's subnet.
class DualStackRaceTest : public RegistryTest {
 protected:
  void RaceForLeases(const std::string& config) {
    WriteConfig(config);
    constexpr int kAgents = 40;
    std::vector<NodeLease> wanted;
    for (int i = 1; i <= kAgents; ++i) {
      const std::string n = std::to_string(i);
      wanted.push_back(WantedDual("node" + n, "192.168.0." + n, "fd00:50::" + n));
    }
    std::set<cni::IpNet> v4, v6;
    int won = 0;
    for (auto& r : AcquireAtOnce(wanted)) {
      if (!r.ok()) {
        EXPECT_EQ(r.error().code(), cni::Code::kNoAddressAvailable) << r.error().msg();
        continue;
      }
      ++won;
      EXPECT_TRUE(v4.insert(r->subnet).second) << "IPv4 twice: " << r->subnet.ToString();
      EXPECT_TRUE(v6.insert(r->ipv6_subnet).second) << "IPv6 twice: " << r->ipv6_subnet.ToString();
    }
    EXPECT_EQ(won, 15);
    auto c = NewClient();
    auto all = c->Range(SubnetsPrefix(prefix_), PrefixRangeEnd(SubnetsPrefix(prefix_)));
    ASSERT_TRUE(all);
    EXPECT_EQ(all->kvs.size(), 15u) << "a lease that lost its race must not stay in etcd";
  }
};

// Keys that overlap every subnet without being one (0.0.0.0/1, a /25, a /48) are
// strays for lease validation; they must not make each new lease count as a lost race.
TEST_F(RegistryTest, StrayKeysOfOtherSizesDoNotBlockAcquire) {
  WriteConfig(R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56",
                  "Backend":{"Type":"vxlan"}})");
  auto c = NewClient();
  for (const char* key : {"0.0.0.0-1", "10.244.0.0-17", "10.244.0.0-16&fd00:10:244::-48",
                          "0.0.0.0-0&::-1"}) {
    ASSERT_TRUE(c->Put(Key(key), R"({"PublicIP":"192.168.9.9","BackendType":"vxlan"})"));
  }
  auto before = c->Range(SubnetsPrefix(prefix_), PrefixRangeEnd(SubnetsPrefix(prefix_)));
  ASSERT_TRUE(before);
  auto r = NewRegistry();
  auto l = r->Acquire(WantedDual("a", "192.168.1.1", "fd00:50::1"));
  ASSERT_TRUE(l) << l.error().msg();
  auto after = c->Range(SubnetsPrefix(prefix_), PrefixRangeEnd(SubnetsPrefix(prefix_)));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->kvs.size(), before->kvs.size() + 1);
  // Exactly one write for the lease: no create-then-withdraw rounds.
  EXPECT_EQ(after->revision, before->revision + 1);
}

TEST_F(DualStackRaceTest, NoTwoNodesShareAnIpv6SubnetBesideDifferentIpv4Ones) {
  RaceForLeases(R"({"Network":"10.9.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:9::/60",
                    "IPv6SubnetLen":64,"Backend":{"Type":"vxlan"}})");
}

TEST_F(DualStackRaceTest, NoTwoNodesShareAnIpv4SubnetBesideDifferentIpv6Ones) {
  RaceForLeases(R"({"Network":"10.9.0.0/24","SubnetLen":28,"EnableIPv6":true,
                    "IPv6Network":"fd00:9::/48","IPv6SubnetLen":64,"Backend":{"Type":"vxlan"}})");
}

TEST_F(RegistryTest, DualStackAcquireListAndReject) {
  WriteConfig(kDualConfig);
  auto a = NewRegistry();
  auto la = a->Acquire(WantedDual("a", "192.168.1.1", "fd00:50::1"));
  ASSERT_TRUE(la) << la.error().msg();
  EXPECT_EQ(la->subnet.prefix, 24);
  EXPECT_EQ(la->ipv6_subnet.prefix, 64);
  EXPECT_TRUE(cni::IpNet::Parse("fd00:10:244::/56")->Contains(la->ipv6_subnet.addr));
  EXPECT_NE(la->ipv6_subnet.addr.ToString(), "fd00:10:244::") << "the first subnet is skipped";
  auto b = NewRegistry();
  auto lb = b->Acquire(WantedDual("b", "192.168.1.2", "fd00:50::2"));
  ASSERT_TRUE(lb) << lb.error().msg();
  EXPECT_NE(la->ipv6_subnet, lb->ipv6_subnet);

  // Published under flannel's dual-stack key, with flannel's IPv6 fields.
  auto c = NewClient();
  const std::string key_a = SubnetKey(prefix_, la->subnet, la->ipv6_subnet);
  EXPECT_NE(key_a.find("-24&fd00:10:244:"), std::string::npos) << key_a;
  auto kv = c->Get(key_a);
  ASSERT_TRUE(kv && kv->has_value()) << key_a;
  EXPECT_NE((*kv)->value.find(R"("PublicIPv6":"fd00:50::1")"), std::string::npos) << (*kv)->value;
  EXPECT_NE((*kv)->value.find(R"("BackendV6Data":{"VNI":1,"VtepMAC":"0e:6c:00:00:00:01"})"),
            std::string::npos)
      << (*kv)->value;
  auto stored = LeaseFromKv(prefix_, key_a, (*kv)->value);
  ASSERT_TRUE(stored) << stored.error().msg();
  EXPECT_EQ(*stored, *la);

  // Strays next to them: a flannel-written dual-stack lease is a peer; each bad
  // IPv6 part is rejected with its reason.
  const std::string a6 = la->ipv6_subnet.Network().ToString();  // fd00:10:244:N::
  const std::string m = "0e:4c:c0:a8:01:09", m6 = "0e:6c:00:00:00:09";
  const std::map<std::string, std::pair<std::string, overlay::RejectReason>> strays = {
      {"10.244.210.0-24", {LeaseJson("192.168.1.9", m, "v4only"), overlay::RejectReason::kWrongFamily}},
      {"10.244.211.0-24&fd00:10:244:d3::-64",
       {DualJson("192.168.1.9", "192.168.1.19", m, m6, "s1"), overlay::RejectReason::kWrongFamily}},
      {"10.244.212.0-24&fd00:99::-64",
       {DualJson("192.168.1.9", "fd00:50::9", m, m6, "s2"), overlay::RejectReason::kOutsideNetwork}},
      {"10.244.213.0-24&fd00:10:244:d5::-80",
       {DualJson("192.168.1.9", "fd00:50::9", m, m6, "s3"), overlay::RejectReason::kWrongLength}},
      {"10.244.214.0-24&" + a6 + "-64",
       {DualJson("192.168.1.9", "fd00:50::9", m, m6, "s4"), overlay::RejectReason::kOverlapsSelf}},
      {"10.244.215.0-24&fd00:10:244:d7::-64",
       {DualJson("192.168.1.9", "fd00:50::1", m, m6, "s5"), overlay::RejectReason::kOwnIp}},
      {"10.244.216.0-24&fd00:10:244:d8::-64",
       {DualJson("192.168.1.9", "fd00:50::9", m, "33:33:00:00:00:01", "s6"),
        overlay::RejectReason::kBadVtepMac}},
      {"10.244.217.0-24&" + lb->ipv6_subnet.Network().ToString() + "-64",
       {DualJson("192.168.1.9", "fd00:50::9", m, m6, "s7"), overlay::RejectReason::kOverlapsPeer}},
  };
  // Exactly what flannel's etcd manager writes for a dual-stack vxlan node.
  const std::string flannel_key = Key("10.244.220.0-24&fd00:10:244:dc::-64");
  const std::string flannel_value =
      R"({"PublicIP":"192.168.1.20","PublicIPv6":"fd00:50::20","BackendType":"vxlan",)"
      R"("BackendData":{"VNI":1,"VtepMAC":"86:3a:9c:11:22:33"},)"
      R"("BackendV6Data":{"VNI":1,"VtepMAC":"9a:e1:04:44:55:66"}})";
  std::vector<TxnOp> puts;
  for (const auto& [tail, v] : strays) puts.push_back(TxnOp::Put(Key(tail), v.first));
  puts.push_back(TxnOp::Put(flannel_key, flannel_value));
  ASSERT_TRUE(c->Txn({}, puts));

  auto peers = a->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  std::map<std::string, NodeLease> by_v6;
  for (const auto& p : *peers) by_v6[p.ipv6_subnet.ToString()] = p;
  ASSERT_EQ(by_v6.size(), 2u);
  EXPECT_EQ(by_v6[lb->ipv6_subnet.ToString()], *lb);
  const NodeLease& f = by_v6["fd00:10:244:dc::/64"];
  EXPECT_EQ(f.subnet.ToString(), "10.244.220.0/24");
  EXPECT_EQ(f.node_ipv6.ToString(), "fd00:50::20");
  EXPECT_EQ(f.vtep_mac_v6, "9a:e1:04:44:55:66");
  auto reasons = Reasons(*a);
  EXPECT_EQ(reasons.size(), strays.size());
  for (const auto& [tail, v] : strays) {
    auto it = reasons.find(Key(tail));
    ASSERT_NE(it, reasons.end()) << tail;
    EXPECT_EQ(it->second, v.second) << tail;
  }

  // A restart keeps both subnets and the key.
  auto a2 = NewRegistry();
  auto la2 = a2->Acquire(WantedDual("a", "192.168.1.1", "fd00:50::1"));
  ASSERT_TRUE(la2) << la2.error().msg();
  EXPECT_EQ(*la2, *la);
  EXPECT_EQ((*c->Get(key_a))->lease, a2->lease_id());

  // Without an IPv6 node address a dual-stack network cannot be joined.
  auto bad = NewRegistry()->Acquire(Wanted("x", "192.168.1.30"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(bad.error().msg().find("no IPv6 node IP"), std::string::npos) << bad.error().msg();
}

// An IPv4 cluster turned dual-stack: a restarted node keeps its IPv4 subnet (its
// pods keep their addresses) and gains an IPv6 one; the old key is replaced.
TEST_F(RegistryTest, EnablingIpv6KeepsTheIpv4SubnetAndAddsOne) {
  WriteConfig(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})");
  auto r = NewRegistry();
  auto l4 = r->Acquire(Wanted("a", "192.168.1.1"));
  ASSERT_TRUE(l4) << l4.error().msg();
  WriteConfig(kDualConfig);
  auto r2 = NewRegistry();
  auto l = r2->Acquire(WantedDual("a", "192.168.1.1", "fd00:50::1"));
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->subnet, l4->subnet);
  EXPECT_EQ(l->ipv6_subnet.prefix, 64);
  auto c = NewClient();
  auto old = c->Get(SubnetKey(prefix_, l4->subnet));
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->has_value()) << "the IPv4-only key is gone";
  auto now = c->Get(SubnetKey(prefix_, *l));
  ASSERT_TRUE(now && now->has_value());
  EXPECT_EQ((*now)->lease, r2->lease_id());
}

TEST_F(RegistryTest, Ipv6OnlyAcquireAndPeers) {
  WriteConfig(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56",
                  "Backend":{"Type":"host-gw"}})");
  NodeLease wa;
  wa.name = "a";
  wa.node_ipv6 = *cni::IpAddr::Parse("fd00:50::1");
  NodeLease wb = wa;
  wb.name = "b";
  wb.node_ipv6 = *cni::IpAddr::Parse("fd00:50::2");
  auto a = NewRegistry();
  auto b = NewRegistry();
  auto la = a->Acquire(wa);
  auto lb = b->Acquire(wb);
  ASSERT_TRUE(la) << la.error().msg();
  ASSERT_TRUE(lb) << lb.error().msg();
  EXPECT_TRUE(overlay::IsUnset(la->subnet));
  EXPECT_NE(la->ipv6_subnet, lb->ipv6_subnet);
  // flannel's IPv6-only key form, and flannel's placeholder PublicIP.
  const std::string key = SubnetKey(prefix_, *la);
  EXPECT_NE(key.find("/subnets/0.0.0.0-0&fd00:10:244:"), std::string::npos) << key;
  auto kv = NewClient()->Get(key);
  ASSERT_TRUE(kv && kv->has_value());
  EXPECT_NE((*kv)->value.find(R"("PublicIP":"0.0.0.0")"), std::string::npos) << (*kv)->value;
  auto peers = a->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0], *lb);
  EXPECT_TRUE(a->Rejected().empty());
  // An unnamed (flannel) lease of another node is not mistaken for ours because
  // both have no IPv4 address.
  ASSERT_TRUE(NewClient()->Put(Key("0.0.0.0-0&fd00:10:244:f0::-64"),
                               R"({"PublicIP":"0.0.0.0","PublicIPv6":"fd00:50::7","BackendType":"host-gw"})"));
  auto a2 = NewRegistry();
  auto la2 = a2->Acquire(wa);
  ASSERT_TRUE(la2) << la2.error().msg();
  EXPECT_EQ(*la2, *la);
  peers = a2->ListPeers();
  ASSERT_TRUE(peers) << peers.error().msg();
  EXPECT_EQ(peers->size(), 2u);
}

}  // namespace
}  // namespace linen::etcd
