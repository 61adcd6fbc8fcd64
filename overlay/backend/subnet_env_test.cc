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

}  // namespace
}  // namespace linen::overlay
