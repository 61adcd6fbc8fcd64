#include "overlay/backend/subnet_env.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "libcni/sys/file.h"
#include "test/support/test_support.h"

namespace linen::overlay {
namespace {

TEST(SubnetEnvTest, WritesFlannelLayoutAndReadsItBack) {
  test::TempDir dir;
  std::string path = dir.path() + "/run/linen/subnet.env";  // parents created
  SubnetEnv env{*cni::IpNet::Parse("10.244.0.0/16"), *cni::IpNet::Parse("10.244.3.0/24"), 1450,
                true, "vxlan", "node3"};
  ASSERT_TRUE(WriteSubnetEnv(path, env));
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(),
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\n"
            "FLANNEL_IPMASQ=true\nLINEN_BACKEND=vxlan\nLINEN_NODE=node3\n");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  auto back = ReadSubnetEnv(path);
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_EQ(*back, env);
}

TEST(SubnetEnvTest, MissingFileAndVariables) {
  test::TempDir dir;
  auto none = ReadSubnetEnv(dir.path() + "/nope.env");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), cni::Code::kIoFailure);
  EXPECT_TRUE(none.error().IsNotFound());
  std::string path = dir.path() + "/bad.env";
  { std::ofstream(path) << "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\n"; }
  auto bad = ReadSubnetEnv(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(bad.error().msg().find("FLANNEL_SUBNET"), std::string::npos);
}

// FLANNEL_MTU is the whole value, decimal, within what an interface can take;
// std::stoi took "1450abc" as 1450 and "99999" as an MTU.
TEST(SubnetEnvTest, MtuIsParsedStrictlyAndBounded) {
  test::TempDir dir;
  const std::string path = dir.path() + "/subnet.env";
  for (const char* bad : {"1450abc", " 1450", "+1450", "0x5aa", "", "67", "65536", "99999999999"}) {
    std::ofstream(path) << "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n"
                        << "FLANNEL_MTU=" << bad << "\n";
    auto env = ReadSubnetEnv(path);
    ASSERT_FALSE(env) << bad;
    EXPECT_EQ(env.error().code(), cni::Code::kInvalidNetworkConfig);
    EXPECT_NE(env.error().msg().find("FLANNEL_MTU"), std::string::npos) << env.error().msg();
  }
  std::ofstream(path) << "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n"
                      << "FLANNEL_MTU=65535\n";
  auto env = ReadSubnetEnv(path);
  ASSERT_TRUE(env) << env.error().msg();
  EXPECT_EQ(env->mtu, 65535);
}

TEST(SubnetEnvTest, NextWriteRemovesTempFilesAKilledWriterLeft) {
  test::TempDir dir;
  std::string path = dir.path() + "/subnet.env";
  for (const std::string& stale : {dir.path() + "/subnet.env.tmp.4242", cni::AtomicTempPath(path)}) {
    std::ofstream(stale) << "half";
  }
  std::ofstream(dir.path() + "/other.tmp.1") << "not ours";
  SubnetEnv env{*cni::IpNet::Parse("10.244.0.0/16"), *cni::IpNet::Parse("10.244.3.0/24"), 1450,
                true, "host-gw", "n"};
  ASSERT_TRUE(WriteSubnetEnv(path, env));
  env.mtu = 1400;  // a replacement goes through the temp name and rename
  ASSERT_TRUE(WriteSubnetEnv(path, env));
  auto back = ReadSubnetEnv(path);
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_EQ(back->mtu, 1400);
  auto ls = test::Sh("ls -A " + dir.path());
  EXPECT_EQ(ls.out, "other.tmp.1\nsubnet.env\n");
}

// linend's readiness mark: written next to subnet.env, read back by the plugins;
// a reason that spans lines stays one line; a bad mark is an error, not "ready".
TEST(ReadyMarkTest, WritesReadsAndRemoves) {
  test::TempDir dir;
  const std::string path = ReadyMarkPath(dir.path() + "/run/subnet.env");
  EXPECT_EQ(path, dir.path() + "/run/subnet.env.ready");
  auto missing = ReadReadyMark(path);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());

  const auto until = std::chrono::system_clock::time_point(std::chrono::seconds(1764646861));
  ASSERT_TRUE(WriteReadyMark(path, {false, "no subnet leased\n(last error: x)", until}));
  auto back = ReadReadyMark(path);
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_FALSE(back->ready);
  EXPECT_EQ(back->reason, "no subnet leased (last error: x)");
  EXPECT_EQ(back->until, until);

  ASSERT_TRUE(WriteReadyMark(path, {true, "", until}));
  back = ReadReadyMark(path);
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_TRUE(back->ready);

  ASSERT_TRUE(RemoveReadyMark(path));
  EXPECT_FALSE(ReadReadyMark(path));
  EXPECT_TRUE(RemoveReadyMark(path)) << "absent is fine";

  for (const char* bad : {"LINEN_READY=yes\nLINEN_READY_UNTIL=1\n",
                          "LINEN_READY=true\n", "LINEN_READY=true\nLINEN_READY_UNTIL=soon\n",
                          "LINEN_READY=true\nLINEN_READY_UNTIL=99999999999999\n"}) {
    { std::ofstream(path) << bad; }
    auto r = ReadReadyMark(path);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), cni::Code::kInvalidNetworkConfig) << bad;
  }
}

}  // namespace
}  // namespace linen::overlay
