// Result JSON in every version, and conversion between every pair of versions,
// checked against golden JSON written from pkg/types/{020,040,100}.
#include <gtest/gtest.h>

#include "libcni/types.h"

namespace cni {
namespace {

IpNet N(const char* s) { return *IpNet::Parse(s); }
IpAddr A(const char* s) { return *IpAddr::Parse(s); }
Route R(const IpNet& dst, std::optional<IpAddr> gw) {
  Route r;
  r.dst = dst;
  r.gw = gw;
  return r;
}

AddResult Rich() {
  AddResult r;
  r.cni_version = "1.1.0";
  r.interfaces = {
      {"cni0", "aa:bb:cc:dd:ee:01", 1450, "", "", ""},
      {"eth0", "aa:bb:cc:dd:ee:02", 1450, "/run/netns/x", "/run/s.sock", "0000:00:01.0"}};
  r.ips = {{N("2001:db8::5/64"), A("2001:db8::1"), 1},
           {N("10.1.0.5/24"), A("10.1.0.1"), 1},
           {N("10.2.0.5/16"), std::nullopt, 1}};
  Route def6 = R(N("::/0"), A("2001:db8::1"));
  Route def4 = R(N("0.0.0.0/0"), A("10.1.0.1"));
  def4.mtu = 1400;
  def4.advmss = 1360;
  def4.priority = 10;
  def4.table = 100;
  def4.scope = 0;
  Route svc = R(N("10.96.0.0/12"), std::nullopt);
  r.routes = {def6, def4, svc};
  r.dns.nameservers = {"10.96.0.10"};
  r.dns.search = {"svc.cluster.local"};
  return r;
}

const char* kGolden1x = R"({
  "cniVersion": "VER",
  "interfaces": [
    {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01", "mtu": 1450},
    {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "mtu": 1450, "sandbox": "/run/netns/x",
     "socketPath": "/run/s.sock", "pciID": "0000:00:01.0"}],
  "ips": [
    {"interface": 1, "address": "2001:db8::5/64", "gateway": "2001:db8::1"},
    {"interface": 1, "address": "10.1.0.5/24", "gateway": "10.1.0.1"},
    {"interface": 1, "address": "10.2.0.5/16"}],
  "routes": [
    {"dst": "::/0", "gw": "2001:db8::1"},
    {"dst": "0.0.0.0/0", "gw": "10.1.0.1", "mtu": 1400, "advmss": 1360, "priority": 10,
     "table": 100, "scope": 0},
    {"dst": "10.96.0.0/12"}],
  "dns": {"nameservers": ["10.96.0.10"], "search": ["svc.cluster.local"]}
})";

const char* kGolden04x = R"({
  "cniVersion": "VER",
  "interfaces": [
    {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
    {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/run/netns/x"}],
  "ips": [
    {"version": "6", "interface": 1, "address": "2001:db8::5/64", "gateway": "2001:db8::1"},
    {"version": "4", "interface": 1, "address": "10.1.0.5/24", "gateway": "10.1.0.1"},
    {"version": "4", "interface": 1, "address": "10.2.0.5/16"}],
  "routes": [
    {"dst": "::/0", "gw": "2001:db8::1"},
    {"dst": "0.0.0.0/0", "gw": "10.1.0.1", "mtu": 1400, "advmss": 1360, "priority": 10,
     "table": 100, "scope": 0},
    {"dst": "10.96.0.0/12"}],
  "dns": {"nameservers": ["10.96.0.10"], "search": ["svc.cluster.local"]}
})";

const char* kGolden02x = R"({
  "cniVersion": "VER",
  "ip4": {"ip": "10.1.0.5/24", "gateway": "10.1.0.1",
          "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "10.96.0.0/12"}]},
  "ip6": {"ip": "2001:db8::5/64", "gateway": "2001:db8::1",
          "routes": [{"dst": "::/0", "gw": "2001:db8::1"}]},
  "dns": {"nameservers": ["10.96.0.10"], "search": ["svc.cluster.local"]}
})";

json Golden(const std::string& version) {
  std::string text = version < "0.3.0" ? kGolden02x : version < "1.0.0" ? kGolden04x : kGolden1x;
  text.replace(text.find("VER"), 3, version);
  return json::parse(text);
}

// What survives a trip through `version`'s shape (the expected AddResult).
AddResult Project(AddResult r, const std::string& version) {
  r.cni_version = version;
  if (version < "0.3.0") {
    AddResult p;
    p.cni_version = version;
    p.dns = r.dns;
    const IpConfig* v4 = nullptr;
    const IpConfig* v6 = nullptr;
    for (const auto& ip : r.ips) {
      if (ip.address.addr.is_v4() && !v4) v4 = &ip;
      if (!ip.address.addr.is_v4() && !v6) v6 = &ip;
    }
    for (const IpConfig* ip : {v4, v6}) {
      if (!ip) continue;
      p.ips.push_back({ip->address, ip->gateway, std::nullopt});
      for (const auto& rt : r.routes) {
        if (rt.dst.addr.is_v4() == ip->address.addr.is_v4()) p.routes.push_back(R(rt.dst, rt.gw));
      }
    }
    return p;
  }
  if (version < "1.0.0") {
    for (auto& i : r.interfaces) {
      i.mtu.reset();
      i.socket_path.clear();
      i.pci_id.clear();
    }
  }
  return r;
}

class PerVersion : public ::testing::TestWithParam<std::string> {};

TEST_P(PerVersion, ToJsonMatchesGolden) {
  auto j = ResultToJson(Rich(), GetParam());
  ASSERT_TRUE(j) << j.error().msg();
  EXPECT_EQ(*j, Golden(GetParam())) << j->dump(2);
}

TEST_P(PerVersion, ParseGoldenGivesProjection) {
  auto r = ParseResult(Golden(GetParam()));
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_EQ(*r, Project(Rich(), GetParam()));
}

TEST_P(PerVersion, EmptyDnsOmittedOnlyFrom100) {
  AddResult r;
  r.ips = {{N("10.1.0.5/24"), std::nullopt, std::nullopt}};
  auto j = ResultToJson(r, GetParam());
  ASSERT_TRUE(j);
  // Go's 0.x types print "dns": {} (no custom marshaller); 1.0.0+ drops it.
  EXPECT_EQ(j->contains("dns"), GetParam() < "1.0.0") << j->dump();
  if (j->contains("dns")) {
    EXPECT_EQ((*j)["dns"], json::object());
  }
  EXPECT_FALSE(j->contains("interfaces"));
  EXPECT_FALSE(j->contains("routes"));
}

INSTANTIATE_TEST_SUITE_P(All, PerVersion,
                         ::testing::Values("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0",
                                           "1.1.0"));

class VersionPair : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

// in-version JSON -> AddResult -> out-version JSON: field by field against the
// golden of the out-version, restricted to what the in-version could carry.
TEST_P(VersionPair, ConvertsLikeLibcni) {
  const auto& [from, to] = GetParam();
  auto parsed = ParseResult(Golden(from));
  ASSERT_TRUE(parsed) << parsed.error().msg();
  EXPECT_EQ(parsed->cni_version, from);
  auto out = ResultToJson(*parsed, to);
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ((*out)["cniVersion"], to);
  auto expected = ResultToJson(Project(Project(Rich(), from), to), to);
  ASSERT_TRUE(expected);
  EXPECT_EQ(*out, *expected) << from << " -> " << to << "\n" << out->dump(2);
  auto back = ParseResult(*out);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, Project(Project(Rich(), from), to));
  // Spot checks of the shape rules, independent of Project().
  if (to < "0.3.0") {
    EXPECT_FALSE(out->contains("ips"));
    EXPECT_EQ((*out)["ip4"]["ip"], "10.1.0.5/24");
    EXPECT_EQ((*out)["ip6"]["ip"], "2001:db8::5/64");
  } else {
    ASSERT_TRUE(out->contains("ips"));
    EXPECT_EQ((*out)["ips"][0].contains("version"), to < "1.0.0");
    if (to < "1.0.0") {
      EXPECT_EQ((*out)["ips"][0]["version"], from < "0.3.0" ? "4" : "6");
    }
    EXPECT_EQ(out->contains("interfaces"), from >= "0.3.0");
    if (out->contains("interfaces")) {
      EXPECT_EQ((*out)["interfaces"][1].contains("mtu"), from >= "1.0.0" && to >= "1.0.0");
    }
  }
}

