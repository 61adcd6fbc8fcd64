// The runtime against real (shell-script) plugin executables: chain order,
// prevResult, env, cache use, GC/STATUS/VERSION, and how plugin failures surface.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "libcni/runtime/fake_plugins.h"
#include "libcni/runtime/runtime.h"
#include "test/support/test_support.h"

namespace cni::runtime {
namespace {

using testing::FakeKind;
using testing::FakePlugin;
using testing::FakePluginDir;
using Strings = std::vector<std::string>;

class RuntimeExecTest : public ::testing::Test {
 protected:
  RuntimeExecTest()
      : plugins_(bin_.path()), runtime_({"/nonexistent-dir", bin_.path()}, cache_.path()) {}

  NetworkConfigList Load(const std::string& text) {
    auto list = ConfListFromBytes(text);
    EXPECT_TRUE(list) << list.error().msg();
    return list ? *list : NetworkConfigList{};
  }
  NetworkConfigList Chain(const std::string& version = "1.1.0", const std::string& extra = "") {
    plugins_.Add({"first"});
    plugins_.Add({"second", FakeKind::kPassThrough});
    plugins_.Add({"third", FakeKind::kPassThrough});
    return Load(R"({"cniVersion":")" + version + R"(","name":"chain",)" + extra +
                R"("plugins":[{"type":"first"},
                  {"type":"second","capabilities":{"mac":true}},{"type":"third"}]})");
  }
  RuntimeConf Rt(const std::string& id = "c1") {
    RuntimeConf rt;
    rt.container_id = id;
    rt.netns = "/run/netns/fake-" + id;
    rt.ifname = "eth0";
    rt.args = {{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "p"}};
    return rt;
  }
  bool Cached(const std::string& id) {
    return std::filesystem::exists(cache_.path() + "/results/chain-" + id + "-eth0");
  }

  linen::test::TempDir bin_, cache_;
  FakePluginDir plugins_;
  CniRuntime runtime_;
};

TEST_F(RuntimeExecTest, AddRunsChainInOrderPassingPrevResultAndCaches) {
  auto list = Chain();
  auto res = runtime_.AddNetworkList(list, Rt());
  ASSERT_TRUE(res) << res.error().msg();
  EXPECT_EQ(plugins_.Calls(), (Strings{"first ADD", "second ADD", "third ADD"}));
  EXPECT_EQ(plugins_.Log()[0],
            "first ADD cid=c1 if=eth0 netns=/run/netns/fake-c1 args=IgnoreUnknown=1;K8S_POD_NAME=p");
  json first_in = json::parse(plugins_.Stdin("first", "ADD"));
  EXPECT_FALSE(first_in.contains("prevResult"));
  EXPECT_EQ(first_in["name"], "chain");
  json second_in = json::parse(plugins_.Stdin("second", "ADD"));
  EXPECT_EQ(second_in["prevResult"]["interfaces"][0]["name"], "first");
  EXPECT_EQ((*res)["interfaces"].size(), 3u);
  EXPECT_EQ((*res)["interfaces"][2]["name"], "third");

  auto cached = runtime_.cache().Read("chain", "c1", "eth0");
  ASSERT_TRUE(cached && cached->has_value());
  EXPECT_EQ(*(*cached)->result, *res);
  EXPECT_EQ((*cached)->config, list.bytes);
  EXPECT_EQ((*cached)->cni_args, Rt().args);
}

TEST_F(RuntimeExecTest, CapabilityArgsOnlyReachDeclaringPlugin) {
  auto list = Chain();
  RuntimeConf rt = Rt();
  rt.capability_args = {{"mac", "0a:58:00:00:00:09"}, {"portMappings", json::array()}};
  ASSERT_TRUE(runtime_.AddNetworkList(list, rt));
  EXPECT_EQ(json::parse(plugins_.Stdin("second", "ADD"))["runtimeConfig"],
            json({{"mac", "0a:58:00:00:00:09"}}));
  EXPECT_FALSE(json::parse(plugins_.Stdin("first", "ADD")).contains("runtimeConfig"));
  EXPECT_FALSE(json::parse(plugins_.Stdin("third", "ADD")).contains("runtimeConfig"));
}

