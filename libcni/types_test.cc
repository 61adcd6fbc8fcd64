#include "libcni/types.h"

#include <gtest/gtest.h>

namespace cni {
namespace {

TEST(NetConfTest, ParsesWellKnownKeysAndKeepsUnknown) {
  const char* text = R"({
    "cniVersion": "1.0.0", "name": "mynet", "type": "bridge",
    "bridge": "cni0", "isGateway": true, "someFutureKey": {"nested": [1, 2]},
    "ipam": {"type": "host-local", "subnet": "10.1.0.0/24"},
    "dns": {"nameservers": ["10.0.0.10"], "domain": "cluster.local",
            "search": ["svc.cluster.local"], "options": ["ndots:5"]},
    "runtimeConfig": {"ips": ["10.1.0.9/24"]},
    "args": {"cni": {"ips": ["10.1.0.7"]}},
    "prevResult": {"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.7/24"}]}
  })";
  auto c = ParseNetConf(text);
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->cni_version, "1.0.0");
  EXPECT_EQ(c->name, "mynet");
  EXPECT_EQ(c->type, "bridge");
  EXPECT_EQ(c->ipam_type, "host-local");
  EXPECT_EQ(c->ipam["subnet"], "10.1.0.0/24");
  EXPECT_EQ(c->dns.nameservers, std::vector<std::string>{"10.0.0.10"});
  EXPECT_EQ(c->dns.domain, "cluster.local");
  EXPECT_EQ(c->dns.search, std::vector<std::string>{"svc.cluster.local"});
  EXPECT_EQ(c->dns.options, std::vector<std::string>{"ndots:5"});
  ASSERT_TRUE(c->prev_result.has_value());
  EXPECT_EQ((*c->prev_result)["ips"][0]["address"], "10.1.0.7/24");
  // Unknown keys survive re-serialisation byte-for-byte equal as JSON values.
  EXPECT_EQ(c->raw, json::parse(text));
  EXPECT_EQ(c->raw["someFutureKey"]["nested"][1], 2);
  EXPECT_EQ(json::parse(c->raw.dump()), json::parse(text));
  EXPECT_EQ(c->RequestedIps(), (std::vector<std::string>{"10.1.0.7", "10.1.0.9/24"}));
}

TEST(NetConfTest, DefaultsWhenOptionalKeysAbsent) {
  auto c = ParseNetConf(R"({"cniVersion":"0.4.0","name":"n","type":"loopback"})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_TRUE(c->ipam.is_object());
  EXPECT_TRUE(c->ipam.empty());
  EXPECT_TRUE(c->ipam_type.empty());
  EXPECT_TRUE(c->dns.empty());
  EXPECT_TRUE(c->runtime_config.is_object());
  EXPECT_TRUE(c->args.is_object());
  EXPECT_FALSE(c->prev_result.has_value());
  EXPECT_TRUE(c->RequestedIps().empty());
}

TEST(NetConfTest, MissingCniVersionIsZeroOneZero) {
  auto c = ParseNetConf(R"({"name":"n","type":"loopback"})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_EQ(c->cni_version, "0.1.0");
  auto e = ParseNetConf(R"({"cniVersion":"","name":"n","type":"loopback"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cni_version, "0.1.0");
}

TEST(NetConfTest, NullOptionalKeysAreAbsent) {
  auto c = ParseNetConf(
      R"({"cniVersion":"1.1.0","name":"n","type":"t","ipam":null,"prevResult":null,"dns":null})");
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_FALSE(c->prev_result.has_value());
  EXPECT_TRUE(c->ipam_type.empty());
}

struct BadConf {
  const char* text;
  Code code;
  const char* msg_part;
};
class NetConfErrors : public ::testing::TestWithParam<BadConf> {};
TEST_P(NetConfErrors, CodeAndMessage) {
  auto c = ParseNetConf(GetParam().text);
  ASSERT_FALSE(c) << GetParam().text;
  EXPECT_EQ(c.error().code(), GetParam().code) << c.error().msg();
  EXPECT_NE(c.error().msg().find(GetParam().msg_part), std::string::npos)
      << c.error().msg() << " / " << c.error().details();
}
INSTANTIATE_TEST_SUITE_P(
    All, NetConfErrors,
    ::testing::Values(
        BadConf{"", Code::kDecodingFailure, "error parsing network config"},
        BadConf{"{", Code::kDecodingFailure, "error parsing network config"},
        BadConf{"{\"name\":\"n\",}", Code::kDecodingFailure, "parse"},
        BadConf{"[1,2]", Code::kDecodingFailure, "JSON object"},
        BadConf{R"({"cniVersion":1,"name":"n","type":"t"})", Code::kDecodingFailure,
                "cniVersion: expected string, got number"},
        BadConf{R"({"cniVersion":"1.0.0","name":5,"type":"t"})", Code::kDecodingFailure,
                "name: expected string, got number"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":["t"]})", Code::kDecodingFailure,
                "type: expected string, got array"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":"t","ipam":"host-local"})",
                Code::kDecodingFailure, "ipam: expected object, got string"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":"t","ipam":{"type":1}})",
                Code::kDecodingFailure, "ipam: type: expected string, got number"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":"t","dns":{"nameservers":"x"}})",
                Code::kDecodingFailure, "nameservers: expected list of strings, got string"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":"t","runtimeConfig":[]})",
                Code::kDecodingFailure, "runtimeConfig: expected object, got array"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":"t","args":"x"})",
                Code::kDecodingFailure, "args: expected object, got string"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":"t","prevResult":"x"})",
                Code::kDecodingFailure, "prevResult"},
        BadConf{R"({"cniVersion":"1.0.0","type":"t"})", Code::kInvalidNetworkConfig,
                "missing network name"},
        BadConf{R"({"cniVersion":"1.0.0","name":"bad name","type":"t"})",
                Code::kInvalidNetworkConfig, "invalid characters found in network name"},
        BadConf{R"({"cniVersion":"9.9.9","name":"n","type":"t"})", Code::kIncompatibleVersion,
                "incompatible CNI versions"},
        BadConf{R"({"cniVersion":"0.3","name":"n","type":"t"})", Code::kIncompatibleVersion,
                "incompatible"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n"})", Code::kInvalidNetworkConfig,
                "missing plugin type"},
        BadConf{R"({"cniVersion":"1.0.0","name":"n","type":"../bin/sh"})",
                Code::kInvalidNetworkConfig, "must not contain '/'"}));

TEST(NetConfTest, NameErrorWinsOverVersionErrorLikeSkel) {
  auto c = ParseNetConf(R"({"cniVersion":"7.0.0","type":"t"})");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), Code::kInvalidNetworkConfig);
}

TEST(NetConfTest, IncompatibleVersionDetailsListSupported) {
  auto c = ParseNetConf(R"({"cniVersion":"2.0.0","name":"n","type":"t"})");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().details(),
            R"(config is "2.0.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"])");
}