std::vector<std::string> Versions() {
  return {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
}
INSTANTIATE_TEST_SUITE_P(All, VersionPair,
                         ::testing::Combine(::testing::ValuesIn(Versions()),
                                            ::testing::ValuesIn(Versions())));

TEST(ResultConvertTest, To02xNeedsAnIp) {
  AddResult r;
  Interface lo;
  lo.name = "lo";
  lo.mac = "00:00:00:00:00:00";
  r.interfaces = {lo};
  for (const char* v : {"0.1.0", "0.2.0"}) {
    auto j = ResultToJson(r, v);
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().code(), Code::kIncompatibleVersion);
  }
  EXPECT_TRUE(ResultToJson(r, "0.3.1"));
}

TEST(ResultConvertTest, To02xDropsRoutesOfMissingFamily) {
  AddResult r;
  r.ips = {{N("10.1.0.5/24"), std::nullopt, std::nullopt}};
  r.routes = {R(N("::/0"), A("fe80::1")), R(N("0.0.0.0/0"), A("10.1.0.1"))};
  auto j = ResultToJson(r, "0.2.0");
  ASSERT_TRUE(j);
  EXPECT_FALSE(j->contains("ip6"));
  EXPECT_EQ((*j)["ip4"]["routes"], json::parse(R"([{"dst":"0.0.0.0/0","gw":"10.1.0.1"}])"));
}

