// Config parsing: every key's type and range, and the pod's addresses.
#include "plugins/portmap/config.h"

#include <netinet/in.h>

#include <gtest/gtest.h>

#include "plugins/portmap/layout.h"

namespace portmap {
namespace {

cni::NetConf Net(const std::string& extra, const std::string& maps = "[]") {
  auto n = cni::ParseNetConf(R"({"cniVersion":"1.0.0","name":"n","type":"portmap")" +
                             (extra.empty() ? "" : "," + extra) +
                             R"(,"runtimeConfig":{"portMappings":)" + maps + "}}");
  EXPECT_TRUE(n.ok()) << n.error().msg();
  return *n;
}

cni::Code CodeOf(const std::string& extra, const std::string& maps = "[]") {
  auto c = ParsePortmapConf(Net(extra, maps), true);
  return c.ok() ? cni::Code::kOk : c.error().code();
}

TEST(PortmapConfig, DefaultsAndMappings) {
  auto c = ParsePortmapConf(
      Net("", R"([{"hostPort":8080,"containerPort":80,"protocol":"TCP"},
                 {"hostPort":53,"containerPort":53,"protocol":"udp","hostIP":"10.0.0.1"},
                 {"hostPort":9,"containerPort":9,"protocol":"sctp","hostIP":"::"}])"),
      true);
  ASSERT_TRUE(c.ok()) << c.error().msg();
  EXPECT_TRUE(c->snat);
  ASSERT_EQ(c->mappings.size(), 3u);
  EXPECT_EQ(c->mappings[0].proto, IPPROTO_TCP);
  EXPECT_FALSE(c->mappings[0].family);
  EXPECT_EQ(c->mappings[1].host_ip->ToString(), "10.0.0.1");
  EXPECT_EQ(c->mappings[2].proto, IPPROTO_SCTP);
  EXPECT_FALSE(c->mappings[2].host_ip);  // "::": any IPv6 address
  EXPECT_EQ(c->mappings[2].family, cni::Family::kV6);
}

TEST(PortmapConfig, ReferenceKeysAccepted) {
  EXPECT_EQ(CodeOf(R"("snat":false,"markMasqBit":13,"backend":"iptables","conditionsV4":[])"),
            cni::Code::kOk);
  EXPECT_EQ(CodeOf(R"("snat":"false","externalSetMarkChain":"KUBE-MARK-MASQ")"), cni::Code::kOk);
}

TEST(PortmapConfig, BadInputGetsTheRightCode) {
  const auto k6 = cni::Code::kDecodingFailure, k7 = cni::Code::kInvalidNetworkConfig;
  EXPECT_EQ(CodeOf(R"("snat":1)"), k6);
  EXPECT_EQ(CodeOf(R"("markMasqBit":32)"), k7);
  EXPECT_EQ(CodeOf(R"("markMasqBit":-1)"), k7);
  EXPECT_EQ(CodeOf(R"("markMasqBit":"13")"), k6);
  EXPECT_EQ(CodeOf(R"("markMasqBit":13,"externalSetMarkChain":"X")"), k7);
  EXPECT_EQ(CodeOf(R"("backend":"ebpf")"), k7);
  EXPECT_EQ(CodeOf(R"("conditionsV4":["-s","1.2.3.4"])"), k7);
  EXPECT_EQ(CodeOf(R"("conditionsV6":"x")"), k6);
  EXPECT_EQ(CodeOf("", R"({"hostPort":1})"), k6);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":0,"containerPort":80}])"), k7);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":65536,"containerPort":80}])"), k7);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":80,"containerPort":-1}])"), k7);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":80}])"), k7);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":"80","containerPort":80}])"), k6);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":80.5,"containerPort":80}])"), k6);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":80,"containerPort":80,"protocol":"icmp"}])"), k7);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":80,"containerPort":80,"protocol":6}])"), k6);
  EXPECT_EQ(CodeOf("", R"([{"hostPort":80,"containerPort":80,"hostIP":"10.0.0.300"}])"), k7);
  EXPECT_EQ(CodeOf("", R"([5])"), k6);
}

