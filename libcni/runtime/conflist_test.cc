#include "libcni/runtime/conflist.h"

#include <gtest/gtest.h>

namespace cni::runtime {
namespace {

TEST(ConfList, ParsesListKeysAndPluginsVerbatim) {
  const std::string text = R"({
    "cniVersion": "1.0.0", "name": "net1", "disableCheck": true,
    "plugins": [
      {"type": "bridge", "bridge": "cni0", "custom": {"a": 1},
       "ipam": {"type": "host-local"}},
      {"type": "tuning", "capabilities": {"mac": true, "ips": false}}
    ]})";
  auto list = ConfListFromBytes(text);
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_EQ(list->name, "net1");
  EXPECT_EQ(list->cni_version, "1.0.0");
  EXPECT_TRUE(list->disable_check);
  EXPECT_FALSE(list->disable_gc);
  EXPECT_EQ(list->bytes, text);
  ASSERT_EQ(list->plugins.size(), 2u);
  EXPECT_EQ(list->plugins[0].type, "bridge");
  EXPECT_EQ(list->plugins[0].conf["custom"]["a"], 1);
  EXPECT_EQ(list->plugins[1].capabilities.at("mac"), true);
  EXPECT_EQ(list->plugins[1].capabilities.at("ips"), false);
}

TEST(ConfList, BooleansAcceptStringsInAnyCase) {
  auto list = ConfListFromBytes(
      R"({"name":"n","cniVersion":"1.1.0","disableGC":"TRUE","disableCheck":"false",
          "plugins":[{"type":"x"}]})");
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_TRUE(list->disable_gc);
  EXPECT_FALSE(list->disable_check);
  auto bad = ConfListFromBytes(R"({"name":"n","disableGC":"yes","plugins":[{"type":"x"}]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().msg().find("disableGC"), std::string::npos);
  auto bad_type = ConfListFromBytes(R"({"name":"n","disableGC":1,"plugins":[{"type":"x"}]})");
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().code(), Code::kDecodingFailure);
}

TEST(ConfList, CniVersionsPicksHighestSupported) {
  auto list = ConfListFromBytes(
      R"({"name":"n","cniVersion":"0.4.0","cniVersions":["1.0.0","0.3.1","9.9.9"],
          "plugins":[{"type":"x"}]})");
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_EQ(list->cni_version, "1.0.0");
  auto only_new = ConfListFromBytes(
      R"({"name":"n","cniVersions":["1.1.0","2.0.0"],"plugins":[{"type":"x"}]})");
  ASSERT_TRUE(only_new);
  EXPECT_EQ(only_new->cni_version, "1.1.0");
}

TEST(ConfList, ErrorsSayWhatIsWrong) {
  struct Case {
    const char* text;
    Code code;
    const char* words;
  } cases[] = {
      {R"({"plugins":[{"type":"x"}]})", Code::kInvalidNetworkConfig, "no name"},
      {R"({"name":5,"plugins":[{"type":"x"}]})", Code::kDecodingFailure, "invalid name type"},
      {R"({"name":"n","plugins":[]})", Code::kInvalidNetworkConfig, "no plugins in list"},
      {R"({"name":"n","plugins":{}})", Code::kDecodingFailure, "invalid 'plugins' type"},
      {R"({"name":"n","plugins":[{"type":"a"},{"bridge":"x"}]})", Code::kInvalidNetworkConfig,
       "plugin config 1: error parsing configuration: missing 'type'"},
      {R"({"name":"n","plugins":[{"type":"a","capabilities":{"mac":"yes"}}]})",
       Code::kDecodingFailure, "capability \"mac\""},
      {R"({"name":"n","loadOnlyInlinedPlugins":true})", Code::kInvalidNetworkConfig,
       "no 'plugins' key"},
      {R"({"name": "n", )", Code::kDecodingFailure, "error parsing configuration list"},
      {R"(["not an object"])", Code::kDecodingFailure, "expected a JSON object"},
  };
  for (const auto& c : cases) {
    auto list = ConfListFromBytes(c.text);
    ASSERT_FALSE(list) << c.text;
    EXPECT_EQ(list.error().code(), c.code) << c.text << ": " << list.error().msg();
    EXPECT_NE(list.error().msg().find(c.words), std::string::npos)
        << c.text << ": " << list.error().msg();
  }
}

TEST(ConfList, NoPluginsKeyIsAnEmptyListForTheLoaderToFill) {
  auto list = ConfListFromBytes(R"({"name":"n","cniVersion":"1.0.0"})");
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_TRUE(list->plugins.empty());
}

TEST(ConfList, SingleConfIsUpConvertedLikeLibcni) {
  auto conf = PluginConfigFromBytes(
      R"({"cniVersion":"0.4.0","name":"single","type":"bridge","ipam":{"type":"host-local"}})");
  ASSERT_TRUE(conf) << conf.error().msg();
  auto list = ConfListFromConf(*conf);
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_EQ(list->name, "single");
  EXPECT_EQ(list->cni_version, "0.4.0");
  ASSERT_EQ(list->plugins.size(), 1u);
  EXPECT_EQ(list->plugins[0].conf, conf->conf);
  // Go marshals the wrapping map with sorted keys; the cache stores these bytes.
  EXPECT_EQ(list->bytes,
            R"({"cniVersion":"0.4.0","name":"single","plugins":[{"cniVersion":"0.4.0",)"
            R"("ipam":{"type":"host-local"},"name":"single","type":"bridge"}]})");
}

TEST(ConfList, PluginDescriptionMatchesLibcni) {
  PluginConfig p;
  p.type = "bridge";
  EXPECT_EQ(PluginDescription(p), R"(type="bridge")");
  p.name = "x";
  EXPECT_EQ(PluginDescription(p), R"(type="bridge" name="x")");
}

}  // namespace
}  // namespace cni::runtime
