#include "overlay/backend/subnet_env.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// flannel's WriteSubnetFile (pkg/subnet/subnet.go): the IPv4 pair when EnableIPv4,
// then FLANNEL_IPV6_NETWORK / FLANNEL_IPV6_SUBNET (first usable address) when
// EnableIPv6, then MTU and IPMASQ.
TEST(SubnetEnvTest, DualStackWritesBothPairsInFlannelsOrder) {
  test::TempDir dir;
  const std::string path = dir.path() + "/subnet.env";
  SubnetEnv env{*cni::IpNet::Parse("10.244.0.0/16"), *cni::IpNet::Parse("10.244.3.0/24"), 1430,
                true, "vxlan", "node3"};
  env.ipv6_network = *cni::IpNet::Parse("fd00:10:244::/56");
  env.ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:3::/64");
  ASSERT_TRUE(WriteSubnetEnv(path, env));
  EXPECT_EQ(ReadAll(path),
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n"
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n"
            "FLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\nLINEN_BACKEND=vxlan\nLINEN_NODE=node3\n");
  auto back = ReadSubnetEnv(path);
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_EQ(*back, env);
  EXPECT_TRUE(back->has_ipv4());
  EXPECT_TRUE(back->has_ipv6());
}

TEST(SubnetEnvTest, Ipv6OnlyHasNoIpv4Pair) {
  test::TempDir dir;
  const std::string path = dir.path() + "/subnet.env";
  SubnetEnv env;
  env.mtu = 1430;
  env.backend = "host-gw";
  env.ipv6_network = *cni::IpNet::Parse("fd00:10:244::/56");
  env.ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:3::/64");
  ASSERT_TRUE(WriteSubnetEnv(path, env));
  EXPECT_EQ(ReadAll(path),
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n"
            "FLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\nLINEN_BACKEND=host-gw\n");
  auto back = ReadSubnetEnv(path);
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_EQ(*back, env);
  EXPECT_FALSE(back->has_ipv4());
  // A file flannel wrote for an IPv6-only node reads too.
  std::ofstream(path) << "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"
                         "FLANNEL_IPV6_SUBNET=fd00:10:244:7::1/64\nFLANNEL_MTU=1430\n"
                         "FLANNEL_IPMASQ=false\n";
  back = ReadSubnetEnv(path);
  ASSERT_TRUE(back) << back.error().msg();
  EXPECT_EQ(back->ipv6_subnet.ToString(), "fd00:10:244:7::/64");
  EXPECT_FALSE(back->ip_masq);
}

TEST(SubnetEnvTest, BadIpv6PairsAreRefusedNamingTheVariable) {
  test::TempDir dir;
  const std::string path = dir.path() + "/subnet.env";
  struct Case {
    const char* text;
    const char* words;
  };
  for (const Case& c : std::vector<Case>{
           {"FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_MTU=1430\n",
            "FLANNEL_IPV6_SUBNET is missing"},
           {"FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1430\n",
            "FLANNEL_IPV6_NETWORK is missing"},
           {"FLANNEL_IPV6_NETWORK=10.244.0.0/16\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n"
            "FLANNEL_MTU=1430\n",
            "FLANNEL_IPV6_NETWORK is not IPv6"},
           {"FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=nope\nFLANNEL_MTU=1430\n",
            "FLANNEL_IPV6_SUBNET is not a CIDR"},
           {"FLANNEL_NETWORK=fd00:10:244::/56\nFLANNEL_SUBNET=fd00:10:244:1::1/64\n"
            "FLANNEL_MTU=1430\n",
            "FLANNEL_NETWORK is not IPv4"},
           {"FLANNEL_MTU=1430\n", "FLANNEL_NETWORK is missing"},
       }) {
    std::ofstream(path) << c.text;
    auto env = ReadSubnetEnv(path);
    ASSERT_FALSE(env) << c.text;
    EXPECT_EQ(env.error().code(), cni::Code::kInvalidNetworkConfig);
    EXPECT_NE(env.error().msg().find(c.words), std::string::npos) << env.error().msg();
  }
}

TEST(SubnetEnvTest, WritingNoFamilyOrASubnetWithoutItsNetworkIsRefused) {
  test::TempDir dir;
  const std::string path = dir.path() + "/subnet.env";
  SubnetEnv none;
  none.mtu = 1450;
  auto r = WriteSubnetEnv(path, none);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), cni::Code::kInvalidNetworkConfig);
  SubnetEnv half = none;
  half.ipv6_subnet = *cni::IpNet::Parse("fd00:10:244:3::/64");
  EXPECT_FALSE(WriteSubnetEnv(path, half));
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0);  // nothing written
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