TEST(PortmapConfig, PodAddressesComeFromSandboxInterfaces) {
  auto n = cni::ParseNetConf(R"({"cniVersion":"1.0.0","name":"n","type":"portmap",
    "prevResult":{"cniVersion":"1.0.0",
      "interfaces":[{"name":"cni0"},{"name":"eth0","sandbox":"/run/netns/p"}],
      "ips":[{"address":"10.77.0.1/24","interface":0},{"address":"10.77.0.5/24","interface":1},
             {"address":"fd00::5/64","interface":1},{"address":"10.77.0.6/24","interface":1}]}})");
  ASSERT_TRUE(n.ok()) << n.error().msg();
  auto a = PodAddrsFromPrevResult(*n);
  ASSERT_TRUE(a.ok()) << a.error().msg();
  EXPECT_EQ(a->v4->ToString(), "10.77.0.5");
  EXPECT_EQ(a->v6->ToString(), "fd00::5");
  auto none = cni::ParseNetConf(R"({"cniVersion":"1.0.0","name":"n","type":"portmap"})");
  EXPECT_EQ(PodAddrsFromPrevResult(*none).error().code(), cni::Code::kInvalidNetworkConfig);
}

TEST(PortmapLayout, EntriesAndOwners) {
  auto c = ParsePortmapConf(
      Net("", R"([{"hostPort":8080,"containerPort":80,"protocol":"tcp"},
                 {"hostPort":53,"containerPort":5353,"protocol":"udp","hostIP":"10.0.0.1"}])"),
      true);
  ASSERT_TRUE(c.ok());
  PodAddrs pod{cni::IpAddr::Parse("10.77.0.5").value(), cni::IpAddr::Parse("fd00::5").value()};
  auto e = EntriesFor(*c, pod, {}, "cid/eth0");
  ASSERT_TRUE(e.ok()) << e.error().msg();
  // 8080 on both families, 53 on IPv4 only, and a hairpin pair per family.
  ASSERT_EQ(e->size(), 5u);
  EXPECT_EQ((*e)[0].set, kAny4);
  EXPECT_EQ((*e)[1].set, kAny6);
  EXPECT_EQ((*e)[2].set, kHostIp4);
  EXPECT_EQ((*e)[2].what, "host port 53/udp on 10.0.0.1");
  auto m = UdpMatchOf((*e)[2].set, (*e)[2].elem.key);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->dport, 53);
  EXPECT_EQ(m->dst->ToString(), "10.0.0.1");
  EXPECT_FALSE(UdpMatchOf((*e)[0].set, (*e)[0].elem.key));
  EXPECT_EQ((*e)[4].set, kHairpin6);
  // With the pods' links known: (link . pod) after each family's pair; a family
  // without an on-link route gets none.
  auto l = EntriesFor(*c, pod, PodLinks{"cni0", ""}, "cid/eth0");
  ASSERT_TRUE(l.ok()) << l.error().msg();
  ASSERT_EQ(l->size(), 6u);
  EXPECT_EQ((*l)[4].set, kHairpinIf4);
  EXPECT_EQ((*l)[4].what, "hairpin masquerade of 10.77.0.5 from cni0");
  EXPECT_EQ((*l)[5].set, kHairpin6);

  auto twice = ParsePortmapConf(
      Net("", R"([{"hostPort":80,"containerPort":80},{"hostPort":80,"containerPort":81}])"), true);
  EXPECT_EQ(EntriesFor(*twice, pod, {}, "o").error().code(), cni::Code::kInvalidNetworkConfig);

  EXPECT_EQ(Owner("abc", "eth0"), "abc/eth0");
  EXPECT_LE(Owner(std::string(200, 'a'), "eth0").size(), 127u);
}

}  // namespace
}  // namespace portmap