TEST_F(RuntimeExecTest, DelRunsReverseWithCachedResultThenDropsCache) {
  auto list = Chain();
  auto added = runtime_.AddNetworkList(list, Rt());
  ASSERT_TRUE(added);
  ASSERT_TRUE(Cached("c1"));
  ASSERT_TRUE(runtime_.DelNetworkList(list, Rt()));
  EXPECT_EQ(plugins_.Calls(), (Strings{"first ADD", "second ADD", "third ADD", "third DEL",
                                       "second DEL", "first DEL"}));
  EXPECT_EQ(json::parse(plugins_.Stdin("first", "DEL"))["prevResult"], *added);
  EXPECT_FALSE(Cached("c1"));
  // A second DEL has no prevResult and still succeeds.
  ASSERT_TRUE(runtime_.DelNetworkList(list, Rt()));
  EXPECT_FALSE(json::parse(plugins_.Stdin("first", "DEL")).contains("prevResult"));
}

TEST_F(RuntimeExecTest, DelBefore040SendsNoPrevResult) {
  auto list = Chain("0.3.1");
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt()));
  ASSERT_TRUE(Cached("c1"));
  ASSERT_TRUE(runtime_.DelNetworkList(list, Rt()));
  EXPECT_FALSE(json::parse(plugins_.Stdin("first", "DEL")).contains("prevResult"));
  EXPECT_FALSE(Cached("c1"));
}

TEST_F(RuntimeExecTest, LegacyCacheFileServesAsPrevResult) {
  auto list = Chain("1.0.0");
  std::filesystem::create_directories(cache_.path() + "/results");
  // Old libcni wrote the bare result.
  const json legacy = json::parse(R"({"cniVersion":"1.0.0","ips":[{"address":"10.9.0.7/24"}]})");
  std::ofstream(cache_.path() + "/results/chain-c1-eth0") << legacy.dump();
  ASSERT_TRUE(runtime_.DelNetworkList(list, Rt()));
  EXPECT_EQ(json::parse(plugins_.Stdin("first", "DEL"))["prevResult"], legacy);
  EXPECT_FALSE(Cached("c1"));
}

TEST_F(RuntimeExecTest, DelWithCorruptCacheStillRunsAndRemovesIt) {
  auto list = Chain();
  std::filesystem::create_directories(cache_.path() + "/results");
  std::ofstream(cache_.path() + "/results/chain-c1-eth0") << "{corrupt";
  ASSERT_TRUE(runtime_.DelNetworkList(list, Rt()));
  EXPECT_EQ(plugins_.Calls().size(), 3u);
  EXPECT_FALSE(Cached("c1"));
}

TEST_F(RuntimeExecTest, FailedDelKeepsCacheForRetry) {
  auto list = Chain();
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt()));
  plugins_.Add({"second", FakeKind::kCniError, "", 11, "busy"});
  auto s = runtime_.DelNetworkList(list, Rt());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kTryAgainLater);
  EXPECT_EQ(plugins_.Calls().back(), "second DEL");  // stopped there
  EXPECT_TRUE(Cached("c1"));
}

TEST_F(RuntimeExecTest, CheckUsesCachedResultAndHonoursVersionAndDisable) {
  auto list = Chain();
  auto added = runtime_.AddNetworkList(list, Rt());
  ASSERT_TRUE(added);
  ASSERT_TRUE(runtime_.CheckNetworkList(list, Rt()));
  EXPECT_EQ(json::parse(plugins_.Stdin("third", "CHECK"))["prevResult"], *added);
  EXPECT_EQ(plugins_.Calls().size(), 6u);

  auto old = Chain("0.3.1");
  auto s = runtime_.CheckNetworkList(old, Rt());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kIncompatibleVersion);
  EXPECT_NE(s.error().msg().find("does not support the CHECK command"), std::string::npos);

  auto disabled = Chain("1.1.0", R"("disableCheck":true,)");
  ASSERT_TRUE(runtime_.CheckNetworkList(disabled, Rt()));
  EXPECT_EQ(plugins_.Calls().size(), 6u);  // nothing ran
}

