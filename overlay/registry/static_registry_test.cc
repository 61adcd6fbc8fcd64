#include "overlay/registry/static_registry.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

std::string Topo(int nodes) {
  std::string s = R"({"network": "10.244.0.0/16", "backend": "host-gw", "nodes": [)";
  for (int i = 1; i <= nodes; ++i) {
    if (i > 1) s += ",";
    s += R"({"name":"n)" + std::to_string(i) + R"(","ip":"192.168.50.)" + std::to_string(i) +
         R"(","subnet":"10.244.)" + std::to_string(i) + R"(.0/24"})";
  }
  return s + "]}";
}

void WriteAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".new";
  { std::ofstream(tmp) << text; }
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

// IPv6-only: every node's IPv4 address is unset, so an unnamed node is found by its
// IPv6 address, never by the shared unset one (the first node, before).
TEST(StaticRegistryTest, Ipv6OnlyAcquireByIpv6Address) {
  auto topo = ParseTopology(
      R"({"enableIPv4": false, "enableIPv6": true, "ipv6Network": "fd00:10:244::/56", "nodes": [
          {"name":"n1","ipv6":"fd00:50::1","ipv6Subnet":"fd00:10:244:1::/64"},
          {"name":"n2","ipv6":"fd00:50::2","ipv6Subnet":"fd00:10:244:2::/64"}]})");
  ASSERT_TRUE(topo) << topo.error().msg();
  auto reg = StaticRegistry::FromTopology(*topo);
  NodeLease wanted;
  wanted.node_ipv6 = *cni::IpAddr::Parse("fd00:50::2");
  auto self = reg->Acquire(wanted);
  ASSERT_TRUE(self) << self.error().msg();
  EXPECT_EQ(self->name, "n2");
  NodeLease nobody;
  nobody.node_ipv6 = *cni::IpAddr::Parse("fd00:50::9");
  auto none = reg->Acquire(nobody);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().msg().find("fd00:50::9"), std::string::npos) << none.error().msg();
  auto peers = reg->ListPeers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].name, "n1");
}

TEST(StaticRegistryTest, AcquireByNameOrIpAndListPeers) {
  auto topo = ParseTopology(Topo(3));
  ASSERT_TRUE(topo);
  auto reg = StaticRegistry::FromTopology(*topo);
  NodeLease wanted;
  wanted.node_ip = *cni::IpAddr::Parse("192.168.50.2");
  auto self = reg->Acquire(wanted);
  ASSERT_TRUE(self) << self.error().msg();
  EXPECT_EQ(self->name, "n2");
  EXPECT_EQ(self->subnet.ToString(), "10.244.2.0/24");
  auto peers = reg->ListPeers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 2u);
  auto cfg = reg->Config();
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->backend, BackendType::kHostGw);

  NodeLease stranger;
  stranger.name = "n9";
  EXPECT_FALSE(reg->Acquire(stranger));
}

TEST(StaticRegistryTest, DiffPeersReportsEachKind) {
  auto before = ParseTopology(Topo(3))->nodes;
  auto after = before;
  after.erase(after.begin());                                 // n1 removed
  after[0].node_ip = *cni::IpAddr::Parse("192.168.50.22");    // n2 changed
  after.push_back(after[1]);
  after.back().name = "n4";                                   // n4 added
  auto ev = DiffPeers(before, after);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, PeerEvent::Kind::kChanged);
  EXPECT_EQ(ev[0].lease.name, "n2");
  EXPECT_EQ(ev[1].kind, PeerEvent::Kind::kAdded);
  EXPECT_EQ(ev[1].lease.name, "n4");
  EXPECT_EQ(ev[2].kind, PeerEvent::Kind::kRemoved);
  EXPECT_EQ(ev[2].lease.name, "n1");
}

TEST(StaticRegistryTest, FileWatchReportsEditedPeers) {
  test::TempDir dir;
  std::string path = dir.path() + "/topology.json";
  { std::ofstream(path) << Topo(3); }
  auto reg = StaticRegistry::FromFile(path);
  ASSERT_TRUE(reg) << reg.error().msg();
  NodeLease wanted;
  wanted.name = "n1";
  ASSERT_TRUE((*reg)->Acquire(wanted));
  ASSERT_TRUE((*reg)->ListPeers());
  // Nothing changed yet: a zero timeout returns no events.
  auto none = (*reg)->WaitPeers(std::chrono::milliseconds(0));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  WriteAtomically(path, Topo(4));
  auto ev = (*reg)->WaitPeers(std::chrono::seconds(5));
  ASSERT_TRUE(ev) << ev.error().msg();
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, PeerEvent::Kind::kAdded);
  EXPECT_EQ((*ev)[0].lease.name, "n4");
}

}  // namespace
}  // namespace linen::overlay
