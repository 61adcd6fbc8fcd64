// ADD/DEL/CHECK/STATUS of the built `bridge` executable in namespaces the test owns.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "plugins/bridge/bridge_test_env.h"
#include "plugins/bridge/veth.h"

namespace bridge::testing {
namespace {

class BridgeAddTest : public BridgeEnv {};

TEST_F(BridgeAddTest, TwoPodsPingEachOtherAndTheGateway) {
  TempNetns a = NewPod(), b = NewPod();
  std::string conf = Conf(R"("isGateway":true,"mtu":1400,"hairpinMode":true)");
  ProcResult ra = Exec("ADD", a.path(), "ctr-a", conf);
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  ProcResult rb = Exec("ADD", b.path(), "ctr-b", conf);
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  cni::json ja = Json(ra), jb = Json(rb);

  // Result shape: [bridge, host veth, container], IP on interface 2, gateway .1.
  ASSERT_EQ(ja["interfaces"].size(), 3u) << ra.out;
  EXPECT_EQ(ja["interfaces"][0]["name"], "cni0");
  EXPECT_EQ(ja["interfaces"][2]["name"], "eth0");
  EXPECT_EQ(ja["interfaces"][2]["sandbox"], a.path());
  EXPECT_EQ(ja["ips"][0]["interface"], 2);
  EXPECT_EQ(ja["ips"][0]["gateway"], "10.77.0.1");
  EXPECT_EQ(ja["cniVersion"], "1.0.0");

  // Kernel state matches the result.
  std::string host_veth = ja["interfaces"][1]["name"];
  // Derived from the attachment, not random: "veth" + the first 8 hex digits of
  // sha512("ctr-a:eth0"); the literal pins the formula against the helper changing.
  EXPECT_EQ(host_veth, HostVethName("ctr-a", "eth0"));
  EXPECT_EQ(host_veth, "vethc3920651");
  ProcResult link = Node("ip -o link show " + host_veth);
  EXPECT_NE(link.out.find("master cni0"), std::string::npos) << link.out;
  EXPECT_NE(link.out.find("mtu 1400"), std::string::npos) << link.out;
  EXPECT_NE(link.out.find(std::string(ja["interfaces"][1]["mac"])), std::string::npos) << link.out;
  EXPECT_EQ(Node("cat /sys/class/net/" + host_veth + "/brport/hairpin_mode").out, "1\n");
  ProcResult pod_link = In(a, "ip -o link show eth0");
  EXPECT_NE(pod_link.out.find(std::string(ja["interfaces"][2]["mac"])), std::string::npos);
  EXPECT_NE(pod_link.out.find("mtu 1400"), std::string::npos) << pod_link.out;
  ProcResult br = Node("ip -o addr show dev cni0");
  EXPECT_NE(br.out.find("10.77.0.1/24"), std::string::npos) << br.out;
  EXPECT_NE(Node("ip -o link show cni0").out.find(std::string(ja["interfaces"][0]["mac"])),
            std::string::npos);
  EXPECT_EQ(Node("sysctl -n net.ipv4.ip_forward").out, "1\n");
  // A bridge port has no IPv6 address of its own (no link-local, so no DAD or
  // router solicitations for it), and neither has an IPv4-only pod's end: nothing
  // IPv6 is flooded to every port of the bridge for it.
  EXPECT_EQ(Node("ip -6 -o addr show dev " + host_veth).out, "");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/" + host_veth + "/disable_ipv6").out, "1\n");
  EXPECT_EQ(In(a, "ip -6 -o addr show dev eth0").out, "");
  EXPECT_EQ(In(a, "cat /proc/sys/net/ipv6/conf/eth0/addr_gen_mode").out, "1\n");
  // One queue each way on both ends: what veth uses by default, without first
  // allocating one per CPU.
  EXPECT_NE(Node("ip -d -o link show " + host_veth).out.find("numtxqueues 1 numrxqueues 1"),
            std::string::npos);
  EXPECT_NE(In(a, "ip -d -o link show eth0").out.find("numtxqueues 1 numrxqueues 1"),
            std::string::npos);

  EXPECT_TRUE(Ping(a, AddrOf(jb)));
  EXPECT_TRUE(Ping(b, AddrOf(ja)));
  EXPECT_TRUE(Ping(a, "10.77.0.1"));

  ASSERT_EQ(Exec("DEL", a.path(), "ctr-a", conf).exit_code, 0);
  ASSERT_EQ(Exec("DEL", b.path(), "ctr-b", conf).exit_code, 0);
  EXPECT_EQ(NodeVeths(), "");
  EXPECT_TRUE(IpFiles().empty());
  EXPECT_NE(In(a, "ip link show eth0").exit_code, 0) << "pod interface removed";
}

TEST_F(BridgeAddTest, DualStackPodsPingOverIpv6) {
  TempNetns a = NewPod(), b = NewPod();
  std::string conf = Conf(R"("isDefaultGateway":true)",
                          R"([[{"subnet":"10.78.0.0/24"}],[{"subnet":"fd00:78::/64"}]])");
  ProcResult ra = Exec("ADD", a.path(), "ds-a", conf);
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  ProcResult rb = Exec("ADD", b.path(), "ds-b", conf);
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  cni::json ja = Json(ra), jb = Json(rb);
  ASSERT_EQ(ja["ips"].size(), 2u);
  // Default routes for both families via the gateways.
  ASSERT_EQ(ja["routes"].size(), 2u) << ra.out;
  EXPECT_EQ(ja["routes"][0]["dst"], "0.0.0.0/0");
  EXPECT_EQ(ja["routes"][0]["gw"], "10.78.0.1");
  EXPECT_EQ(ja["routes"][1]["dst"], "::/0");
  EXPECT_EQ(ja["routes"][1]["gw"], "fd00:78::1");
  EXPECT_NE(In(a, "ip -6 route show default").out.find("via fd00:78::1"), std::string::npos);
  // A pod with IPv6 keeps its link-local address.
  EXPECT_NE(In(a, "ip -6 -o addr show dev eth0 scope link").out, "");
  // No DAD wait and nothing tentative.
  EXPECT_EQ(In(a, "ip -6 addr show tentative").out, "");
  EXPECT_EQ(Node("ip -6 addr show dev cni0 tentative").out, "");

  EXPECT_TRUE(Ping(a, AddrOf(jb, 1)));
  EXPECT_TRUE(Ping(b, AddrOf(ja, 1)));
  EXPECT_TRUE(Ping(a, "fd00:78::1"));
  EXPECT_TRUE(Ping(b, AddrOf(ja, 0)));
  EXPECT_EQ(Node("sysctl -n net.ipv6.conf.all.forwarding").out, "1\n");

  ASSERT_EQ(Exec("DEL", a.path(), "ds-a", conf).exit_code, 0);
  ASSERT_EQ(Exec("DEL", b.path(), "ds-b", conf).exit_code, 0);
  EXPECT_TRUE(IpFiles().empty());
  EXPECT_EQ(NodeVeths(), "");
}

// linen's host-local (it carries the in-process note) runs inside the bridge process;
// any other host-local is exec'd as the spec says.
TEST_F(BridgeAddTest, LinenHostLocalRunsInProcessOtherIpamIsExeced) {
  const std::string ours = linen::test::CniBin("host-local");
  if (!std::filesystem::exists(ours)) GTEST_SKIP() << "our host-local is not built";
  const std::string hl = bin_ + "/host-local";
  std::string conf = Conf("");

  // A copy of ours that cannot be executed: only an in-process run can use it.
  std::filesystem::remove(hl);
  std::filesystem::copy_file(ours, hl);
  std::filesystem::permissions(hl, std::filesystem::perms::owner_read |
                                       std::filesystem::perms::group_read);
  TempNetns a = NewPod();
  ProcResult add = Exec("ADD", a.path(), "ctr-a", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_EQ(AddrOf(Json(add)), "10.77.0.2");
  EXPECT_EQ(IpFiles(), std::vector<std::string>{"10.77.0.2"});
  ProcResult del = Exec("DEL", a.path(), "ctr-a", conf);
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_TRUE(IpFiles().empty());

  // Forced to exec, the same non-executable file fails cleanly.
  TempNetns b = NewPod();
  ProcResult forced =
      Exec("ADD", b.path(), "ctr-b", conf, "", "eth0", {{"LINEN_DELEGATE_EXEC", "1"}});
  EXPECT_NE(forced.exit_code, 0) << forced.out;
  EXPECT_NE(forced.out.find("host-local"), std::string::npos) << forced.out;
  EXPECT_EQ(NodeVeths(), "") << "refused ADD left a veth";

  // A host-local without the note (here a wrapper script) is exec'd.
  const std::string mark = dir_.path() + "/execed";
  std::filesystem::remove(hl);
  {
    std::ofstream f(hl);
    f << "#!/bin/sh\ntouch " << mark << "\nexec " << ours << "\n";
  }
  std::filesystem::permissions(hl, std::filesystem::perms::owner_all);
  ProcResult wrapped = Exec("ADD", b.path(), "ctr-b", conf);
  ASSERT_EQ(wrapped.exit_code, 0) << wrapped.out << wrapped.err;
  EXPECT_TRUE(std::filesystem::exists(mark)) << "the wrapper was not run";
  ASSERT_EQ(Exec("DEL", b.path(), "ctr-b", conf).exit_code, 0);
  EXPECT_TRUE(IpFiles().empty());
}

TEST_F(BridgeAddTest, DelIsIdempotent) {
  TempNetns a = NewPod();
  std::string conf = Conf("");
  ASSERT_EQ(Exec("ADD", a.path(), "idem", conf).exit_code, 0);
  for (int i = 0; i < 2; ++i) {
    ProcResult d = Exec("DEL", a.path(), "idem", conf);
    EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  }
  // No netns at all, and a netns path that no longer exists.
  EXPECT_EQ(Exec("DEL", "", "idem", conf).exit_code, 0);
  ProcResult gone = Exec("DEL", "/run/netns/linen-no-such-ns", "idem", conf);
  EXPECT_EQ(gone.exit_code, 0) << gone.out;
  EXPECT_TRUE(IpFiles().empty());
}

TEST_F(BridgeAddTest, DelWithoutNetnsStillReleasesIpam) {
  TempNetns a = NewPod();
  std::string conf = Conf("");
  ASSERT_EQ(Exec("ADD", a.path(), "nons", conf).exit_code, 0);
  ASSERT_EQ(IpFiles().size(), 1u);
  ProcResult d = Exec("DEL", "", "nons", conf);
  ASSERT_EQ(d.exit_code, 0) << d.out;
  EXPECT_TRUE(IpFiles().empty());
}

TEST_F(BridgeAddTest, CheckPassesThenReportsDrift) {
  TempNetns a = NewPod();
  std::string conf = Conf(R"("isDefaultGateway":true)");
  ProcResult ra = Exec("ADD", a.path(), "chk", conf);
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  cni::json c = cni::json::parse(conf);
  c["prevResult"] = Json(ra);
  ProcResult ok = Exec("CHECK", a.path(), "chk", c.dump());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;

  // Missing prevResult is an error.
  EXPECT_NE(Exec("CHECK", a.path(), "chk", conf).exit_code, 0);

  // Drift: the default route disappears.
  ASSERT_EQ(In(a, "ip route del default").exit_code, 0);
  ProcResult bad = Exec("CHECK", a.path(), "chk", c.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("0.0.0.0/0"), std::string::npos) << bad.out;

  // Drift: the address is gone.
  ASSERT_EQ(In(a, "ip addr flush dev eth0").exit_code, 0);
  bad = Exec("CHECK", a.path(), "chk", c.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("does not have address"), std::string::npos) << bad.out;

  // Drift: host veth detached from the bridge.
  std::string host_veth = c["prevResult"]["interfaces"][1]["name"];
  ASSERT_EQ(Node("ip link set " + host_veth + " nomaster").exit_code, 0);
  bad = Exec("CHECK", a.path(), "chk", c.dump());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("not a port of bridge"), std::string::npos) << bad.out;
  EXPECT_EQ(Exec("DEL", a.path(), "chk", conf).exit_code, 0);
}

TEST_F(BridgeAddTest, CheckRefusedBeforeVersion040) {
  TempNetns a = NewPod();
  cni::json c = cni::json::parse(Conf("", R"([[{"subnet":"10.77.0.0/24"}]])", "0.3.1"));
  c["prevResult"] = cni::json::object();
  ProcResult r = Exec("CHECK", a.path(), "v031", c.dump());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(Json(r)["code"], 1) << r.out;
}

TEST_F(BridgeAddTest, LayerTwoOnlyAndDisabledInterface) {
  TempNetns a = NewPod(), b = NewPod();
  std::string l2 = Conf("", "", "1.0.0", "bnet", "");
  ProcResult ra = Exec("ADD", a.path(), "l2", l2);
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  cni::json ja = Json(ra);
  EXPECT_FALSE(ja.contains("ips")) << ra.out;
  EXPECT_NE(In(a, "ip -o link show eth0").out.find("state UP"), std::string::npos);

  std::string off = Conf(R"("disableContainerInterface":true)", "", "1.0.0", "bnet", "");
  ProcResult rb = Exec("ADD", b.path(), "off", off);
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  EXPECT_NE(In(b, "ip -o link show eth0").out.find("state DOWN"), std::string::npos);

  // IPAM with disableContainerInterface is refused before anything is made.
  TempNetns c = NewPod();
  ProcResult rc = Exec("ADD", c.path(), "bad", Conf(R"("disableContainerInterface":true)"));
  EXPECT_NE(rc.exit_code, 0);
  EXPECT_NE(rc.out.find("cannot use IPAM"), std::string::npos) << rc.out;
  EXPECT_NE(In(c, "ip link show eth0").exit_code, 0);
}

TEST_F(BridgeAddTest, MacFromRuntimeConfigAndCniArgs) {
  TempNetns a = NewPod(), b = NewPod();
  ProcResult ra = Exec("ADD", a.path(), "mac-a",
                       Conf(R"("runtimeConfig":{"mac":"02:11:22:33:44:55"})"));
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  EXPECT_EQ(Json(ra)["interfaces"][2]["mac"], "02:11:22:33:44:55");
  EXPECT_NE(In(a, "ip -o link show eth0").out.find("02:11:22:33:44:55"), std::string::npos);
  ProcResult rb = Exec("ADD", b.path(), "mac-b", Conf(""), "", "eth0",
                       {{"CNI_ARGS", "IgnoreUnknown=1;MAC=02:aa:bb:cc:dd:ee"}});
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  EXPECT_EQ(Json(rb)["interfaces"][2]["mac"], "02:aa:bb:cc:dd:ee");
}

TEST_F(BridgeAddTest, ExistingBridgeAddressNeedsForceAddress) {
  TempNetns a = NewPod(), b = NewPod();
  ASSERT_EQ(Node("ip link add cni0 type bridge && ip addr add 10.99.0.1/24 dev cni0").exit_code, 0);
  std::string conf = Conf(R"("isGateway":true)");
  ProcResult r = Exec("ADD", a.path(), "force-a", conf);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("\\\"cni0\\\" already has an IP address different from 10.77.0.1/24"),
            std::string::npos) << r.out;
  // Rolled back: IP released, veth gone, pod empty.
  EXPECT_TRUE(IpFiles().empty());
  EXPECT_EQ(NodeVeths(), "");
  EXPECT_NE(In(a, "ip link show eth0").exit_code, 0);

