#include <gtest/gtest.h>

#include "libcni/runtime/runtime.h"

namespace cni::runtime {
namespace {

NetworkConfigList TwoPlugins() {
  auto list = ConfListFromBytes(R"({"cniVersion":"1.0.0","name":"net","plugins":[
      {"type":"bridge","cniVersion":"0.3.1","name":"ignored","bridge":"br0"},
      {"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false},
       "runtimeConfig":{"fromFile":1}}]})");
  EXPECT_TRUE(list) << list.error().msg();
  return *list;
}

TEST(BuildPluginConfig, InjectsListNameAndVersionAndPrevResult) {
  auto list = TwoPlugins();
  json prev = {{"cniVersion", "1.0.0"}, {"ips", json::array()}};
  json conf = BuildPluginConfig(list, list.plugins[0], prev, nullptr);
  EXPECT_EQ(conf["name"], "net");
  EXPECT_EQ(conf["cniVersion"], "1.0.0");
  EXPECT_EQ(conf["bridge"], "br0");
  EXPECT_EQ(conf["prevResult"], prev);
  EXPECT_FALSE(conf.contains("runtimeConfig"));
  json first = BuildPluginConfig(list, list.plugins[0], std::nullopt, nullptr);
  EXPECT_FALSE(first.contains("prevResult"));
}

TEST(BuildPluginConfig, RuntimeConfigOnlyForDeclaredAndSuppliedCapabilities) {
  auto list = TwoPlugins();
  RuntimeConf rt;
  rt.capability_args = {
      {"portMappings", json::array({{{"hostPort", 8080}, {"containerPort", 80},
                                     {"protocol", "tcp"}}})},
      {"bandwidth", {{"ingressRate", 1000}}},  // declared false: not passed
      {"mac", "0a:58:00:00:00:01"},            // not declared: not passed
  };
  json portmap = BuildPluginConfig(list, list.plugins[1], std::nullopt, &rt);
  EXPECT_EQ(portmap["runtimeConfig"],
            json({{"portMappings", rt.capability_args["portMappings"]}}));
  EXPECT_FALSE(portmap.contains("capabilities"));  // spec: must not be set on exec
  // The bridge declares nothing, so it gets no runtimeConfig at all.
  json bridge = BuildPluginConfig(list, list.plugins[0], std::nullopt, &rt);
  EXPECT_FALSE(bridge.contains("runtimeConfig"));
}

TEST(BuildPluginConfig, FileRuntimeConfigKeptWhenNothingToInject) {
  auto list = TwoPlugins();
  RuntimeConf rt;  // no capability args
  json portmap = BuildPluginConfig(list, list.plugins[1], std::nullopt, &rt);
  EXPECT_EQ(portmap["runtimeConfig"], json({{"fromFile", 1}}));
}

TEST(JoinCniArgs, SemicolonSeparatedPairsInOrder) {
  EXPECT_EQ(JoinCniArgs({}), "");
  EXPECT_EQ(JoinCniArgs({{"IgnoreUnknown", "1"}, {"IP", "10.0.0.5"}}),
            "IgnoreUnknown=1;IP=10.0.0.5");
}

}  // namespace
}  // namespace cni::runtime
