// The built loopback executable, run the way a runtime runs it (inside a "node"
// namespace, never the host's), compared with the reference /usr/lib/cni/loopback.
#include <unistd.h>

#include <gtest/gtest.h>

#include "libcni/types.h"
#include "test/support/test_support.h"

namespace {

using cni::json;
using linen::test::ProcResult;

constexpr const char* kReference = "/usr/lib/cni/loopback";

std::string Conf(const std::string& version) {
  return R"({"cniVersion":")" + version + R"(","name":"lo-net","type":"loopback"})";
}

class LoopbackExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto node = linen::test::TempNetns::Create("lon");
    ASSERT_TRUE(node) << node.error().msg();
    node_.emplace(std::move(*node));
    auto ctr = linen::test::TempNetns::Create("loc");
    ASSERT_TRUE(ctr) << ctr.error().msg();
    ctr_.emplace(std::move(*ctr));
    // TempNetns brings lo up; a fresh container has it down.
    ASSERT_EQ(Ip("link set lo down").exit_code, 0);
    ASSERT_FALSE(LoUp());
  }
  ProcResult Ip(const std::string& args) {
    return linen::test::Sh("ip -n " + ctr_->name() + " " + args);
  }
  bool LoUp() {
    // "ip -o link" prints the flags as <LOOPBACK,UP,LOWER_UP>.
    std::string out = Ip("-o link show lo").out;
    EXPECT_NE(out.find("LOOPBACK"), std::string::npos) << out;
    return out.find(",UP") != std::string::npos;
  }
  ProcResult Plugin(const std::string& binary, const std::string& cmd, const std::string& stdin_data,
                    std::map<std::string, std::string> extra_env = {}) {
    std::map<std::string, std::string> env = {
        {"CNI_COMMAND", cmd},       {"CNI_CONTAINERID", "ctr-" + std::to_string(getpid())},
        {"CNI_NETNS", ctr_->path()}, {"CNI_IFNAME", "lo"},
        {"CNI_PATH", linen::test::CniBinDir()}};
    for (auto& [k, v] : extra_env) env[k] = v;
    return linen::test::Run({"/usr/sbin/ip", "netns", "exec", node_->name(), binary}, env,
                            stdin_data);
  }
  ProcResult Ours(const std::string& cmd, const std::string& stdin_data,
                  std::map<std::string, std::string> extra_env = {}) {
    return Plugin(linen::test::CniBin("loopback"), cmd, stdin_data, std::move(extra_env));
  }
  static json ErrorJson(const ProcResult& r) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    try {
      return json::parse(r.out);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "stdout is not JSON: " << r.out;
      return json::object();
    }
  }
  std::optional<linen::test::TempNetns> node_, ctr_;
};

TEST_F(LoopbackExecTest, AddCheckDel) {
  auto add = Ours("ADD", Conf("1.0.0"));
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_TRUE(LoUp());
  json j = json::parse(add.out);
  EXPECT_EQ(j, json::parse(R"({"cniVersion":"1.0.0",
      "interfaces":[{"name":"lo","mac":"00:00:00:00:00:00","sandbox":")" + ctr_->path() + R"("}],
      "ips":[{"interface":0,"address":"127.0.0.1/8"},{"interface":0,"address":"::1/128"}]})"));
  // lo really works: ping over it inside the container.
  EXPECT_EQ(linen::test::Sh("ip netns exec " + ctr_->name() + " ping -c1 -W1 127.0.0.1").exit_code,
            0);

  auto check = Ours("CHECK", Conf("1.0.0"));
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out, "");

  auto del = Ours("DEL", Conf("1.0.0"));
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(del.out, "");
  EXPECT_FALSE(LoUp());
  EXPECT_NE(Ours("CHECK", Conf("1.0.0")).exit_code, 0);
  EXPECT_EQ(Ours("DEL", Conf("1.0.0")).exit_code, 0);  // repeated DEL
}

TEST_F(LoopbackExecTest, DelOfGoneNetnsSucceeds) {
  auto del = Ours("DEL", Conf("0.4.0"),
                  {{"CNI_NETNS", "/run/netns/linen-gone-" + std::to_string(getpid())}});
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(Ours("DEL", Conf("0.4.0"), {{"CNI_NETNS", ""}}).exit_code, 0);
}