  ProcResult f = Exec("ADD", b.path(), "force-b", Conf(R"("isGateway":true,"forceAddress":true)"));
  ASSERT_EQ(f.exit_code, 0) << f.out << f.err;
  ProcResult addrs = Node("ip -o -4 addr show dev cni0");
  EXPECT_NE(addrs.out.find("10.77.0.1/24"), std::string::npos);
  EXPECT_EQ(addrs.out.find("10.99.0.1"), std::string::npos) << addrs.out;
}

// The bridge's and the pod's IP settings, read back from /proc/sys in their
// namespaces. They are read through netlink and written only when they differ.
TEST_F(BridgeAddTest, BridgeAndPodSysctls) {
  TempNetns a = NewPod(), b = NewPod(), c = NewPod();
  std::string conf = Conf(R"("isGateway":true)");
  ASSERT_EQ(Exec("ADD", a.path(), "sys-a", conf).exit_code, 0);
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/cni0/accept_ra").out, "0\n");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/cni0/accept_dad").out, "0\n");
  EXPECT_EQ(In(a, "cat /proc/sys/net/ipv4/conf/eth0/arp_notify").out, "1\n");
  // IPv4 only: the pod's IPv6 DAD setting is the namespace's default, untouched.
  EXPECT_EQ(In(a, "cat /proc/sys/net/ipv6/conf/eth0/accept_dad").out,
            In(a, "cat /proc/sys/net/ipv6/conf/default/accept_dad").out);
  // The bridge port has no IPv6 at all (no address, no multicast route).
  const std::string port = HostVethName("sys-a", "eth0");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/" + port + "/disable_ipv6").out, "1\n");
  EXPECT_EQ(Node("ip -6 route show table local dev " + port).out, "");
  // The bridge this ADD created has multicast snooping off.
  EXPECT_NE(Node("ip -d link show cni0").out.find("mcast_snooping 0"), std::string::npos)
      << Node("ip -d link show cni0").out;

  // Someone turned them back on: the next ADD repairs them, forwarding too.
  ASSERT_EQ(Node("echo 1 > /proc/sys/net/ipv6/conf/cni0/accept_ra && "
                 "echo 1 > /proc/sys/net/ipv6/conf/cni0/accept_dad && "
                 "echo 0 > /proc/sys/net/ipv4/ip_forward").exit_code, 0);
  ASSERT_EQ(Exec("ADD", b.path(), "sys-b", conf).exit_code, 0);
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/cni0/accept_ra").out, "0\n");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/cni0/accept_dad").out, "0\n");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv4/ip_forward").out, "1\n");

  // With an IPv6 address the pod gets no DAD and keeps its addresses on link down.
  std::string v6 = Conf(R"("isGateway":true)", R"([[{"subnet":"fd00:79::/64"}]])");
  ProcResult rc = Exec("ADD", c.path(), "sys-c", v6);
  ASSERT_EQ(rc.exit_code, 0) << rc.out << rc.err;
  EXPECT_EQ(In(c, "cat /proc/sys/net/ipv6/conf/eth0/accept_dad").out, "0\n");
  EXPECT_EQ(In(c, "cat /proc/sys/net/ipv6/conf/eth0/keep_addr_on_down").out, "1\n");
  EXPECT_EQ(In(c, "cat /proc/sys/net/ipv4/conf/eth0/arp_notify").out, "1\n");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/all/forwarding").out, "1\n");
}

