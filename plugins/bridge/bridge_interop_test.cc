// Our result against the reference bridge's (/usr/lib/cni/bridge) for the same config,
// field by field, MACs and the host veth name masked.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "plugins/bridge/bridge_test_env.h"

namespace bridge::testing {
namespace {

class BridgeInteropTest : public BridgeEnv, public ::testing::WithParamInterface<const char*> {
 protected:
  static cni::json Masked(cni::json j) {
    for (auto& i : j["interfaces"]) {
      if (i.contains("mac")) i["mac"] = "MAC";
    }
    if (j["interfaces"].size() > 1) j["interfaces"][1]["name"] = "HOSTVETH";
    return j;
  }
  // The same config with its own IPAM dataDir, so both plugins get the same IPs.
  std::string WithDataDir(const std::string& conf, const std::string& dir) {
    cni::json c = cni::json::parse(conf);
    c["ipam"]["dataDir"] = dir;
    return c.dump();
  }
};

TEST_P(BridgeInteropTest, ResultMatchesReference) {
  if (!std::filesystem::exists(kRefBridge)) GTEST_SKIP() << kRefBridge << " not installed";
  const std::string version = GetParam();
  TempNetns pod = NewPod();
  std::string base = Conf(
      R"("isDefaultGateway":true,"mtu":1450,"dns":{"nameservers":["10.96.0.10"],"search":["svc.local"]})",
      R"([[{"subnet":"10.82.0.0/24","gateway":"10.82.0.254"}],[{"subnet":"fd00:82::/64"}]],"routes":[{"dst":"10.200.0.0/16"}])",
      version);

  std::string ref_conf = WithDataDir(base, dir_.path() + "/ref-data");
  ProcResult ref = Exec("ADD", pod.path(), "interop", ref_conf, kRefBridge);
  ASSERT_EQ(ref.exit_code, 0) << ref.out << ref.err;
  ASSERT_EQ(Exec("DEL", pod.path(), "interop", ref_conf, kRefBridge).exit_code, 0);
  ASSERT_EQ(Node("ip link del cni0").exit_code, 0);

  std::string our_conf = WithDataDir(base, dir_.path() + "/our-data");
  ProcResult ours = Exec("ADD", pod.path(), "interop", our_conf);
  ASSERT_EQ(ours.exit_code, 0) << ours.out << ours.err;
  cni::json jr = Masked(Json(ref)), jo = Masked(Json(ours));
  if (getenv("BRIDGE_TEST_VERBOSE")) std::cerr << jo.dump() << "\n" << jr.dump() << "\n";
  EXPECT_EQ(jo, jr) << "ours: " << jo.dump(2) << "\nreference: " << jr.dump(2);
  ASSERT_EQ(Exec("DEL", pod.path(), "interop", our_conf).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Versions, BridgeInteropTest,
                         ::testing::Values("0.3.1", "0.4.0", "1.0.0"),
                         [](const auto& info) {
                           std::string v = info.param;
                           for (char& c : v) if (c == '.') c = '_';
                           return "v" + v;
                         });

// A bridge the reference made is adopted by ours (and its MAC pinned).
TEST_F(BridgeEnv, AdoptsBridgeCreatedByReference) {
  if (!std::filesystem::exists(kRefBridge)) GTEST_SKIP() << kRefBridge << " not installed";
  TempNetns a = NewPod(), b = NewPod();
  std::string conf = Conf(R"("isGateway":true)");
  ProcResult ra = Exec("ADD", a.path(), "mix-a", conf, kRefBridge);
  ASSERT_EQ(ra.exit_code, 0) << ra.out;
  ProcResult rb = Exec("ADD", b.path(), "mix-b", conf);
  ASSERT_EQ(rb.exit_code, 0) << rb.out;
  EXPECT_TRUE(Ping(b, AddrOf(Json(ra))));
  EXPECT_TRUE(Ping(a, AddrOf(Json(rb))));
  ASSERT_EQ(Exec("DEL", b.path(), "mix-b", conf).exit_code, 0);
  ASSERT_EQ(Exec("DEL", a.path(), "mix-a", conf, kRefBridge).exit_code, 0);
  EXPECT_TRUE(IpFiles().empty());
}

}  // namespace
}  // namespace bridge::testing
