// ADD that fails part-way: a clear error, the right code, and nothing left behind.
#include <gtest/gtest.h>

#include "plugins/bridge/bridge_test_env.h"

namespace bridge::testing {
namespace {

class BridgeFaultTest : public BridgeEnv {
 protected:
  // Nothing of the attachment anywhere: no veth on the node, nothing but lo in the
  // pod, no reserved IP, no masquerade chain.
  void ExpectNothingLeft(const TempNetns& pod) {
    EXPECT_EQ(NodeVeths(), "");
    EXPECT_EQ(In(pod, "ip -o link show | grep -v LOOPBACK").out, "");
    EXPECT_TRUE(IpFiles().empty());
    EXPECT_EQ(Node("nft list chains 2>/dev/null | grep masq-").out, "");
  }
};

TEST_F(BridgeFaultTest, FailingIpam) {
  TempNetns pod = NewPod();
  std::string conf = Conf(R"("isGateway":true,"ipMasq":true)", R"([[{"subnet":"10.79.0.0/24"}]])",
                          "1.0.0", "bnet", "failipam");
  ProcResult r = Exec("ADD", pod.path(), "f-ipam", conf);
  ASSERT_NE(r.exit_code, 0);
  cni::json j = Json(r);
  EXPECT_EQ(j["code"], 11) << "IPAM's own code passes through: " << r.out;
  EXPECT_NE(std::string(j.value("msg", "")).find("failipam: no luck"), std::string::npos) << r.out;
  ExpectNothingLeft(pod);
}

TEST_F(BridgeFaultTest, MissingIpamPlugin) {
  TempNetns pod = NewPod();
  ProcResult r = Exec("ADD", pod.path(), "f-none",
                      Conf("", R"([[{"subnet":"10.79.0.0/24"}]])", "1.0.0", "bnet", "no-such-ipam"));
  ASSERT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("no-such-ipam"), std::string::npos) << r.out;
  ExpectNothingLeft(pod);
}

TEST_F(BridgeFaultTest, InterfaceNameAlreadyInPod) {
  TempNetns pod = NewPod();
  ASSERT_EQ(In(pod, "ip link add eth0 type veth peer name other0").exit_code, 0);
  ProcResult r = Exec("ADD", pod.path(), "f-exists", Conf(R"("ipMasq":true)"));
  ASSERT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("\\\"eth0\\\" already exists in netns"), std::string::npos) << r.out;
  EXPECT_EQ(NodeVeths(), "");
  EXPECT_TRUE(IpFiles().empty());
  // The pod's own eth0 is untouched.
  EXPECT_EQ(In(pod, "ip -o link show eth0").exit_code, 0);
  EXPECT_EQ(Node("nft list chains 2>/dev/null | grep masq-").out, "");
}

TEST_F(BridgeFaultTest, NetnsPathDoesNotExist) {
  ProcResult r = Exec("ADD", "/run/netns/linen-missing-ns", "f-nons", Conf(R"("isGateway":true)"));
  ASSERT_NE(r.exit_code, 0);
  cni::json j = Json(r);
  EXPECT_NE(std::string(j.value("msg", "")).find("/run/netns/linen-missing-ns"), std::string::npos);
  // Opened before anything is created: not even the bridge exists.
  EXPECT_NE(Node("ip link show cni0").exit_code, 0);
  EXPECT_TRUE(IpFiles().empty());
}

TEST_F(BridgeFaultTest, BadConfigs) {
  TempNetns pod = NewPod();
  struct Case {
    std::string extra;
    int code;
    std::string words;
  } cases[] = {
      {R"("vlan":5000)", 7, "invalid VLAN ID 5000"},
      {R"("hairpinMode":true,"promiscMode":true)", 7, "hairpin mode and promiscuous mode"},
      {R"("ipMasqBackend":"ebtables")", 2, "unknown ipmasq backend"},
      {R"("mtu":"big")", 6, "mtu"},
  };
  for (const Case& tc : cases) {
    ProcResult r = Exec("ADD", pod.path(), "f-bad", Conf(tc.extra));
    ASSERT_NE(r.exit_code, 0) << tc.extra;
    cni::json j = Json(r);
    EXPECT_EQ(j["code"], tc.code) << r.out;
    EXPECT_NE(std::string(j.value("msg", "")).find(tc.words), std::string::npos) << r.out;
  }
  ExpectNothingLeft(pod);
  EXPECT_NE(Node("ip link show cni0").exit_code, 0);
}