// Where /proc/sys is read-only (some container runtimes mount it so), the port
// cannot have IPv6 switched off; it still gets no address of its own (netlink),
// and the ADD succeeds.
TEST_F(BridgeAddTest, ReadOnlyProcSysStillLeavesThePortWithoutAnAddress) {
  const std::string wrapper = dir_.path() + "/bridge-ro-sys";
  {
    std::ofstream w(wrapper);
    w << "#!/bin/sh\nexec unshare -m sh -c 'mount --bind /proc/sys /proc/sys && "
         "mount -o remount,ro,bind /proc/sys && exec \"$0\"' "
      << linen::test::CniBin("bridge") << "\n";
  }
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);
  TempNetns a = NewPod();
  ProcResult r = Exec("ADD", a.path(), "ro-a", Conf(""), wrapper);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string port = HostVethName("ro-a", "eth0");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/" + port + "/disable_ipv6").out, "0\n");
  EXPECT_EQ(Node("cat /proc/sys/net/ipv6/conf/" + port + "/addr_gen_mode").out, "1\n");
  EXPECT_EQ(Node("ip -6 -o addr show dev " + port).out, "");
  ASSERT_EQ(Exec("DEL", a.path(), "ro-a", Conf("")).exit_code, 0);
}

// A bridge made by someone else without a MAC follows its lowest port's MAC. Our
// first port makes it move; the ADD puts back the MAC it had (the one its pods
// know as their gateway's) explicitly, so ports coming and going no longer move it.
TEST_F(BridgeAddTest, ForeignBridgeMacIsPutBackAndStays) {
  ASSERT_EQ(Node("ip link add cni0 type bridge && ip link set cni0 up").exit_code, 0);
  const std::string before = Node("cat /sys/class/net/cni0/address").out;
  ASSERT_EQ(Node("cat /sys/class/net/cni0/addr_assign_type").out, "1\n") << "random, not set";
  TempNetns a = NewPod(), b = NewPod();
  std::string conf = Conf(R"("isGateway":true)");
  ProcResult ra = Exec("ADD", a.path(), "mac-a", conf);
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  EXPECT_EQ(std::string(Json(ra)["interfaces"][0]["mac"]) + "\n", before);
  EXPECT_EQ(Node("cat /sys/class/net/cni0/address").out, before);
  EXPECT_EQ(Node("cat /sys/class/net/cni0/addr_assign_type").out, "3\n") << "set explicitly";
  ProcResult rb = Exec("ADD", b.path(), "mac-b", conf);
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  EXPECT_EQ(std::string(Json(rb)["interfaces"][0]["mac"]) + "\n", before);
  ASSERT_EQ(Exec("DEL", a.path(), "mac-a", conf).exit_code, 0);
  EXPECT_EQ(Node("cat /sys/class/net/cni0/address").out, before);
}

