// Two dual-stack nodes programmed by a backend, with traffic: each node is a
// TempNetns, the underlay one veth between them (1500 bytes, IPv4 and IPv6), and
// each node has one pod (its own TempNetns, MTU 1500 so that the node, not the pod,
// meets the VTEP's MTU). The pods ping each other in both families; through vxlan
// the path MTU is exactly underlay − 50 (IPv4) and underlay − 70 (IPv6).
#include <gtest/gtest.h>

#include <optional>

#include "libcni/types.h"
#include "overlay/backend/backend.h"
#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

using linen::test::Ip;
using linen::test::Net;

struct TestNode {
  std::optional<test::TempNetns> ns;
  std::optional<test::TempNetns> pod;
  std::optional<cni::nl::Handle> h;
  LocalNode local;
  std::unique_ptr<Backend> backend;
};

class TwoNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      TestNode& n = nodes_[i];
      auto ns = test::TempNetns::Create(i == 0 ? "ova" : "ovb");
      ASSERT_TRUE(ns) << ns.error().msg();
      n.ns.emplace(std::move(*ns));
      auto pod = test::TempNetns::Create(i == 0 ? "ovpa" : "ovpb");
      ASSERT_TRUE(pod) << pod.error().msg();
      n.pod.emplace(std::move(*pod));
      auto h = cni::nl::Handle::OpenIn(n.ns->ns());
      ASSERT_TRUE(h) << h.error().msg();
      n.h.emplace(std::move(*h));
    }
    // No duplicate address detection on the links made below: a tentative
    // link-local address holds up neighbour discovery for seconds.
    for (TestNode& n : nodes_) {
      for (const std::string& ns : {n.ns->name(), n.pod->name()}) {
        Must("ip netns exec " + ns +
             " sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
      }
    }
    const std::string a = nodes_[0].ns->name(), b = nodes_[1].ns->name();
    Must("ip link add ul0 netns " + a + " type veth peer name ul0 netns " + b);
    for (int i = 0; i < 2; ++i) {
      TestNode& n = nodes_[i];
      const std::string x = std::to_string(i);
      const std::string node = n.ns->name(), pod = n.pod->name();
      // The underlay, and the node side of its pod (as cni0 would hold the gateway).
      Must("ip -n " + node + " addr add 172.21.0." + std::to_string(i + 1) + "/24 dev ul0");
      Must("ip -n " + node + " addr add fd21::" + std::to_string(i + 1) + "/64 dev ul0 nodad");
      Must("ip -n " + node + " link set ul0 up");
      Must("ip netns exec " + node + " sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
      Must("ip link add pod netns " + node + " type veth peer name eth0 netns " + pod);
      Must("ip -n " + node + " addr add 10.0." + x + ".1/24 dev pod");
      Must("ip -n " + node + " addr add fd00:10:0:" + x + "::1/64 dev pod nodad");
      Must("ip -n " + node + " link set pod up");
      Must("ip -n " + pod + " addr add 10.0." + x + ".5/24 dev eth0");
      Must("ip -n " + pod + " addr add fd00:10:0:" + x + "::5/64 dev eth0 nodad");
      Must("ip -n " + pod + " link set eth0 up");
      Must("ip -n " + pod + " route add default via 10.0." + x + ".1");
      Must("ip -n " + pod + " -6 route add default via fd00:10:0:" + x + "::1");
    }
  }

  // Both nodes on `type`, each told about the other.
  void Start(BackendType type, int want_mtu) {
    for (TestNode& n : nodes_) {
      LocalNode& l = n.local;
      l.self = Lease(&n == &nodes_[0] ? 0 : 1);
      l.cluster.network = Net("10.0.0.0/16");
      l.cluster.enable_ipv6 = true;
      l.cluster.ipv6_network = Net("fd00:10::/48");
      l.cluster.backend = type;
      n.backend = NewBackend(*n.h, l);
      auto setup = n.backend->EnsureNode();
      ASSERT_TRUE(setup) << setup.error().msg();
      ASSERT_EQ(setup->mtu, want_mtu);
    }
    const int per_family = type == BackendType::kVxlan ? 3 : 1;
    for (TestNode& n : nodes_) {
      auto st = n.backend->Reconcile({Lease(0), Lease(1)});
      ASSERT_TRUE(st) << st.error().msg();
      ASSERT_TRUE(st->failures.empty()) << st->failures[0].detail;
      ASSERT_EQ(st->ops(), 2 * per_family) << "one peer, in each family";
    }
  }

  static NodeLease Lease(int i) {
    NodeLease l;
    const std::string x = std::to_string(i);
    l.name = "node" + x;
    l.node_ip = Ip("172.21.0." + std::to_string(i + 1));
    l.subnet = Net("10.0." + x + ".0/24");
    l.vtep_mac = DeriveVtepMac(l.node_ip);
    l.node_ipv6 = Ip("fd21::" + std::to_string(i + 1));
    l.ipv6_subnet = Net("fd00:10:0:" + x + "::/64");
    l.vtep_mac_v6 = DeriveVtepMac(l.node_ipv6);
    return l;
  }

  static void Must(const std::string& cmd) {
    test::ProcResult r = test::Sh(cmd);
    ASSERT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
  }

  // One don't-fragment ping of `size` bytes on the wire (IP header included) from
  // pod A to pod B's address `dst`. -W bounds the wait for a reply that never comes.
  test::ProcResult Ping(const std::string& dst, int size) {
    const bool v6 = dst.find(':') != std::string::npos;
    const int payload = size - (v6 ? 40 : 20) - 8;
    return test::Sh("ip netns exec " + nodes_[0].pod->name() + " ping " + (v6 ? "-6" : "-4") +
                    " -n -c 1 -W 3 -M do -s " + std::to_string(payload) + " " + dst + " 2>&1");
  }

  TestNode nodes_[2];
};

