#include "agent/options.h"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

namespace linen::agent {
namespace {

cni::Result<Options> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "linend");
  return ParseOptions(static_cast<int>(args.size()), args.data());
}

TEST(Options, EtcdFlags) {
  auto o = Parse({"--registry", "etcd", "--etcd-endpoints", "http://10.0.0.1:2379,http://10.0.0.2:2379",
                  "--node-name", "n1", "--iface", "eth0", "--subnet-lease-ttl", "30",
                  "--subnet-file", "/tmp/x.env", "--metrics-address", "127.0.0.1:0",
                  "--etcd-prefix", "/p"});
  ASSERT_TRUE(o) << o.error().msg();
  ASSERT_EQ(o->etcd_endpoints.size(), 2u);
  EXPECT_EQ(o->etcd_endpoints[1], "http://10.0.0.2:2379");
  EXPECT_EQ(o->node_name, "n1");
  EXPECT_EQ(o->iface, "eth0");
  EXPECT_EQ(o->lease_ttl.count(), 30);
  EXPECT_EQ(o->subnet_file, "/tmp/x.env");
  EXPECT_EQ(o->etcd_prefix, "/p");
  EXPECT_FALSE(o->cleanup);
}

TEST(Options, Defaults) {
  auto o = Parse({"--iface", "eth0"});
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->registry, "etcd");
  EXPECT_EQ(o->subnet_file, "/run/linen/subnet.env");
  EXPECT_EQ(o->lease_ttl.count(), 24 * 3600);
  EXPECT_FALSE(o->node_name.empty()) << "defaults to the hostname";
}

TEST(Options, ConfigFile) {
  std::string path = "/tmp/linend-options-test-" + std::to_string(getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "registry = \"file\"\ntopology = \"/etc/linen/topology.json\"\nnode-name = \"n7\"\n"
         "cleanup = true\netcd-endpoints = \"http://a:1,http://b:2\"\n";
  }
  auto o = Parse({"--config", path.c_str(), "--node-name", "override"});
  std::remove(path.c_str());
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->registry, "file");
  EXPECT_EQ(o->topology, "/etc/linen/topology.json");
  EXPECT_EQ(o->node_name, "override") << "flags win over the file";
  EXPECT_TRUE(o->cleanup);
  ASSERT_EQ(o->etcd_endpoints.size(), 2u);
  EXPECT_EQ(o->etcd_endpoints[1], "http://b:2");
}

TEST(Options, Errors) {
  auto bad = Parse({"--registry", "consul", "--iface", "eth0"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(bad.error().msg().find("registry"), std::string::npos) << bad.error().msg();

  auto file = Parse({"--registry", "file"});
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().msg().find("--topology"), std::string::npos);

  auto noip = Parse({"--registry", "etcd", "--node-name", "x"});
  ASSERT_FALSE(noip);
  EXPECT_NE(noip.error().msg().find("--iface"), std::string::npos);

  auto ttl = Parse({"--iface", "eth0", "--subnet-lease-ttl", "0"});
  ASSERT_FALSE(ttl);

  auto help = Parse({"--help"});
  ASSERT_FALSE(help);
  EXPECT_EQ(help.error().code(), cni::Code::kOk);
  EXPECT_NE(help.error().msg().find("--etcd-endpoints"), std::string::npos);
}

}  // namespace
}  // namespace linen::agent