TEST(ResultConvertTest, UnsupportedVersion) {
  auto j = ResultToJson(Rich(), "2.0.0");
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), Code::kIncompatibleVersion);
  auto r = ParseResult(Golden("1.0.0"), "0.9.0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kIncompatibleVersion);
}

TEST(ResultParseTest, VersionArgumentOverridesJson) {
  auto r = ParseResult(json::parse(R"({"ips":[{"address":"10.0.0.2/24"}]})"), "1.0.0");
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_EQ(r->cni_version, "1.0.0");
  EXPECT_EQ(r->ips.at(0).address.ToString(), "10.0.0.2/24");
  // No version anywhere reads as 0.1.0 (ip4/ip6 shape), as libcni.
  auto old = ParseResult(json::parse(R"({"ip4":{"ip":"10.0.0.2/24"}})"));
  ASSERT_TRUE(old) << old.error().msg();
  EXPECT_EQ(old->cni_version, "0.1.0");
  EXPECT_EQ(old->ips.size(), 1u);
}

TEST(ResultParseTest, OldShapeIgnoresNewFields) {
  // A 0.4.0 result never carries an interface mtu; an IP without "version" (as old
  // Go plugins print) is still read.
  auto r = ParseResult(json::parse(R"({"cniVersion":"0.4.0",
      "interfaces":[{"name":"eth0","mtu":9000,"pciID":"x"}],
      "ips":[{"address":"10.0.0.2/24","interface":0}]})"));
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_FALSE(r->interfaces.at(0).mtu.has_value());
  EXPECT_TRUE(r->interfaces.at(0).pci_id.empty());
  EXPECT_EQ(r->ips.at(0).interface, 0);
}

TEST(ResultParseTest, EmptyGatewayIsNone) {
  auto r = ParseResult(json::parse(
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":""}]})"));
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_FALSE(r->ips.at(0).gateway.has_value());
}

TEST(ResultParseTest, DecodeErrorsAreCode6) {
  for (const char* bad : {
           R"([])",
           R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2"}]})",
           R"({"cniVersion":"1.0.0","ips":[{"gateway":"10.0.0.1"}]})",
           R"({"cniVersion":"1.0.0","ips":{"address":"10.0.0.2/24"}})",
           R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","interface":"0"}]})",
           R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":"x"}]})",
           R"({"cniVersion":"1.0.0","routes":[{"gw":"10.0.0.1"}]})",
           R"({"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","mtu":1.5}]})",
           R"({"cniVersion":"1.0.0","interfaces":[{"name":1}]})",
           R"({"cniVersion":"1.0.0","dns":{"nameservers":[1]}})",
           R"({"cniVersion":"0.2.0","ip4":{"ip":"bad/24"}})",
           R"({"cniVersion":"0.2.0","ip4":"10.0.0.1/24"})",
       }) {
    auto r = ParseResult(json::parse(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::kDecodingFailure) << bad << ": " << r.error().msg();
  }
  auto t = ParseResultText("{not json", "1.0.0");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), Code::kDecodingFailure);
}

TEST(ResultConvertTest, IpamShortFormHasNoInterfaces) {
  auto r = ParseResultText(
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.0.2/24","gateway":"10.1.0.1"}],
          "routes":[{"dst":"0.0.0.0/0"}]})");
  ASSERT_TRUE(r);
  auto j = ResultToJson(*r, "1.0.0");
  ASSERT_TRUE(j);
  EXPECT_EQ(*j, json::parse(R"({"cniVersion":"1.0.0",
      "ips":[{"address":"10.1.0.2/24","gateway":"10.1.0.1"}],
      "routes":[{"dst":"0.0.0.0/0"}]})"));
}

TEST(ResultConvertTest, ZeroRouteExtrasOmittedLikeGo) {
  AddResult r;
  Route rt = R(N("0.0.0.0/0"), std::nullopt);
  rt.mtu = 0;
  rt.priority = 0;
  rt.table = 0;  // pointer in Go: printed even when zero
  r.routes = {rt};
  auto j = ResultToJson(r, "1.1.0");
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["routes"][0], json::parse(R"({"dst":"0.0.0.0/0","table":0})"));
}

}  // namespace
}  // namespace cni