TEST_F(LoopbackExecTest, Version) {
  auto v = Ours("VERSION", "");
  ASSERT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(json::parse(v.out), json::parse(R"({"cniVersion":"1.1.0","supportedVersions":
      ["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"));
}

TEST_F(LoopbackExecTest, VersionEchoesRequestedSupportedVersion) {
  auto v = Ours("VERSION", R"({"cniVersion":"0.3.1"})");
  ASSERT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(json::parse(v.out)["cniVersion"], "0.3.1");
}

TEST(LoopbackBinaryTest, NoCommandPrintsAboutOnStderr) {
  // As skel: run by hand without CNI_COMMAND, say what we are and succeed.
  auto r = linen::test::Run({linen::test::CniBin("loopback")}, {{"CNI_COMMAND", ""}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CNI protocol versions supported: 0.1.0"), std::string::npos) << r.err;
}

TEST(LoopbackBinaryTest, VersionFlag) {
  auto r = linen::test::Run({linen::test::CniBin("loopback"), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("1.1.0"), std::string::npos) << r.out;
}

TEST(LoopbackBinaryTest, UnknownCommandIsCode4) {
  auto r = linen::test::Run({linen::test::CniBin("loopback")}, {{"CNI_COMMAND", "PING"}});
  EXPECT_NE(r.exit_code, 0);
  auto e = json::parse(r.out);
  EXPECT_EQ(e["code"], 4);
  EXPECT_EQ(e["msg"], "unknown CNI_COMMAND: PING");
}

TEST_F(LoopbackExecTest, BadStdinIsCode6AndTouchesNothing) {
  auto r = Ours("ADD", "{not json");
  json e = ErrorJson(r);
  EXPECT_EQ(e["code"], 6);
  EXPECT_FALSE(e["msg"].get<std::string>().empty());
  EXPECT_FALSE(LoUp());
}

TEST_F(LoopbackExecTest, UnknownVersionIsCode1AndTouchesNothing) {
  json e = ErrorJson(Ours("ADD", Conf("3.0.0")));
  EXPECT_EQ(e["code"], 1);
  EXPECT_FALSE(LoUp());
}

TEST_F(LoopbackExecTest, MissingEnvIsCode4) {
  json e = ErrorJson(Ours("ADD", Conf("1.0.0"), {{"CNI_NETNS", ""}}));
  EXPECT_EQ(e["code"], 4);
  EXPECT_NE(e["msg"].get<std::string>().find("CNI_NETNS"), std::string::npos);
  EXPECT_FALSE(LoUp());
}

TEST_F(LoopbackExecTest, MissingNetnsIsCode3) {
  json e = ErrorJson(
      Ours("ADD", Conf("1.0.0"), {{"CNI_NETNS", "/run/netns/linen-gone-" + std::to_string(getpid())}}));
  EXPECT_EQ(e["code"], 3);
}

TEST_F(LoopbackExecTest, OwnNetnsIsCode8) {
  // The node namespace itself as CNI_NETNS: refused before anything is touched.
  json e = ErrorJson(Ours("ADD", Conf("1.0.0"), {{"CNI_NETNS", node_->path()}}));
  EXPECT_EQ(e["code"], 8);
}

class LoopbackVsReference : public LoopbackExecTest,
                            public ::testing::WithParamInterface<std::string> {};

TEST_P(LoopbackVsReference, SameAddResult) {
  if (access(kReference, X_OK) != 0) GTEST_SKIP() << kReference << " not installed";
  const std::string version = GetParam();
  auto ref = Plugin(kReference, "ADD", Conf(version));
  ASSERT_EQ(ref.exit_code, 0) << ref.out << ref.err;
  ASSERT_EQ(Ip("link set lo down").exit_code, 0);
  auto ours = Ours("ADD", Conf(version));
  ASSERT_EQ(ours.exit_code, 0) << ours.out << ours.err;
  EXPECT_TRUE(LoUp());
  json jr = json::parse(ref.out), jo = json::parse(ours.out);
  EXPECT_EQ(jo["cniVersion"], jr["cniVersion"]);
  // Compare meaning, not bytes: the installed reference predates some
  // version-shape fixes (it omits ips[].version for 0.3.x/0.4.0).
  auto rr = cni::ParseResult(jr, version);
  auto ro = cni::ParseResult(jo, version);
  ASSERT_TRUE(rr) << rr.error().msg();
  ASSERT_TRUE(ro) << ro.error().msg();
  EXPECT_EQ(*ro, *rr) << "ours: " << ours.out << "\nreference: " << ref.out;
  EXPECT_EQ(jo["interfaces"], jr["interfaces"]);
  EXPECT_EQ(jo["ips"].size(), jr["ips"].size());
  // Both plugins' DEL leave the same state.
  ASSERT_EQ(Plugin(kReference, "DEL", Conf(version)).exit_code, 0);
  EXPECT_FALSE(LoUp());
}

INSTANTIATE_TEST_SUITE_P(Versions, LoopbackVsReference,
                         ::testing::Values("0.3.1", "0.4.0", "1.0.0"));

}  // namespace
