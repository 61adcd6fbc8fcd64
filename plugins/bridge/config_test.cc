#include "plugins/bridge/config.h"

#include <gtest/gtest.h>

namespace bridge {
namespace {

cni::Result<BridgeConf> Parse(const std::string& extra, const std::string& cni_args = "") {
  std::string text = R"({"cniVersion":"1.0.0","name":"n","type":"bridge")" +
                     (extra.empty() ? std::string() : "," + extra) + "}";
  auto net = cni::ParseNetConf(text);
  if (!net) return net.error();
  return ParseBridgeConf(*net, cni_args);
}

TEST(BridgeConfigTest, Defaults) {
  auto c = Parse("");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->br_name, "cni0");
  EXPECT_FALSE(c->is_gw);
  EXPECT_FALSE(c->ip_masq);
  EXPECT_EQ(c->masq_backend, MasqBackend::kNftables);
  EXPECT_EQ(c->mtu, 0);
  EXPECT_FALSE(c->vlan_filtering());
  EXPECT_FALSE(c->is_layer3());
  EXPECT_TRUE(c->mac.empty());
}

TEST(BridgeConfigTest, AllKeys) {
  auto c = Parse(R"("bridge":"br7","isDefaultGateway":true,"forceAddress":true,"ipMasq":true,
      "ipMasqBackend":"iptables","mtu":1400,"hairpinMode":true,"vlan":12,
      "vlanTrunk":[{"id":5},{"minID":100,"maxID":102},{"id":101}],"preserveDefaultVlan":true,
      "macspoofchk":true,"enabledad":true,"portIsolation":true,"ipam":{"type":"host-local"})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->br_name, "br7");
  EXPECT_TRUE(c->is_gw) << "isDefaultGateway implies isGateway";
  EXPECT_TRUE(c->is_default_gw);
  EXPECT_TRUE(c->force_address);
  EXPECT_EQ(c->masq_backend, MasqBackend::kIptables);
  EXPECT_EQ(c->mtu, 1400);
  EXPECT_EQ(c->vlan, 12);
  EXPECT_EQ(c->trunk_vlans, (std::vector<int>{5, 100, 101, 102}));
  EXPECT_TRUE(c->preserve_default_vlan && c->mac_spoof_chk && c->enable_dad && c->port_isolation);
  EXPECT_TRUE(c->is_layer3());
  EXPECT_TRUE(c->vlan_filtering());
}

TEST(BridgeConfigTest, StringBooleansAccepted) {
  auto c = Parse(R"("isGateway":"true","ipMasq":"false")");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_TRUE(c->is_gw);
  EXPECT_FALSE(c->ip_masq);
}

TEST(BridgeConfigTest, BadValues) {
  struct Case {
    std::string extra;
    cni::Code code;
    std::string words;
  } cases[] = {
      {R"("vlan":4095)", cni::Code::kInvalidNetworkConfig, "invalid VLAN ID 4095"},
      {R"("vlan":-1)", cni::Code::kInvalidNetworkConfig, "invalid VLAN ID -1"},
      {R"("vlanTrunk":[{"id":0}])", cni::Code::kInvalidNetworkConfig, "incorrect trunk id"},
      {R"("vlanTrunk":[{"minID":5}])", cni::Code::kInvalidNetworkConfig, "maxID is missing"},
      {R"("vlanTrunk":[{"maxID":5}])", cni::Code::kInvalidNetworkConfig, "minID is missing"},
      {R"("vlanTrunk":[{"minID":9,"maxID":5}])", cni::Code::kInvalidNetworkConfig,
       "minID is greater than maxID"},
      {R"("mtu":-5)", cni::Code::kInvalidNetworkConfig, "invalid mtu"},
      // Floats and numbers beyond 64 bits are refused, not converted (that is UB).
      {R"("mtu":1e30)", cni::Code::kDecodingFailure, "mtu: expected integer, got 1e+30"},
      {R"("mtu":1500.5)", cni::Code::kDecodingFailure, "mtu: expected integer, got 1500.5"},
      {R"("vlan":99999999999999999999999)", cni::Code::kDecodingFailure, "vlan: expected integer"},
      {R"("vlan":4294967297)", cni::Code::kDecodingFailure, "vlan: expected integer between"},
      {R"("vlanTrunk":[{"id":1e30}])", cni::Code::kDecodingFailure,
       "vlanTrunk[0].id: expected integer"},
      {R"("ipMasqBackend":"pf")", cni::Code::kUnsupportedField, "unknown ipmasq backend \"pf\""},
      {R"("isGateway":7)", cni::Code::kDecodingFailure, "isGateway: expected boolean, got number"},
      {R"("bridge":"has space")", cni::Code::kInvalidNetworkConfig, "invalid bridge name"},
      {R"("runtimeConfig":{"mac":"zz:00:00:00:00:00"})", cni::Code::kInvalidNetworkConfig,
       "invalid MAC address"},
  };
  for (const Case& tc : cases) {
    auto c = Parse(tc.extra);
    ASSERT_FALSE(c) << tc.extra;
    EXPECT_EQ(c.error().code(), tc.code) << tc.extra << ": " << c.error().msg();
    EXPECT_NE(c.error().msg().find(tc.words), std::string::npos) << c.error().msg();
  }
}

TEST(BridgeConfigTest, MacPrecedence) {
  auto c = Parse("", "IgnoreUnknown=1;MAC=02:00:00:00:00:01;K8S_POD_NAME=x");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->mac, "02:00:00:00:00:01");
  c = Parse(R"("args":{"cni":{"mac":"02:00:00:00:00:02"}})", "MAC=02:00:00:00:00:01");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mac, "02:00:00:00:00:02");
  c = Parse(R"("args":{"cni":{"mac":"02:00:00:00:00:02"}},"runtimeConfig":{"mac":"02:00:00:00:00:0A"})",
            "MAC=02:00:00:00:00:01");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mac, "02:00:00:00:00:0a");
}

TEST(BridgeConfigTest, AddOnlyRules) {
  auto c = Parse(R"("hairpinMode":true,"promiscMode":true)");
  ASSERT_TRUE(c) << "DEL must still parse this config";
  auto s = ValidateForAdd(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().msg().find("hairpin mode and promiscuous mode"), std::string::npos);
  c = Parse(R"("vlan":3,"isGateway":true)");
  ASSERT_TRUE(c);
  s = ValidateForAdd(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().msg().find("not implemented"), std::string::npos);
  c = Parse(R"("disableContainerInterface":true,"ipam":{"type":"host-local"})");
  ASSERT_TRUE(c);
  s = ValidateForAdd(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().msg().find("cannot use IPAM"), std::string::npos);
}

}  // namespace
}  // namespace bridge