TEST_F(RuntimeExecTest, CachedResultIsConvertedToTheListVersion) {
  auto list = Chain("1.0.0");
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt()));
  auto old = Chain("0.4.0");
  auto cached = runtime_.CachedResult(old, Rt());
  ASSERT_TRUE(cached) << cached.error().msg();
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((**cached)["cniVersion"], "0.4.0");
  EXPECT_EQ((**cached)["ips"][0]["version"], "4");  // the 0.4.0 shape
}

TEST_F(RuntimeExecTest, GcDeletesAttachmentsNotListedThenSendsGcVerb) {
  auto list = Chain();
  RuntimeConf gone = Rt("gone");
  gone.capability_args = {{"mac", "0a:58:00:00:00:07"}};
  ASSERT_TRUE(runtime_.AddNetworkList(list, gone));
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt("keep")));
  std::filesystem::remove(bin_.path() + "/calls.log");

  ASSERT_TRUE(runtime_.GcNetworkList(list, std::vector<GcAttachment>{{"keep", "eth0"}}));
  EXPECT_EQ(plugins_.Calls(), (Strings{"third DEL", "second DEL", "first DEL", "first GC",
                                       "second GC", "third GC"}));
  // The synthesized DEL carries what was cached for that attachment.
  EXPECT_EQ(plugins_.Log()[0],
            "third DEL cid=gone if=eth0 netns=/run/netns/fake-gone "
            "args=IgnoreUnknown=1;K8S_POD_NAME=p");
  EXPECT_EQ(json::parse(plugins_.Stdin("second", "DEL"))["runtimeConfig"]["mac"],
            "0a:58:00:00:00:07");
  json gc = json::parse(plugins_.Stdin("second", "GC"));
  json want = json::array({{{"containerID", "keep"}, {"ifname", "eth0"}}});
  EXPECT_EQ(gc["cni.dev/valid-attachments"], want);
  EXPECT_EQ(gc["cni.dev/attachments"], want);
  EXPECT_EQ(gc["name"], "chain");
  EXPECT_FALSE(gc.contains("prevResult"));
  EXPECT_FALSE(Cached("gone"));
  EXPECT_TRUE(Cached("keep"));
}

TEST_F(RuntimeExecTest, GcWithoutValidListDeletesEverythingOfThatNetworkOnly) {
  auto list = Chain();
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt("a")));
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt("b")));
  auto other = Load(R"({"cniVersion":"1.1.0","name":"other","plugins":[{"type":"first"}]})");
  ASSERT_TRUE(runtime_.AddNetworkList(other, Rt("a")));
  ASSERT_TRUE(runtime_.GcNetworkList(list, std::nullopt));
  EXPECT_FALSE(Cached("a"));
  EXPECT_FALSE(Cached("b"));
  EXPECT_TRUE(std::filesystem::exists(cache_.path() + "/results/other-a-eth0"));
  EXPECT_FALSE(json::parse(plugins_.Stdin("first", "GC")).contains("cni.dev/valid-attachments"));
}

TEST_F(RuntimeExecTest, GcSkippedWhenDisabledAndNoVerbBefore110) {
  auto disabled = Chain("1.1.0", R"("disableGC":true,)");
  ASSERT_TRUE(runtime_.AddNetworkList(disabled, Rt()));
  ASSERT_TRUE(runtime_.GcNetworkList(disabled, std::nullopt));
  EXPECT_EQ(plugins_.Calls().size(), 3u);
  EXPECT_TRUE(Cached("c1"));

  auto old = Chain("1.0.0");
  ASSERT_TRUE(runtime_.GcNetworkList(old, std::nullopt));
  EXPECT_EQ(plugins_.Calls(), (Strings{"first ADD", "second ADD", "third ADD", "third DEL",
                                       "second DEL", "first DEL"}));
}

TEST_F(RuntimeExecTest, GcContinuesPastFailuresAndReportsThemAll) {
  auto list = Chain();
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt("a")));
  ASSERT_TRUE(runtime_.AddNetworkList(list, Rt("b")));
  plugins_.Add({"third", FakeKind::kCniError, "", 5, "disk on fire"});
  auto s = runtime_.GcNetworkList(list, std::nullopt);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kIoFailure);
  EXPECT_NE(s.error().msg().find("failed to delete stale attachment a eth0"), std::string::npos);
  EXPECT_NE(s.error().msg().find("failed to delete stale attachment b eth0"), std::string::npos);
  EXPECT_NE(s.error().msg().find("failed to GC plugin third: disk on fire"), std::string::npos)
      << s.error().msg();
  EXPECT_EQ(plugins_.Calls().back(), "third GC");
}