TEST(VersionTest, SupportedAndCompare) {
  EXPECT_EQ(SupportedVersions().size(), 7u);
  EXPECT_EQ(SupportedVersions().front(), "0.1.0");
  EXPECT_EQ(SupportedVersions().back(), kCurrentVersion);
  for (const auto& v : SupportedVersions()) EXPECT_TRUE(IsSupportedVersion(v));
  EXPECT_FALSE(IsSupportedVersion("1.2.0"));
  EXPECT_FALSE(IsSupportedVersion(""));
  EXPECT_FALSE(IsSupportedVersion("1.0"));
  EXPECT_LT(CompareVersions("0.3.1", "0.4.0"), 0);
  EXPECT_GT(CompareVersions("1.0.0", "0.4.0"), 0);
  EXPECT_EQ(CompareVersions("1.1.0", "1.1.0"), 0);
  EXPECT_GT(CompareVersions("0.10.0", "0.9.0"), 0);  // numeric, not lexical
  EXPECT_LT(CompareVersions("garbage", "0.1.0"), 0);  // unparsable sorts first
  EXPECT_GT(CompareVersions("0.1.0", "1.x.0"), 0);
  EXPECT_EQ(CompareVersions("a", "b"), 0);
  EXPECT_TRUE(VersionAtLeast("0.4.0", "0.4.0"));
  EXPECT_TRUE(VersionAtLeast("1.0.0", "0.4.0"));
  EXPECT_FALSE(VersionAtLeast("0.3.1", "0.4.0"));
}