TEST_F(TwoNodeTest, VxlanPodsReachEachOtherInBothFamiliesAtExactlyTheVtepMtu) {
  ASSERT_NO_FATAL_FAILURE(Start(BackendType::kVxlan, 1430));
  // IPv6 through linen-v6.1: 1430 bytes fit (1430 + 70 = the underlay's 1500)...
  test::ProcResult ok6 = Ping("fd00:10:0:1::5", 1430);
  EXPECT_EQ(ok6.exit_code, 0) << ok6.out;
  EXPECT_NE(ok6.out.find("1 received"), std::string::npos) << ok6.out;
  // ...one byte more is refused by node A with ICMPv6 "packet too big", mtu 1430.
  test::ProcResult big6 = Ping("fd00:10:0:1::5", 1431);
  EXPECT_NE(big6.exit_code, 0) << big6.out;
  EXPECT_NE(big6.out.find("Packet too big: mtu=1430"), std::string::npos) << big6.out;

  // IPv4 through linen.1 at its own MTU, 1450.
  test::ProcResult ok4 = Ping("10.0.1.5", 1450);
  EXPECT_EQ(ok4.exit_code, 0) << ok4.out;
  test::ProcResult big4 = Ping("10.0.1.5", 1451);
  EXPECT_NE(big4.exit_code, 0) << big4.out;
  EXPECT_NE(big4.out.find("Frag needed and DF set (mtu = 1450)"), std::string::npos) << big4.out;

  // The IPv6 pod traffic went through the IPv6 VTEP: node B received it there.
  test::ProcResult stats = test::Sh("ip -n " + nodes_[1].ns->name() + " -s -j link show linen-v6.1");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const cni::json link = cni::json::parse(stats.out);
  ASSERT_EQ(link.size(), 1u);
  EXPECT_GE(link[0]["stats64"]["rx"].value("packets", 0), 1) << stats.out;

  // Node B gone from node A's view: both families' entries go, and so does the path.
  auto st = nodes_[0].backend->Reconcile({Lease(0)});
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_EQ(st->ops(), 6);
  EXPECT_NE(Ping("fd00:10:0:1::5", 100).exit_code, 0);
}

// host-gw: no encapsulation, so full-size packets of both families pass, routed via
// the peer's node address of their family.
TEST_F(TwoNodeTest, HostGwPodsReachEachOtherInBothFamilies) {
  ASSERT_NO_FATAL_FAILURE(Start(BackendType::kHostGw, 1500));
  test::ProcResult ok6 = Ping("fd00:10:0:1::5", 1500);
  EXPECT_EQ(ok6.exit_code, 0) << ok6.out;
  test::ProcResult ok4 = Ping("10.0.1.5", 1500);
  EXPECT_EQ(ok4.exit_code, 0) << ok4.out;
  auto st = nodes_[0].backend->Reconcile({Lease(0)});
  ASSERT_TRUE(st) << st.error().msg();
  EXPECT_EQ(st->routes_deleted, 2);
  EXPECT_NE(Ping("fd00:10:0:1::5", 100).exit_code, 0);
  EXPECT_NE(Ping("10.0.1.5", 100).exit_code, 0);
}

}  // namespace
}  // namespace linen::overlay
