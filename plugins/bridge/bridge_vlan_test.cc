// VLAN on a kernel that can do it; skipped with the kernel's own words otherwise.
#include <gtest/gtest.h>

#include "plugins/bridge/bridge_test_env.h"

namespace bridge::testing {
namespace {

class BridgeVlanTest : public BridgeEnv {};

TEST_F(BridgeVlanTest, AccessVlanIsolatesPods) {
  TempNetns a = NewPod(), b = NewPod(), c = NewPod();
  ProcResult ra = Exec("ADD", a.path(), "vl-a", Conf(R"("vlan":10)"));
  if (ra.exit_code != 0) {
    std::string msg = Json(ra).value("msg", ra.out);
    GTEST_SKIP() << "kernel refuses bridge VLAN filtering: " << msg;
  }
  cni::json ja = Json(ra);
  ProcResult rb = Exec("ADD", b.path(), "vl-b", Conf(R"("vlan":10)"));
  ASSERT_EQ(rb.exit_code, 0) << rb.out;
  ProcResult rc = Exec("ADD", c.path(), "vl-c", Conf(R"("vlan":20)"));
  ASSERT_EQ(rc.exit_code, 0) << rc.out;
  EXPECT_TRUE(Ping(b, AddrOf(ja)));
  EXPECT_FALSE(Ping(c, AddrOf(ja)));
  std::string host_veth = ja["interfaces"][1]["name"];
  EXPECT_NE(Node("bridge vlan show dev " + host_veth).out.find("10 PVID Egress Untagged"),
            std::string::npos);
}

}  // namespace
}  // namespace bridge::testing