TEST(ValidateTest, ContainerId) {
  EXPECT_TRUE(ValidateContainerId("abc"));
  EXPECT_TRUE(ValidateContainerId("a1_b.c-d"));
  EXPECT_TRUE(ValidateContainerId("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(ValidateContainerId("").error().code(), Code::kUnknownContainer);
  for (const char* bad : {"_abc", "-abc", ".abc", "a/b", "a b", "a:b", "a\nb", "ab\xc3\xa9"}) {
    auto s = ValidateContainerId(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), Code::kInvalidEnv) << bad;
    EXPECT_EQ(s.error().details(), bad);
  }
}

TEST(ValidateTest, InterfaceName) {
  EXPECT_TRUE(ValidateInterfaceName("eth0"));
  EXPECT_TRUE(ValidateInterfaceName("a"));
  EXPECT_TRUE(ValidateInterfaceName("123456789012345"));  // 15 bytes
  EXPECT_TRUE(ValidateInterfaceName("veth-ab.c_d"));
  for (const char* bad : {"", "1234567890123456", ".", "..", "eth/0", "eth:0", "eth 0", "eth\t0",
                          "eth\n"}) {
    auto s = ValidateInterfaceName(bad);
    ASSERT_FALSE(s) << '"' << bad << '"';
    EXPECT_EQ(s.error().code(), Code::kInvalidEnv);
  }
  // Go's unicode.IsSpace: non-breaking and other Unicode spaces are refused too.
  for (const char* bad : {"eth\u00a00", "eth\u20030", "eth\u3000", "a\u0085"}) {
    EXPECT_FALSE(ValidateInterfaceName(bad)) << bad;
  }
  EXPECT_TRUE(ValidateInterfaceName("eth\u00e9"));  // e-acute is not a space
  EXPECT_NE(ValidateInterfaceName("1234567890123456").error().msg().find("too long"),
            std::string::npos);
}

TEST(ValidateTest, NetworkName) {
  EXPECT_TRUE(ValidateNetworkName("cbr0"));
  EXPECT_TRUE(ValidateNetworkName("k8s-pod-network"));
  EXPECT_EQ(ValidateNetworkName("").error().code(), Code::kInvalidNetworkConfig);
  EXPECT_EQ(ValidateNetworkName("a/b").error().code(), Code::kInvalidNetworkConfig);
  EXPECT_EQ(ValidateNetworkName("-net").error().code(), Code::kInvalidNetworkConfig);
}

TEST(DnsTest, ParseAndOmitEmptyFields) {
  auto d = ParseDns(json::parse(R"({"nameservers":["1.1.1.1"],"search":["a","b"]})"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->search.size(), 2u);
  EXPECT_FALSE(d->empty());
  EXPECT_EQ(DnsToJson(*d), json::parse(R"({"nameservers":["1.1.1.1"],"search":["a","b"]})"));
  EXPECT_EQ(DnsToJson(Dns{}), json::object());
  EXPECT_FALSE(ParseDns(json::parse("[]")));
  EXPECT_FALSE(ParseDns(json::parse(R"({"domain":3})")));
  EXPECT_FALSE(ParseDns(json::parse(R"({"options":[1]})")));
}

// Only JSON integers that fit int64 become integers; the rest would be undefined
// behaviour to convert.
TEST(JsonIntegerTest, IntegersOnly) {
  EXPECT_EQ(JsonInteger(json::parse("42")), 42);
  EXPECT_EQ(JsonInteger(json::parse("-7")), -7);
  EXPECT_EQ(JsonInteger(json::parse("9223372036854775807")), INT64_MAX);
  EXPECT_EQ(JsonInteger(json::parse("-9223372036854775808")), INT64_MIN);
  EXPECT_EQ(JsonInteger(json::parse("9223372036854775808")), std::nullopt);
  EXPECT_EQ(JsonInteger(json::parse("84666666600213390862072")), std::nullopt);
  EXPECT_EQ(JsonInteger(json::parse("1.0")), std::nullopt);
  EXPECT_EQ(JsonInteger(json::parse("-1e300")), std::nullopt);
  EXPECT_EQ(JsonInteger(json::parse("true")), std::nullopt);
  EXPECT_EQ(JsonInteger(json::parse("\"5\"")), std::nullopt);
}

}  // namespace
}  // namespace cni

namespace {

TEST(ParseJsonTextTest, RefusesDeepNestingBeforeParsing) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  auto j = cni::ParseJsonText(deep, "config");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code(), cni::Code::kDecodingFailure);
  EXPECT_NE(j.error().msg().find("nested deeper than"), std::string::npos) << j.error().msg();
}

TEST(ParseJsonTextTest, BracketsInsideStringsDoNotCount) {
  std::string s = "{\"a\":\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
  auto j = cni::ParseJsonText(s, "config");
  ASSERT_TRUE(j.ok()) << j.error().msg();
  EXPECT_EQ((*j)["a"].get<std::string>().size(), 2001u);
}

TEST(ParseJsonTextTest, AcceptsNestingAtTheLimit) {
  std::string s = std::string(cni::kMaxJsonDepth, '[') + std::string(cni::kMaxJsonDepth, ']');
  EXPECT_TRUE(cni::ParseJsonText(s, "config").ok());
  std::string over = "[" + s + "]";
  EXPECT_FALSE(cni::ParseJsonText(over, "config").ok());
}

TEST(ParseJsonTextTest, ParserMessageIsCutShort) {
  std::string huge = "{\"a\":\"" + std::string(1 << 20, 'A');  // unterminated string
  auto j = cni::ParseJsonText(huge, "config");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code(), cni::Code::kDecodingFailure);
  EXPECT_LT(j.error().msg().size(), 1024u);
  EXPECT_NE(j.error().msg().find("(truncated)"), std::string::npos);
}

TEST(ParseJsonTextTest, NetConfUsesTheGuard) {
  std::string deep = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"ipam\":" +
                     std::string(5000, '[') + std::string(5000, ']') + "}";
  auto c = cni::ParseNetConf(deep);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), cni::Code::kDecodingFailure);
}

}  // namespace
