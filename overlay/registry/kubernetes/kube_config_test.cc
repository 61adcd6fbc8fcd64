#include "overlay/registry/kubernetes/kube_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "libcni/base64.h"
#include "test/support/test_support.h"

namespace linen::kube {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// As kubeadm writes admin.conf (certificate data inline), with a second context.
std::string KubeadmConfig() {
  return R"(apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: )" +
         cni::Base64Encode("CA PEM") + R"(
    server: https://192.168.56.10:6443
  name: kubernetes
- cluster:
    server: https://other.example:6443/
    certificate-authority: ca/other.crt
  name: other
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
- context: {cluster: other, user: token-user}
  name: other
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: )" +
         cni::Base64Encode("CERT PEM") + R"(
    client-key-data: )" + cni::Base64Encode("KEY PEM") + R"(
- name: token-user
  user:
    tokenFile: secrets/token
)";
}

TEST(KubeConfigTest, KubeadmAdminConf) {
  auto c = ParseKubeconfig(KubeadmConfig(), "/etc/kubernetes");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->server, "https://192.168.56.10:6443");
  EXPECT_EQ(c->ca_pem, "CA PEM");
  EXPECT_EQ(c->cert_pem, "CERT PEM");
  EXPECT_EQ(c->key_pem, "KEY PEM");
  EXPECT_EQ(c->token, "");
}

TEST(KubeConfigTest, OtherContextRelativePathsAndTokenFile) {
  std::string text = KubeadmConfig();
  text.replace(text.find("current-context: kubernetes-admin@kubernetes"),
               std::string("current-context: kubernetes-admin@kubernetes").size(),
               "current-context: \"other\"");
  auto c = ParseKubeconfig(text, "/etc/linen");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->server, "https://other.example:6443");
  EXPECT_EQ(c->ca_file, "/etc/linen/ca/other.crt");
  EXPECT_EQ(c->token_file, "/etc/linen/secrets/token");
}

TEST(KubeConfigTest, JsonKubeconfigAndFixedToken) {
  auto c = ParseKubeconfig(
      R"({"current-context":"c","contexts":[{"name":"c","context":{"cluster":"k","user":"u"}}],
          "clusters":[{"name":"k","cluster":{"server":"https://[fd00::1]:6443"}}],
          "users":[{"name":"u","user":{"token":"abc.def"}}]})",
      "");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->server, "https://[fd00::1]:6443");
  EXPECT_EQ(c->token, "abc.def");
}

TEST(KubeConfigTest, RefusesWhatItCannotHonour) {
  const std::string base = R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: SERVER, EXTRA}}]
users: [{name: u, user: USER}]
)";
  auto make = [&](std::string server, std::string extra, std::string user) {
    std::string t = base;
    t.replace(t.find("SERVER"), 6, server);
    t.replace(t.find("EXTRA"), 5, extra);
    t.replace(t.find("USER"), 4, user);
    return t;
  };
  const std::map<std::string, std::string> cases = {
      {"plain http", make("http://k:8080", "x: y", "{token: t}")},
      {"insecure", make("https://k", "insecure-skip-tls-verify: true", "{token: t}")},
      {"exec plugin", make("https://k", "x: y", "{exec: {command: aws}}")},
      {"cert without key", make("https://k", "x: y", "{client-certificate: c.pem}")},
      {"bad base64", make("https://k", "certificate-authority-data: '!!'", "{token: t}")},
  };
  for (const auto& [what, text] : cases) {
    auto c = ParseKubeconfig(text, "/d");
    EXPECT_FALSE(c) << what;
  }
  auto missing_ctx = ParseKubeconfig("current-context: nope\ncontexts: []\n", "/d");
  ASSERT_FALSE(missing_ctx);
  EXPECT_EQ(missing_ctx.error().code(), cni::Code::kInvalidNetworkConfig);
  auto not_yaml = ParseKubeconfig("a: [b\n", "/d");
  ASSERT_FALSE(not_yaml);
  EXPECT_EQ(not_yaml.error().code(), cni::Code::kDecodingFailure);
}

TEST(KubeConfigTest, YamlScalarsAndAnchors) {
  auto j = YamlToJson("a: &x {b: 'true', c: true, d: 8}\ne: *x\n");
  ASSERT_TRUE(j) << j.error().msg();
  EXPECT_EQ(*j, R"({"a":{"b":"true","c":true,"d":"8"},"e":{"b":"true","c":true,"d":"8"}})");
}

TEST(KubeConfigTest, InClusterFromServiceAccount) {
  test::TempDir dir;
  Write(dir.path() + "/token", "tok\n");
  Write(dir.path() + "/ca.crt", "CA");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  auto getenv = [&](const char* k) -> const char* {
    auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto c = InClusterConfig(getenv, dir.path());
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, dir.path() + "/token");
  EXPECT_EQ(c->ca_file, dir.path() + "/ca.crt");
  env["KUBERNETES_SERVICE_HOST"] = "fd00:96::1";
  EXPECT_EQ(InClusterConfig(getenv, dir.path())->server, "https://[fd00:96::1]:443");
  env.clear();
  auto outside = InClusterConfig(getenv, dir.path());
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().msg().find("--kubeconfig"), std::string::npos);
}

TEST(KubeConfigTest, LoadKubeconfigNamesTheFile) {
  auto c = LoadKubeconfig("/nonexistent/kubeconfig");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().msg().find("/nonexistent/kubeconfig"), std::string::npos);
}

}  // namespace
}  // namespace linen::kube