TEST_F(BridgeFaultTest, VlanRefusedByKernelLeavesNothing) {
  TempNetns pod = NewPod();
  ProcResult r = Exec("ADD", pod.path(), "f-vlan", Conf(R"("vlan":100,"isGateway":false)"));
  if (r.exit_code == 0) {
    GTEST_SKIP() << "this kernel supports bridge VLAN filtering; the refusal path is not reachable";
  }
  cni::json j = Json(r);
  std::string msg = j.value("msg", "");
  EXPECT_NE(msg.find("VLAN filtering"), std::string::npos) << r.out;
  ExpectNothingLeft(pod);
  EXPECT_NE(Node("ip link show cni0").exit_code, 0) << "the bridge this ADD made is gone";
}

TEST_F(BridgeFaultTest, VlanOnExistingBridgeLeavesNothing) {
  TempNetns pod = NewPod();
  ASSERT_EQ(Node("ip link add cni0 type bridge").exit_code, 0);
  ProcResult r = Exec("ADD", pod.path(), "f-vlan2", Conf(R"("vlanTrunk":[{"id":7}])"));
  if (r.exit_code == 0) GTEST_SKIP() << "kernel supports bridge VLAN filtering";
  ExpectNothingLeft(pod);
  EXPECT_EQ(Node("ip link show cni0").exit_code, 0) << "someone else's bridge is kept";
}

// A refused ADD removes the bridge it created, whatever refused it: the IPAM plugin
// (host-local's code 7 for an IP outside every range, any IPAM's own failure).
TEST_F(BridgeFaultTest, RefusedAddRemovesTheBridgeItCreated) {
  TempNetns pod = NewPod();
  const std::string fwd_before = Node("cat /proc/sys/net/ipv4/ip_forward").out;
  ProcResult r = Exec("ADD", pod.path(), "f-range", Conf(R"("isGateway":true,"ipMasq":true)"), "",
                      "eth0", {{"CNI_ARGS", "IgnoreUnknown=1;IP=10.99.0.5"}});
  ASSERT_NE(r.exit_code, 0);
  EXPECT_EQ(Json(r)["code"], 7) << r.out;
  ExpectNothingLeft(pod);
  EXPECT_NE(Node("ip link show cni0").exit_code, 0) << "the bridge this ADD made is gone";
  EXPECT_EQ(Node("cat /proc/sys/net/ipv4/ip_forward").out, fwd_before);

  r = Exec("ADD", pod.path(), "f-ipam2",
           Conf(R"("isGateway":true)", R"([[{"subnet":"10.79.0.0/24"}]])", "1.0.0", "bnet",
                "failipam"));
  ASSERT_NE(r.exit_code, 0);
  ExpectNothingLeft(pod);
  EXPECT_NE(Node("ip link show cni0").exit_code, 0) << "the bridge this ADD made is gone";
}

// The bridge stays when it was there before (someone else's), or when other pods
// use it: only a bridge this very ADD created and left portless is removed.
TEST_F(BridgeFaultTest, RefusedAddKeepsABridgeInUse) {
  TempNetns pod1 = NewPod();
  TempNetns pod2 = NewPod();
  ProcResult ok = Exec("ADD", pod1.path(), "f-keep1", Conf(R"("isGateway":true)"));
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  ProcResult r = Exec("ADD", pod2.path(), "f-keep2", Conf(R"("isGateway":true)"), "", "eth0",
                      {{"CNI_ARGS", "IgnoreUnknown=1;IP=10.99.0.5"}});
  ASSERT_NE(r.exit_code, 0);
  EXPECT_EQ(Node("ip link show cni0").exit_code, 0);
  EXPECT_TRUE(Ping(pod1, "10.77.0.1")) << "pod1 still reaches its gateway";
  EXPECT_EQ(Exec("DEL", pod1.path(), "f-keep1", Conf(R"("isGateway":true)")).exit_code, 0);
}

}  // namespace
}  // namespace bridge::testing
