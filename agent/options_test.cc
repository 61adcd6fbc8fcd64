#include "agent/options.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
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

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  void Set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.push_back({name, old != nullptr ? std::optional<std::string>(old) : std::nullopt});
    if (value != nullptr) setenv(name, value, 1); else unsetenv(name);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) setenv(it->first.c_str(), it->second->c_str(), 1);
      else unsetenv(it->first.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Every variable the etcd login can come from, cleared for the test.
void ClearLoginEnv(ScopedEnv& env) {
  for (const char* v : {"LINEN_ETCD_USERNAME", "LINEN_ETCD_PASSWORD", "FLANNELD_ETCD_USERNAME",
                        "FLANNELD_ETCD_PASSWORD"}) {
    env.Set(v, nullptr);
  }
}

TEST(Options, EtcdTlsAndAuthFlagsWithFlannelsNames) {
  ScopedEnv env;
  ClearLoginEnv(env);
  auto o = Parse({"--iface", "eth0", "--etcd-endpoints", "https://10.0.0.1:2379",
                  "--etcd-cafile", "/pki/ca.pem", "--etcd-certfile", "/pki/c.pem",
                  "--etcd-keyfile", "/pki/c.key", "--etcd-username", "linen",
                  "--etcd-password", "pw"});
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->etcd_cafile, "/pki/ca.pem");
  EXPECT_EQ(o->etcd_certfile, "/pki/c.pem");
  EXPECT_EQ(o->etcd_keyfile, "/pki/c.key");
  EXPECT_EQ(o->etcd_username, "linen");
  EXPECT_EQ(o->etcd_password, "pw");
}

TEST(Options, EtcdLoginFromEnvironmentAndConfigFile) {
  ScopedEnv env;
  ClearLoginEnv(env);
  env.Set("LINEN_ETCD_USERNAME", "linen");
  env.Set("LINEN_ETCD_PASSWORD", "from-env");
  auto fromEnv = Parse({"--iface", "eth0"});
  ASSERT_TRUE(fromEnv) << fromEnv.error().msg();
  EXPECT_EQ(fromEnv->etcd_username, "linen");
  EXPECT_EQ(fromEnv->etcd_password, "from-env");

  auto flagWins = Parse({"--iface", "eth0", "--etcd-password", "from-flag"});
  ASSERT_TRUE(flagWins);
  EXPECT_EQ(flagWins->etcd_password, "from-flag");

  std::string path = "/tmp/linend-options-test-auth-" + std::to_string(getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "etcd-cafile = \"/pki/ca.pem\"\netcd-certfile = \"/pki/c.pem\"\n"
         "etcd-keyfile = \"/pki/c.key\"\netcd-username = \"filer\"\n"
         "etcd-password = \"from-file\"\n";
  }
  auto fromFile = Parse({"--config", path.c_str(), "--iface", "eth0"});
  std::remove(path.c_str());
  ASSERT_TRUE(fromFile) << fromFile.error().msg();
  EXPECT_EQ(fromFile->etcd_cafile, "/pki/ca.pem");
  EXPECT_EQ(fromFile->etcd_certfile, "/pki/c.pem");
  EXPECT_EQ(fromFile->etcd_keyfile, "/pki/c.key");
  EXPECT_EQ(fromFile->etcd_username, "filer") << "the config file wins over the environment";
  EXPECT_EQ(fromFile->etcd_password, "from-file");

  // flanneld's spelling, when linen's is not set.
  env.Set("LINEN_ETCD_USERNAME", nullptr);
  env.Set("LINEN_ETCD_PASSWORD", nullptr);
  env.Set("FLANNELD_ETCD_USERNAME", "flannel");
  env.Set("FLANNELD_ETCD_PASSWORD", "flannel-pw");
  auto flannel = Parse({"--iface", "eth0"});
  ASSERT_TRUE(flannel) << flannel.error().msg();
  EXPECT_EQ(flannel->etcd_username, "flannel");
  EXPECT_EQ(flannel->etcd_password, "flannel-pw");
  env.Set("LINEN_ETCD_PASSWORD", "linen-pw");
  auto both = Parse({"--iface", "eth0"});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->etcd_password, "linen-pw") << "LINEN_* wins over FLANNELD_*";
}

TEST(Options, EtcdTlsAndAuthErrors) {
  ScopedEnv env;
  ClearLoginEnv(env);
  auto certOnly = Parse({"--iface", "eth0", "--etcd-certfile", "/pki/c.pem"});
  ASSERT_FALSE(certOnly);
  EXPECT_EQ(certOnly.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(certOnly.error().msg().find("--etcd-keyfile"), std::string::npos);

  auto noPassword = Parse({"--iface", "eth0", "--etcd-username", "linen"});
  ASSERT_FALSE(noPassword);
  EXPECT_NE(noPassword.error().msg().find("LINEN_ETCD_PASSWORD"), std::string::npos)
      << noPassword.error().msg();

  env.Set("LINEN_ETCD_PASSWORD", "pw");
  auto noUser = Parse({"--iface", "eth0"});
  ASSERT_FALSE(noUser);
  EXPECT_NE(noUser.error().msg().find("--etcd-username"), std::string::npos)
      << noUser.error().msg();
}

TEST(Options, PublicIpv6AloneIsEnoughForEtcd) {
  auto o = Parse({"--registry", "etcd", "--node-name", "x", "--public-ipv6", "fd00::5"});
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->public_ipv6, "fd00::5");
  EXPECT_TRUE(o->public_ip.empty());
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
  EXPECT_NE(help.error().msg().find("LINEN_ETCD_PASSWORD"), std::string::npos) << help.error().msg();
}

TEST(Options, KubernetesFlagsWithFlannelsNames) {
  ScopedEnv env;
  env.Set("NODE_NAME", nullptr);
  auto d = Parse({"--registry", "kubernetes", "--public-ip", "10.0.0.5"});
  ASSERT_TRUE(d) << d.error().msg();
  EXPECT_EQ(d->net_config_path, "/etc/kube-flannel/net-conf.json");
  EXPECT_EQ(d->kubeconfig, "");
  EXPECT_EQ(d->kube_annotation_prefix, "flannel.alpha.coreos.com");
  EXPECT_FALSE(d->node_name.empty()) << "the hostname";

  env.Set("NODE_NAME", "from-downward-api");
  auto o = Parse({"--registry", "kubernetes", "--iface", "eth0", "--net-config-path",
                  "/cfg/net-conf.json", "--kubeconfig", "/etc/kubernetes/linen.conf",
                  "--kube-annotation-prefix", "example.com/linen"});
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->registry, "kubernetes");
  EXPECT_EQ(o->net_config_path, "/cfg/net-conf.json");
  EXPECT_EQ(o->kubeconfig, "/etc/kubernetes/linen.conf");
  EXPECT_EQ(o->kube_annotation_prefix, "example.com/linen");
  EXPECT_EQ(o->node_name, "from-downward-api") << "NODE_NAME, as flanneld reads it";
  auto flag = Parse({"--registry", "kubernetes", "--iface", "eth0", "--node-name", "n9"});
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->node_name, "n9") << "the flag wins over NODE_NAME";

  auto noip = Parse({"--registry", "kubernetes"});
  ASSERT_FALSE(noip);
  EXPECT_NE(noip.error().msg().find("--public-ip"), std::string::npos);
}

}  // namespace
}  // namespace linen::agent
