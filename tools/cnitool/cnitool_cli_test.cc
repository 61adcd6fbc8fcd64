// The built cnitool executable against shell-script plugins: how it reads its
// environment and flags, what it prints, and its exit codes and error messages.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "libcni/runtime/fake_plugins.h"
#include "libcni/types.h"
#include "test/support/test_support.h"
#include "tools/cnitool/tool_env.h"

namespace cnitool {
namespace {

using cni::json;
using cni::runtime::testing::FakeKind;
using cni::runtime::testing::FakePluginDir;
using linen::test::ProcResult;
using linen::test::TempDir;
using Strings = std::vector<std::string>;

class CnitoolCliTest : public ::testing::Test {
 protected:
  CnitoolCliTest() : plugins_(bin_.path()) {
    plugins_.Add({"first"});
    plugins_.Add({"second", FakeKind::kPassThrough});
    WriteConf("10-chain.conflist", R"({"cniVersion":"1.1.0","name":"chain","plugins":[
        {"type":"first"},{"type":"second","capabilities":{"mac":true}}]})");
  }
  void WriteConf(const std::string& file, const std::string& text) {
    std::ofstream(conf_.path() + "/" + file) << text;
  }
  ProcResult Cnitool(const Strings& args, std::map<std::string, std::string> env = {}) {
    Strings argv = {linen::test::CniBin("cnitool"), "--cache-dir", cache_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace("NETCONFPATH", conf_.path());
    env.emplace("CNI_PATH", "/nonexistent-dir:" + bin_.path());
    env.emplace("CNI_IFNAME", "");
    env.emplace("CNI_ARGS", "");
    env.emplace("CAP_ARGS", "");
    env.emplace("CNI_CONTAINERID", "");
    return linen::test::Run(argv, env);
  }
  std::string CacheFile(const std::string& id, const std::string& ifname = "eth0") {
    return cache_.path() + "/results/chain-" + id + "-" + ifname;
  }

  TempDir bin_, conf_, cache_;
  FakePluginDir plugins_;
};

TEST_F(CnitoolCliTest, AddPrintsIndentedResultAndCachesUnderDerivedId) {
  auto r = Cnitool({"add", "chain", "/run/netns/x/../podA"},
                   {{"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=a"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json result = json::parse(r.out);
  EXPECT_EQ(result["interfaces"][1]["name"], "second");
  EXPECT_NE(r.out.find("\n    \"cniVersion\""), std::string::npos) << r.out;  // 4-space indent
  const std::string id = ContainerIdFor("/run/netns/podA");
  EXPECT_EQ(plugins_.Log()[0],
            "first ADD cid=" + id + " if=eth0 netns=/run/netns/podA args=IgnoreUnknown=1;K8S_POD_NAME=a");
  EXPECT_TRUE(std::filesystem::exists(CacheFile(id)));
}

TEST_F(CnitoolCliTest, JsonFlagIfnameEnvAndContainerIdOverride) {
  auto r = Cnitool({"--json", "add", "chain", "/run/netns/p"},
                   {{"CNI_IFNAME", "net1"}, {"CNI_CONTAINERID", "ctr1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;  // one compact line
  EXPECT_TRUE(std::filesystem::exists(CacheFile("ctr1", "net1")));
  // The flag beats the environment.
  r = Cnitool({"add", "-i", "net2", "chain", "/run/netns/p"}, {{"CNI_IFNAME", "net1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(CacheFile(ContainerIdFor("/run/netns/p"), "net2")));
}

TEST_F(CnitoolCliTest, CapArgsReachOnlyDeclaringPlugin) {
  auto r = Cnitool({"add", "chain", "/run/netns/p"}, {{"CAP_ARGS", R"({"mac":"0a:58:00:00:00:02"})"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(plugins_.Stdin("second", "ADD"))["runtimeConfig"]["mac"],
            "0a:58:00:00:00:02");
  EXPECT_FALSE(json::parse(plugins_.Stdin("first", "ADD")).contains("runtimeConfig"));
}

TEST_F(CnitoolCliTest, CheckAndDelUseTheCacheThenDelRemovesIt) {
  auto add = Cnitool({"add", "chain", "/run/netns/p"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto check = Cnitool({"check", "chain", "/run/netns/p"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(json::parse(plugins_.Stdin("second", "CHECK"))["prevResult"], json::parse(add.out));
  auto del = Cnitool({"del", "chain", "/run/netns/p"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(plugins_.Calls(), (Strings{"first ADD", "second ADD", "first CHECK", "second CHECK",
                                       "second DEL", "first DEL"}));
  EXPECT_EQ(json::parse(plugins_.Stdin("first", "DEL"))["prevResult"], json::parse(add.out));
  EXPECT_FALSE(std::filesystem::exists(CacheFile(ContainerIdFor("/run/netns/p"))));
}

// --netns-name is one name under /run/netns on every verb, not only where ADD
// creates it: "../../<path>" would have DEL --rm-netns unlink <path>.
TEST_F(CnitoolCliTest, NetnsNameThatLeavesRunNetnsIsRefusedOnEveryVerb) {
  TempDir outside;
  const std::string victim = outside.path() + "/victim";
  std::ofstream(victim) << "keep me";
  const std::string name = "../.." + victim;
  for (const Strings& args : {Strings{"del", "--rm-netns", "--netns-name", name, "chain"},
                              Strings{"del", "--netns-name", name, "chain"},
                              Strings{"check", "--netns-name", name, "chain"},
                              Strings{"add", "--netns-name", name, "chain"}}) {
    auto r = Cnitool(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_NE(r.err.find("invalid netns name \"" + name + "\""), std::string::npos) << r.err;
  }
  EXPECT_TRUE(plugins_.Calls().empty());
  EXPECT_TRUE(std::filesystem::exists(victim));
  EXPECT_FALSE(std::filesystem::exists(cache_.path() + "/results"));
}

// CHECK and DEL build the cache path from the container ID as ADD does, so they
// refuse the same IDs: "x/../../victim" would read or unlink <cache>/victim-eth0.
TEST_F(CnitoolCliTest, CheckAndDelRefuseAContainerIdAddRefuses) {
  std::filesystem::create_directories(CacheFile("x"));
  const std::string victim = cache_.path() + "/victim-eth0";
  std::ofstream(victim) << "{}";
  for (const char* verb : {"check", "del", "add"}) {
    auto flag = Cnitool({"--container-id", "x/../../victim", verb, "chain", "/run/netns/p"});
    EXPECT_EQ(flag.exit_code, 1) << verb;
    EXPECT_NE(flag.err.find("invalid characters in containerID"), std::string::npos)
        << verb << ": " << flag.err;
    auto env = Cnitool({verb, "chain", "/run/netns/p"}, {{"CNI_CONTAINERID", "x/../../victim"}});
    EXPECT_EQ(env.exit_code, 1) << verb;
    EXPECT_NE(env.err.find("invalid characters in containerID"), std::string::npos)
        << verb << ": " << env.err;
  }
  EXPECT_TRUE(plugins_.Calls().empty());
  EXPECT_TRUE(std::filesystem::exists(victim));
}

TEST_F(CnitoolCliTest, UnknownNetworkNamesDirAndCode) {
  auto r = Cnitool({"add", "nope", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no net configuration with name \"nope\" in " + conf_.path()),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(found: \"chain\")"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(CNI error code 7)"), std::string::npos) << r.err;
  EXPECT_TRUE(plugins_.Calls().empty());
}

TEST_F(CnitoolCliTest, MissingPluginNamesDirsAndRunsNothing) {
  WriteConf("20-broken.conflist", R"({"cniVersion":"1.0.0","name":"broken","plugins":[
      {"type":"first"},{"type":"typo"}]})");
  auto r = Cnitool({"add", "broken", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("type=\"typo\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/nonexistent-dir"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bin_.path()), std::string::npos) << r.err;
  EXPECT_TRUE(plugins_.Calls().empty());  // found missing before anything ran
}

TEST_F(CnitoolCliTest, PluginErrorShowsCodeMessageAndDetailsAndIsUndone) {
  plugins_.Add({"second", FakeKind::kCniError, "", 11, "try later please"});
  auto r = Cnitool({"add", "chain", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("plugin type=\"second\" failed (add): try later please (CNI error code 11)"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("details: more words"), std::string::npos) << r.err;
  // The failed ADD is followed by a DEL through the whole chain, as a runtime would.
  EXPECT_EQ(plugins_.Calls(), (Strings{"first ADD", "second ADD", "second DEL"}));
  EXPECT_NE(r.err.find("cleanup DEL after the failed ADD also failed"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(CacheFile(ContainerIdFor("/run/netns/p"))));
}

TEST_F(CnitoolCliTest, FailedAddCleanupAndNoCleanup) {
  plugins_.Add({"bad", FakeKind::kCrash});
  WriteConf("20-crash.conflist", R"({"cniVersion":"1.0.0","name":"crash","plugins":[
      {"type":"first"},{"type":"bad"}]})");
  auto r = Cnitool({"add", "--no-cleanup", "crash", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("(CNI error code 999)"), std::string::npos) << r.err;
  EXPECT_EQ(plugins_.Calls(), (Strings{"first ADD", "bad ADD"}));

  std::filesystem::remove(bin_.path() + "/calls.log");
  // Make "bad" fail only on ADD so the cleanup DEL succeeds.
  std::ofstream(bin_.path() + "/bad") << "#!/bin/sh\ncat >/dev/null\necho \"bad $CNI_COMMAND\" >> "
                                      << bin_.path() << "/calls.log\n"
                                      << "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
                                      << "echo '{\"code\":7,\"msg\":\"no\"}'; exit 1\n";
  r = Cnitool({"add", "crash", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ran DEL to undo the partial ADD"), std::string::npos) << r.err;
  EXPECT_EQ(plugins_.Calls(), (Strings{"first ADD", "bad ADD", "bad DEL", "first DEL"}));
}

TEST_F(CnitoolCliTest, JsonErrorGoesToStdout) {
  plugins_.Add({"second", FakeKind::kCniError, "", 7, "bad config"});
  auto r = Cnitool({"--json", "add", "--no-cleanup", "chain", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  json err = json::parse(r.out);
  EXPECT_EQ(err["code"], 7);
  EXPECT_EQ(err["msg"], "plugin type=\"second\" failed (add): bad config");
  EXPECT_EQ(err["details"], "more words");
}

TEST_F(CnitoolCliTest, GarbagePluginOutputIsReported) {
  plugins_.Add({"second", FakeKind::kGarbage});
  auto r = Cnitool({"add", "--no-cleanup", "chain", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("type=\"second\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("this is not json"), std::string::npos) << r.err;
  // A plugin's own stderr (its log) is passed through.
  plugins_.Add({"second", FakeKind::kGarbageFail});
  r = Cnitool({"add", "--no-cleanup", "chain", "/run/netns/p"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("panic: boom"), std::string::npos) << r.err;
}

TEST_F(CnitoolCliTest, BadEnvironmentIsRejectedBeforeAnythingRuns) {
  auto r = Cnitool({"add", "chain", "/run/netns/p"}, {{"CNI_ARGS", "oops"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid CNI_ARGS pair \"oops\""), std::string::npos) << r.err;
  r = Cnitool({"add", "chain", "/run/netns/p"}, {{"CAP_ARGS", "{nope"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("CAP_ARGS"), std::string::npos) << r.err;
  r = Cnitool({"add", "chain"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("netns path"), std::string::npos) << r.err;
  EXPECT_TRUE(plugins_.Calls().empty());
}

TEST_F(CnitoolCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Cnitool({}).exit_code, 2);
  EXPECT_EQ(Cnitool({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Cnitool({"add"}).exit_code, 2);
  EXPECT_EQ(Cnitool({"--help"}).exit_code, 0);
}

TEST_F(CnitoolCliTest, GcKeepsListedAttachmentsOnly) {
  ASSERT_EQ(Cnitool({"add", "chain", "/run/netns/a"}).exit_code, 0);
  ASSERT_EQ(Cnitool({"add", "chain", "/run/netns/b"}).exit_code, 0);
  const std::string a = ContainerIdFor("/run/netns/a"), b = ContainerIdFor("/run/netns/b");
  auto r = Cnitool({"gc", "chain", "--keep", b + "/eth0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(CacheFile(a)));
  EXPECT_TRUE(std::filesystem::exists(CacheFile(b)));
  EXPECT_EQ(json::parse(plugins_.Stdin("first", "GC"))["cni.dev/valid-attachments"],
            json::array({{{"containerID", b}, {"ifname", "eth0"}}}));
  // Without --keep nothing is valid (as the reference tool): b goes too.
  r = Cnitool({"gc", "chain", "/ignored"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(CacheFile(b)));
  EXPECT_FALSE(json::parse(plugins_.Stdin("first", "GC")).contains("cni.dev/valid-attachments"));
}

TEST_F(CnitoolCliTest, StatusSurfacesPluginCode) {
  EXPECT_EQ(Cnitool({"status", "chain"}).exit_code, 0);
  plugins_.Add({"second", FakeKind::kCniError, "", 50, "address pool exhausted"});
  auto r = Cnitool({"status", "chain"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("address pool exhausted (CNI error code 50)"), std::string::npos) << r.err;
}

TEST_F(CnitoolCliTest, VersionOfToolAndOfEachPlugin) {
  auto r = Cnitool({"version", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["cniVersion"], "1.1.0");
  r = Cnitool({"--json", "version", "chain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json v = json::parse(r.out);
  ASSERT_EQ(v["plugins"].size(), 2u);
  EXPECT_EQ(v["plugins"][0]["path"], bin_.path() + "/first");
  EXPECT_EQ(v["plugins"][0]["supportsConfigVersion"], true);
}

TEST_F(CnitoolCliTest, ConfigFilePathAndDuplicateWarning) {
  WriteConf("single.conf", R"({"cniVersion":"0.4.0","name":"solo","type":"first"})");
  auto r = Cnitool({"add", conf_.path() + "/single.conf", "/run/netns/p"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["cniVersion"], "0.4.0");
  WriteConf("20-dup.conflist", R"({"cniVersion":"1.1.0","name":"chain","plugins":[{"type":"x"}]})");
  r = Cnitool({"check", "chain", "/run/netns/p"});
  EXPECT_NE(r.err.find("warning: network \"chain\" is also defined in " + conf_.path() +
                       "/20-dup.conflist"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cnitool