TEST_F(RuntimeExecTest, StatusStopsAtFirstErrorKeepingItsCode) {
  auto list = Chain();
  ASSERT_TRUE(runtime_.StatusNetworkList(list));
  EXPECT_EQ(plugins_.Calls(), (Strings{"first STATUS", "second STATUS", "third STATUS"}));
  plugins_.Add({"second", FakeKind::kCniError, "", 50, "pool exhausted"});
  auto s = runtime_.StatusNetworkList(list);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kNotAvailable);
  EXPECT_NE(s.error().msg().find("pool exhausted"), std::string::npos);
  EXPECT_EQ(plugins_.Calls().back(), "second STATUS");
  // Before 1.1.0 there is no STATUS: success without running anything.
  size_t before = plugins_.Calls().size();
  ASSERT_TRUE(runtime_.StatusNetworkList(Chain("1.0.0")));
  EXPECT_EQ(plugins_.Calls().size(), before);
}

TEST_F(RuntimeExecTest, VersionInfo) {
  plugins_.Add({"first"});
  auto v = runtime_.VersionInfo("first");
  ASSERT_TRUE(v) << v.error().msg();
  EXPECT_EQ((*v)["supportedVersions"].size(), 3u);
  EXPECT_EQ(json::parse(plugins_.Stdin("first", "VERSION"))["cniVersion"], "1.1.0");
}

TEST_F(RuntimeExecTest, MissingPluginNamesTheDirsSearched) {
  auto list = Load(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"nosuch"}]})");
  auto res = runtime_.AddNetworkList(list, Rt());
  ASSERT_FALSE(res);
  const std::string& msg = res.error().msg();
  EXPECT_NE(msg.find("plugin type=\"nosuch\" failed (add)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nonexistent-dir"), std::string::npos) << msg;
  EXPECT_NE(msg.find(bin_.path()), std::string::npos) << msg;
}

TEST_F(RuntimeExecTest, PluginCniErrorSurfacesWithCodeAndNothingCached) {
  plugins_.Add({"first"});
  plugins_.Add({"bad", FakeKind::kCniError, "", 7, "bridge br0 is not a bridge"});
  auto list = Load(R"({"cniVersion":"1.0.0","name":"chain","plugins":[{"type":"first"},
                       {"type":"bad"}]})");
  auto res = runtime_.AddNetworkList(list, Rt());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_EQ(res.error().msg(), "plugin type=\"bad\" failed (add): bridge br0 is not a bridge");
  EXPECT_EQ(res.error().details(), "more words");
  EXPECT_FALSE(Cached("c1"));
}

TEST_F(RuntimeExecTest, CrashingAndGarbagePluginsAreErrorsQuotingThem) {
  plugins_.Add({"crash", FakeKind::kCrash});
  plugins_.Add({"garbage", FakeKind::kGarbage});
  plugins_.Add({"garbagefail", FakeKind::kGarbageFail});
  for (const char* type : {"crash", "garbage", "garbagefail"}) {
    auto list = Load(std::string(R"({"cniVersion":"1.0.0","name":"chain","plugins":[{"type":")") +
                     type + R"("}]})");
    auto res = runtime_.AddNetworkList(list, Rt());
    ASSERT_FALSE(res) << type;
    EXPECT_EQ(res.error().code(), Code::kInternal) << type << ": " << res.error().msg();
    EXPECT_NE(res.error().msg().find(std::string("type=\"") + type + "\""), std::string::npos)
        << res.error().msg();
    EXPECT_FALSE(Cached("c1"));
  }
}

TEST_F(RuntimeExecTest, AddValidatesContainerIdAndIfname) {
  auto list = Chain();
  RuntimeConf rt = Rt("bad id!");
  auto res = runtime_.AddNetworkList(list, rt);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), Code::kInvalidEnv);
  rt = Rt();
  rt.ifname = "much-too-long-ifname";
  res = runtime_.AddNetworkList(list, rt);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), Code::kInvalidEnv);
  EXPECT_TRUE(plugins_.Calls().empty());
}

}  // namespace
}  // namespace cni::runtime