// A bridge whose owner set its MAC keeps it: nothing to put back.
TEST_F(BridgeAddTest, BridgeMacSetByItsOwnerIsLeftAlone) {
  ASSERT_EQ(Node("ip link add cni0 address 02:00:00:00:00:01 type bridge").exit_code, 0);
  TempNetns a = NewPod();
  ProcResult ra = Exec("ADD", a.path(), "own-a", Conf(R"("isGateway":true)"));
  ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  EXPECT_EQ(Json(ra)["interfaces"][0]["mac"], "02:00:00:00:00:01");
  EXPECT_EQ(Node("cat /sys/class/net/cni0/address").out, "02:00:00:00:00:01\n");
  // A bridge that was there keeps its multicast snooping.
  EXPECT_NE(Node("ip -d link show cni0").out.find("mcast_snooping 1"), std::string::npos)
      << Node("ip -d link show cni0").out;
}

TEST_F(BridgeAddTest, StatusDelegatesToIpam) {
  ProcResult s = Exec("STATUS", "", "", Conf("", R"([[{"subnet":"10.77.0.0/24"}]])", "1.1.0"));
  EXPECT_EQ(s.exit_code, 0) << s.out << s.err;
  ASSERT_EQ(Node("ip link add cni0 type veth peer name notbr").exit_code, 0);
  s = Exec("STATUS", "", "", Conf("", R"([[{"subnet":"10.77.0.0/24"}]])", "1.1.0"));
  EXPECT_NE(s.exit_code, 0);
  EXPECT_EQ(Json(s)["code"], 50) << s.out;
}

}  // namespace
}  // namespace bridge::testing
