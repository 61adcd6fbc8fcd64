// The example configs in conf-examples/ are what operators copy; these check they are
// accepted by what reads them: linend's option parser for linend.conf, the CNI config
// parser for every conflist, and that the agent-mode lists really are agent mode.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/options.h"
#include "overlay/registry/network_config.h"
#include "overlay/registry/static_topology.h"
#include "libcni/types.h"

namespace {

std::string Example(const std::string& name) { return std::string(LINEN_SOURCE_DIR) + "/conf-examples/" + name; }

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(ConfExamples, LinendConfParses) {
  const std::string path = Example("linend.conf");
  const char* argv[] = {"linend", "--config", path.c_str(), "--node-name", "node1"};
  auto o = linen::agent::ParseOptions(5, argv);
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->registry, "etcd");
  EXPECT_EQ(o->etcd_endpoints,
            (std::vector<std::string>{"http://10.0.0.1:2379", "http://10.0.0.2:2379",
                                      "http://10.0.0.3:2379"}));
  EXPECT_EQ(o->etcd_prefix, "/linen/network");
  EXPECT_EQ(o->lease_ttl.count(), 86400);
  EXPECT_EQ(o->iface, "eth0");
  EXPECT_EQ(o->subnet_file, "/run/linen/subnet.env");
  EXPECT_EQ(o->metrics_address, "127.0.0.1:9925");
  EXPECT_EQ(o->resync_interval.count(), 10000);
  EXPECT_FALSE(o->verbose);
  EXPECT_EQ(o->node_name, "node1");
}

TEST(ConfExamples, CommandLineOverridesLinendConf) {
  const std::string path = Example("linend.conf");
  const char* argv[] = {"linend", "--config", path.c_str(), "--node-name", "n",
                        "--iface", "ens3"};
  auto o = linen::agent::ParseOptions(7, argv);
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->iface, "ens3");
}

class Conflist : public ::testing::TestWithParam<const char*> {};

TEST_P(Conflist, ParsesAsCniConfig) {
  const std::string text = Slurp(Example(GetParam()));
  ASSERT_FALSE(text.empty()) << GetParam();
  auto j = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << GetParam() << " is not JSON";
  ASSERT_TRUE(j.contains("plugins")) << GetParam();
  for (const auto& plugin : j["plugins"]) {
    // Each plugin's config as the runtime hands it over: list-level keys plus its own.
    nlohmann::json conf = plugin;
    conf["cniVersion"] = j["cniVersion"];
    conf["name"] = j["name"];
    auto nc = cni::ParseNetConf(conf.dump());
    EXPECT_TRUE(nc) << GetParam() << ": " << (nc ? "" : nc.error().msg());
  }
}

INSTANTIATE_TEST_SUITE_P(All, Conflist,
                         ::testing::Values("10-linen-bridge.conflist",
                                           "10-linen-bridge-dualstack.conflist",
                                           "10-linen-bridge-portmap-bandwidth.conflist",
                                           "vxlan.conflist", "host-gw.conflist",
                                           "vxlan-agent.conflist", "host-gw-agent.conflist"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

// The static topologies: IPv4, dual-stack and IPv6-only, the same three nodes.
TEST(ConfExamples, TopologiesParseWithTheirFamilies) {
  struct Want {
    const char* file;
    bool v4, v6;
  };
  for (const Want& w : {Want{"topology.json", true, false}, Want{"topology-dualstack.json", true, true},
                        Want{"topology-ipv6only.json", false, true}}) {
    auto t = linen::overlay::LoadTopologyFile(Example(w.file));
    ASSERT_TRUE(t) << w.file << ": " << t.error().msg();
    EXPECT_EQ(t->config.enable_ipv4, w.v4) << w.file;
    EXPECT_EQ(t->config.enable_ipv6, w.v6) << w.file;
    ASSERT_EQ(t->nodes.size(), 3u) << w.file;
    if (w.v6) {
      EXPECT_EQ(t->config.ipv6_network.ToString(), "fd00:10:244::/56") << w.file;
      EXPECT_EQ(t->nodes[1].ipv6_subnet.ToString(), "fd00:10:244:2::/64") << w.file;
      EXPECT_EQ(t->nodes[1].node_ipv6.ToString(), "fd00:50::2") << w.file;
    }
  }
}

// Agent mode's network configs for etcd, as linend reads <prefix>/config.
TEST(ConfExamples, EtcdNetworkConfigsParseWithTheirFamilies) {
  auto ds = linen::overlay::ParseNetworkConfig(Slurp(Example("etcd-config-dualstack.json")));
  ASSERT_TRUE(ds) << ds.error().msg();
  EXPECT_TRUE(ds->cluster.enable_ipv4);
  EXPECT_TRUE(ds->cluster.enable_ipv6);
  EXPECT_EQ(ds->cluster.network.ToString(), "10.244.0.0/16");
  EXPECT_EQ(ds->cluster.ipv6_network.ToString(), "fd00:10:244::/56");
  EXPECT_EQ(ds->cluster.ipv6_subnet_len, 64);
  auto v6 = linen::overlay::ParseNetworkConfig(Slurp(Example("etcd-config-ipv6only.json")));
  ASSERT_TRUE(v6) << v6.error().msg();
  EXPECT_FALSE(v6->cluster.enable_ipv4);
  EXPECT_TRUE(v6->cluster.enable_ipv6);
  EXPECT_EQ(v6->cluster.ipv6_network.ToString(), "fd00:10:244::/56");
}

TEST(ConfExamples, AgentConflistsAreAgentModeTwinsOfStaticOnes) {
  for (std::string backend : {"vxlan", "host-gw"}) {
    auto agent = nlohmann::json::parse(Slurp(Example(backend + "-agent.conflist")));
    auto stat = nlohmann::json::parse(Slurp(Example(backend + ".conflist")));
    // Agent mode is "no topology"; everything else matches the static example.
    EXPECT_FALSE(agent["plugins"][0].contains("topology")) << backend;
    stat["plugins"][0].erase("topology");
    EXPECT_EQ(agent, stat) << backend;
  }
}

}  // namespace
