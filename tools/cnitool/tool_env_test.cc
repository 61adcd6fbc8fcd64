#include "tools/cnitool/tool_env.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace cnitool {
namespace {

TEST(ToolEnv, CniArgsFollowTheReferenceRule) {
  auto ok = ParseToolCniArgs("IgnoreUnknown=1;K8S_POD_NAME=web");
  ASSERT_TRUE(ok) << ok.error().msg();
  EXPECT_EQ(*ok, (cni::runtime::CniArgPairs{{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "web"}}));
  EXPECT_TRUE(ParseToolCniArgs("")->empty());
  for (const char* bad : {"K", "K=", "=V", "A=1;", "A=1=2", "A=1;;B=2"}) {
    auto r = ParseToolCniArgs(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), cni::Code::kInvalidEnv);
    EXPECT_NE(r.error().msg().find("invalid CNI_ARGS pair"), std::string::npos);
  }
}

TEST(ToolEnv, CapArgsMustBeAnObject) {
  auto ok = ParseCapArgs(R"({"mac":"0a:58:00:00:00:01","ips":["10.0.0.5/24"]})");
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["mac"], "0a:58:00:00:00:01");
  EXPECT_TRUE(ParseCapArgs("")->empty());
  EXPECT_FALSE(ParseCapArgs("[1]"));
  auto bad = ParseCapArgs("{mac:");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), cni::Code::kDecodingFailure);
  EXPECT_NE(bad.error().msg().find("CAP_ARGS"), std::string::npos);
}

TEST(ToolEnv, ContainerIdIsSha512OfTheCleanAbsolutePath) {
  // Value computed with the reference's formula (Go: fmt.Sprintf("cnitool-%x", s[:10])).
  EXPECT_EQ(ContainerIdFor("/run/netns/foo"), "cnitool-254dc2c1a36160f60f59");
  EXPECT_EQ(AbsolutePath("/run/netns/../netns/foo/"), "/run/netns/foo");
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(AbsolutePath("x/./y"), std::string(cwd) + "/x/y");
}

TEST(ToolEnv, DefaultsAndOverrides) {
  ToolEnv env = ReadToolEnv({{"NETCONFPATH", ""}, {"CNI_PATH", ""}, {"CNI_IFNAME", ""}});
  EXPECT_EQ(env.netconf_path, "/etc/cni/net.d");
  EXPECT_EQ(env.plugin_dirs, std::vector<std::string>{"/opt/cni/bin"});
  env = ReadToolEnv({{"NETCONFPATH", "/tmp/n"}, {"CNI_PATH", "/a::/b:"}, {"CNI_IFNAME", "net1"}});
  EXPECT_EQ(env.netconf_path, "/tmp/n");
  EXPECT_EQ(env.plugin_dirs, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(env.ifname, "net1");
}

}  // namespace
}  // namespace cnitool
