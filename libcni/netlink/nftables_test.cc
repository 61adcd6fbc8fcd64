// The nftables module against the kernel, read back with nft itself (an
// independent reader): the objects we build are the ones nft would build from the
// equivalent script, down to the bytecode, and our own readers agree with nft.
#include "libcni/netlink/nftables.h"

// glibc's header before the kernel's, as linux/libc-compat.h expects.
#include <netinet/in.h>
#include <linux/netfilter.h>

#include <functional>
#include <optional>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "netns/netns.h"
#include "test/support/test_support.h"

namespace cni::nft {
namespace {

using linen::test::TempNetns;

class NftablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = TempNetns::Create("nftm");
    ASSERT_TRUE(ns.ok()) << ns.error().msg();
    ns_.emplace(std::move(*ns));
    auto sw = ScopedNetnsSwitch::Enter(ns_->ns());
    ASSERT_TRUE(sw.ok()) << sw.error().msg();
    auto s = Socket::Open();  // stays in ns_ after the switch back
    ASSERT_TRUE(s.ok()) << s.error().msg();
    sock_.emplace(std::move(*s));
  }
  std::string Nft(const std::string& args) {
    return linen::test::Sh("ip netns exec " + ns_->name() + " nft " + args + " 2>&1").out;
  }
  int NftScript(const std::string& script) {
    return linen::test::Run({"/usr/sbin/ip", "netns", "exec", ns_->name(), "nft", "-f", "-"}, {},
                            script)
        .exit_code;
  }
  std::optional<TempNetns> ns_;
  std::optional<Socket> sock_;
};

IpAddr Ip(const char* s) { return *IpAddr::Parse(s); }

// `--debug=netlink` heads each rule with its handle (and the previous one's); those
// count objects in creation order, which is not the bytecode.
std::string WithoutHandles(const std::string& s) {
  return std::regex_replace(s, std::regex(R"(^((?:inet|bridge|ip|ip6) \S+ \S+)( \d+)+$)", std::regex::multiline),
                            "$1");
}
using linen::test::Net;

Rule PodRule() {
  Rule r;
  r.NfProto(true)
      .AddrEq(true, Ip("10.1.0.5"))
      .AddrNotIn(false, Net("10.1.0.0/22"))
      .AddrNotIn(false, Net("224.0.0.0/4"))
      .Masquerade();
  return r;
}

// A network's dispatch as the bridge builds it: base chain, verdict map, one
// attachment chain and its element.
Batch Dispatch() {
  Batch b;
  b.AddTable(Family::kInet, "t");
  b.AddChain(Family::kInet, "t", "post", Hook{NF_INET_POST_ROUTING, 100, "nat"}, "net: n1");
  b.AddSet(Family::kInet, "t", {"m4", kTypeIpv4Addr, 4, true});
  Rule dispatch;
  dispatch.NfProto(true).SaddrVmap(true, "m4");
  b.AddRule(Family::kInet, "t", "post", dispatch, "dispatch");
  b.AddChain(Family::kInet, "t", "a1", std::nullopt, "ips: 10.1.0.5; net: n1");
  b.AddRule(Family::kInet, "t", "a1", PodRule(), "net: n1, if: eth0, id: c1");
  b.AddElems(Family::kInet, "t", "m4", {{AddrKey(Ip("10.1.0.5")), "a1", "pod c1"}});
  return b;
}

TEST_F(NftablesTest, ObjectsAreWhatNftListsAndOurReadersAgree) {
  ASSERT_TRUE(sock_->Commit(Dispatch(), "dispatch").ok());
  std::string t = Nft("list table inet t");
  EXPECT_NE(t.find("type ipv4_addr : verdict"), std::string::npos) << t;
  EXPECT_NE(t.find("10.1.0.5 comment \"pod c1\" : jump a1"), std::string::npos) << t;
  EXPECT_NE(t.find("type nat hook postrouting priority srcnat; policy accept;"), std::string::npos)
      << t;
  EXPECT_NE(t.find("ip saddr vmap @m4 comment \"dispatch\""), std::string::npos) << t;
  EXPECT_NE(t.find("ip saddr 10.1.0.5 ip daddr != 10.1.0.0/22 ip daddr != 224.0.0.0/4 masquerade "
                   "comment \"net: n1, if: eth0, id: c1\""),
            std::string::npos)
      << t;

  auto a1 = sock_->GetChain(Family::kInet, "t", "a1");
  ASSERT_TRUE(a1.ok()) << a1.error().msg();
  EXPECT_EQ(a1->comment, "ips: 10.1.0.5; net: n1");
  EXPECT_FALSE(a1->base);
  auto post = sock_->GetChain(Family::kInet, "t", "post");
  ASSERT_TRUE(post.ok());
  EXPECT_TRUE(post->base);
  auto rules = sock_->ListRules(Family::kInet, "t", "post");
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ(rules->front().comment, "dispatch");
  EXPECT_EQ(rules->front().chain, "post");
  EXPECT_NE(rules->front().handle, 0u);
  // "" lists every chain's rules in one dump, each naming its chain.
  auto every = sock_->ListRules(Family::kInet, "t", "");
  ASSERT_TRUE(every.ok()) << every.error().msg();
  std::multiset<std::string> in;
  for (const auto& r : *every) in.insert(r.chain);
  EXPECT_EQ(in, (std::multiset<std::string>{"a1", "post"}));
  auto e = sock_->GetElem(Family::kInet, "t", "m4", AddrKey(Ip("10.1.0.5")));
  ASSERT_TRUE(e.ok()) << e.error().msg();
  EXPECT_EQ(e->jump_chain, "a1");
  EXPECT_EQ(e->comment, "pod c1");
  auto all = sock_->ListElems(Family::kInet, "t", "m4");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().key, AddrKey(Ip("10.1.0.5")));
  auto chains = sock_->ListChains(Family::kInet, "t");
  ASSERT_TRUE(chains.ok());
  EXPECT_EQ(chains->size(), 2u);
}

TEST_F(NftablesTest, RuleBytecodeIsExactlyNfts) {
  // Ours, then nft's own from the script, compared as the kernel holds them.
  Batch b;
  b.AddTable(Family::kInet, "t");
  b.AddChain(Family::kInet, "t", "a1", std::nullopt, "");
  b.AddRule(Family::kInet, "t", "a1", PodRule(), "");
  Rule v6;
  v6.NfProto(false).AddrEq(true, Ip("fd00::5")).AddrNotIn(false, Net("fd00::/61")).Masquerade();
  b.AddRule(Family::kInet, "t", "a1", v6, "");
  Rule node;
  node.AddrIn(true, Net("10.244.0.0/16")).AddrNotIn(false, Net("10.244.0.0/16")).Counter().Masquerade();
  b.AddTable(Family::kIp, "n");
  b.AddChain(Family::kIp, "n", "post", Hook{NF_INET_POST_ROUTING, 100, "nat"}, "");
  b.AddRule(Family::kIp, "n", "post", node, "");
  Rule spoof;
  spoof.EtherSaddrNot("02:00:00:00:00:01").Drop();
  b.AddTable(Family::kBridge, "s");
  b.AddChain(Family::kBridge, "s", "a", std::nullopt, "");
  b.AddRule(Family::kBridge, "s", "a", spoof, "");
  ASSERT_TRUE(sock_->Commit(b, "rules").ok());
  const std::string ours = Nft("--debug=netlink list ruleset");
  EXPECT_NE(ours.find("[ masq ]"), std::string::npos) << ours;
  ASSERT_EQ(Nft("flush ruleset"), "");
  ASSERT_EQ(NftScript("table inet t { chain a1 {\n"
                      " ip saddr 10.1.0.5 ip daddr != 10.1.0.0/22 ip daddr != 224.0.0.0/4 masquerade\n"
                      " ip6 saddr fd00::5 ip6 daddr != fd00::/61 masquerade\n }\n}\n"
                      "table ip n { chain post { type nat hook postrouting priority srcnat;\n"
                      " ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 counter masquerade\n }\n}\n"
                      "table bridge s { chain a {\n ether saddr != 02:00:00:00:00:01 drop\n }\n}\n"),
            0);
  // Counters differ only in what they counted (nothing, both).
  EXPECT_EQ(ours, Nft("--debug=netlink list ruleset"));
}

// The portmap table: concatenated keys (an ifname among them), value maps, DNAT
// from a map, fib, ct status, jump, and elements with values and comments —
// bytecode and listing both nft's.
TEST_F(NftablesTest, ConcatMapsDnatAndFibAreExactlyNfts) {
  const std::string t = "pm";
  const Family f = Family::kInet;
  Batch b;
  b.AddTable(f, t);
  const uint32_t proto_port = ConcatType({kTypeInetProto, kTypeInetService});
  b.AddSet(f, t, {"h4", ConcatType({kTypeIpv4Addr, kTypeInetProto, kTypeInetService}), 12, false,
                  ConcatType({kTypeIpv4Addr, kTypeInetService}), 8});
  b.AddSet(f, t, {"a6", proto_port, 8, false, ConcatType({kTypeIpv6Addr, kTypeInetService}), 20});
  b.AddSet(f, t, {"hp4", ConcatType({kTypeIpv4Addr, kTypeIpv4Addr}), 8});
  b.AddSet(f, t, {"hpi4", ConcatType({kTypeIfname, kTypeIpv4Addr}), 20});
  b.AddChain(f, t, "ports", std::nullopt, "");
  Rule d4;
  d4.NfProto(true).DnatMap(true, {Field::kDaddr4, Field::kL4Proto, Field::kThDport}, "h4");
  b.AddRule(f, t, "ports", d4, "");
  Rule d6;
  d6.NfProto(false).DnatMap(false, {Field::kL4Proto, Field::kThDport}, "a6");
  b.AddRule(f, t, "ports", d6, "");
  b.AddChain(f, t, "pre", Hook{NF_INET_PRE_ROUTING, -100, "nat"}, "");
  Rule pre;
  pre.FibDaddrLocal().Jump("ports");
  b.AddRule(f, t, "pre", pre, "");
  b.AddChain(f, t, "post", Hook{NF_INET_POST_ROUTING, 100, "nat"}, "");
  Rule hp;
  hp.NfProto(true).InSet({Field::kSaddr4, Field::kDaddr4}, "hp4").Masquerade();
  b.AddRule(f, t, "post", hp, "");
  Rule hpi;
  hpi.NfProto(true).CtStatusDnat().InSet({Field::kIifname, Field::kDaddr4}, "hpi4").Masquerade();
  b.AddRule(f, t, "post", hpi, "");
  const std::string pod = AddrKey(Ip("10.77.0.2"));
  b.AddElems(f, t, "h4",
             {{ConcatKey({AddrKey(Ip("10.0.0.1")), ProtoKey(6), PortKey(8080)}), "", "c1 eth0",
               ConcatKey({pod, PortKey(80)})}});
  b.AddElems(f, t, "a6",
             {{ConcatKey({ProtoKey(17), PortKey(53)}), "", "c1 eth0",
               ConcatKey({AddrKey(Ip("fd00::2")), PortKey(5353)})}});
  b.AddElems(f, t, "hp4", {{ConcatKey({pod, pod}), "", "c1 eth0"}});
  b.AddElems(f, t, "hpi4", {{ConcatKey({IfnameKey("br0"), pod}), "", "c1 eth0"}});
  ASSERT_TRUE(sock_->Commit(b, "portmap").ok());
  const std::string ours = Nft("--debug=netlink list ruleset");
  const std::string ours_text = Nft("list ruleset");
  EXPECT_NE(ours_text.find("10.0.0.1 . tcp . 8080 comment \"c1 eth0\" : 10.77.0.2 . 80"),
            std::string::npos) << ours_text;
  auto elems = sock_->ListElems(f, t, "a6");
  ASSERT_TRUE(elems.ok()) << elems.error().msg();
  ASSERT_EQ(elems->size(), 1u);
  EXPECT_EQ(elems->front().data, ConcatKey({AddrKey(Ip("fd00::2")), PortKey(5353)}));
  EXPECT_EQ(elems->front().comment, "c1 eth0");
  ASSERT_EQ(Nft("flush ruleset"), "");
  ASSERT_EQ(NftScript(
                "table inet pm {\n"
                " map h4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n"
                " map a6 { type inet_proto . inet_service : ipv6_addr . inet_service; }\n"
                " set hp4 { type ipv4_addr . ipv4_addr; }\n"
                " set hpi4 { type ifname . ipv4_addr; }\n"
                " chain ports {\n"
                "  meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @h4\n"
                "  meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @a6\n }\n"
                " chain pre { type nat hook prerouting priority dstnat;\n"
                "  fib daddr type local jump ports\n }\n"
                " chain post { type nat hook postrouting priority srcnat;\n"
                "  ip saddr . ip daddr @hp4 masquerade\n"
                "  meta nfproto ipv4 ct status dnat meta iifname . ip daddr @hpi4 masquerade\n }\n}\n"
                "add element inet pm h4 { 10.0.0.1 . tcp . 8080 comment \"c1 eth0\" : 10.77.0.2 . 80 }\n"
                "add element inet pm a6 { udp . 53 comment \"c1 eth0\" : fd00::2 . 5353 }\n"
                "add element inet pm hp4 { 10.77.0.2 . 10.77.0.2 comment \"c1 eth0\" }\n"
                "add element inet pm hpi4 { \"br0\" . 10.77.0.2 comment \"c1 eth0\" }\n"),
            0);
  EXPECT_EQ(WithoutHandles(ours), WithoutHandles(Nft("--debug=netlink list ruleset")));
  EXPECT_EQ(ours_text, Nft("list ruleset"));
}

// The jump-free layout of the masquerade and the spoof check: a map looked up for
// presence only (its value an ifname), a negated lookup in a concatenated set, a
// value map whose key and value are concatenations, and an ifname . ether_addr set
// in the bridge family. Bytecode and listing both nft's.
TEST_F(NftablesTest, LookupsWithoutJumpsAreExactlyNfts) {
  const Family f = Family::kInet;
  Batch b;
  b.AddTable(f, "t");
  b.AddSet(f, "t", {"pods4", kTypeIpv4Addr, 4, false, kTypeIfname, 16});
  b.AddSet(f, "t", {"own4", ConcatType({kTypeIpv4Addr, kTypeIpv4Addr}), 8});
  b.AddSet(f, "t", {"att4", ConcatType({kTypeIfname, kTypeInetService}), 20, false,
                    ConcatType({kTypeIpv4Addr, kTypeIpv4Addr, kTypeIpv4Addr}), 12});
  b.AddChain(f, "t", "post", Hook{NF_INET_POST_ROUTING, 100, "nat"}, "");
  Rule masq;
  masq.NfProto(true)
      .InSet({Field::kSaddr4}, "pods4")
      .NotInSet({Field::kSaddr4, Field::kDaddr4}, "own4")
      .AddrNotIn(false, Net("224.0.0.0/4"))
      .Masquerade();
  b.AddRule(f, "t", "post", masq, "");
  const std::string pod = AddrKey(Ip("10.77.0.2"));
  const std::string lo = AddrKey(Ip("10.77.0.0")), hi = AddrKey(Ip("10.77.0.255"));
  b.AddElems(f, "t", "pods4", {{pod, "", "c1 eth0", IfnameKey("0123456789abcde")}});
  const Elem pair{ConcatKey({pod, pod})};
  b.AddElems(f, "t", "own4", {pair});
  b.AddElems(f, "t", "att4", {{ConcatKey({IfnameKey("0123456789abcde"), PortKey(0)}), "", "",
                               ConcatKey({pod, lo, hi})}});
  b.AddTable(Family::kBridge, "s");
  b.AddSet(Family::kBridge, "s", {"macs", kTypeIfname, 16, false, kTypeEtherAddr, 6});
  b.AddSet(Family::kBridge, "s", {"portmac", ConcatType({kTypeIfname, kTypeEtherAddr}), 24});
  b.AddChain(Family::kBridge, "s", "pre", Hook{0, -300, "filter"}, "");
  Rule spoof;
  spoof.InSet({Field::kIifname}, "macs")
      .NotInSet({Field::kIifname, Field::kEtherSaddr}, "portmac")
      .Drop();
  b.AddRule(Family::kBridge, "s", "pre", spoof, "");
  const std::string mac("\x02\x00\x00\x00\x00\x01", 6);
  b.AddElems(Family::kBridge, "s", "macs", {{IfnameKey("veth0"), "", "", mac}});
  b.AddElems(Family::kBridge, "s", "portmac", {{ConcatKey({IfnameKey("veth0"), mac})}});
  ASSERT_TRUE(sock_->Commit(b, "jump-free").ok());

  auto got = sock_->GetElem(f, "t", "own4", pair.key);
  ASSERT_TRUE(got.ok()) << got.error().msg();
  EXPECT_EQ(got->key, pair.key);
  auto owner = sock_->GetElem(f, "t", "pods4", pod);
  ASSERT_TRUE(owner.ok()) << owner.error().msg();
  EXPECT_EQ(owner->data, IfnameKey("0123456789abcde"));
  EXPECT_EQ(owner->comment, "c1 eth0");

  const std::string ours = Nft("--debug=netlink list ruleset");
  const std::string ours_text = Nft("list ruleset");
  EXPECT_NE(ours_text.find("\"0123456789abcde\" . 0 : 10.77.0.2 . 10.77.0.0 . 10.77.0.255"),
            std::string::npos)
      << ours_text;
  ASSERT_EQ(Nft("flush ruleset"), "");
  ASSERT_EQ(NftScript("table inet t {\n"
                      " map pods4 { type ipv4_addr : ifname; }\n"
                      " set own4 { type ipv4_addr . ipv4_addr; }\n"
                      " map att4 { type ifname . inet_service : ipv4_addr . ipv4_addr . ipv4_addr; }\n"
                      " chain post { type nat hook postrouting priority srcnat;\n"
                      "  ip saddr @pods4 ip saddr . ip daddr != @own4 ip daddr != 224.0.0.0/4 "
                      "masquerade\n }\n}\n"
                      "add element inet t pods4 { 10.77.0.2 comment \"c1 eth0\" : \"0123456789abcde\" }\n"
                      "add element inet t own4 { 10.77.0.2 . 10.77.0.2 }\n"
                      "add element inet t att4 { \"0123456789abcde\" . 0 : "
                      "10.77.0.2 . 10.77.0.0 . 10.77.0.255 }\n"
                      "table bridge s {\n"
                      " map macs { type ifname : ether_addr; }\n"
                      " set portmac { type ifname . ether_addr; }\n"
                      " chain pre { type filter hook prerouting priority -300;\n"
                      "  iifname @macs iifname . ether saddr != @portmac drop\n }\n}\n"
                      "add element bridge s macs { \"veth0\" : 02:00:00:00:00:01 }\n"
                      "add element bridge s portmac { \"veth0\" . 02:00:00:00:00:01 }\n"),
            0);
  EXPECT_EQ(WithoutHandles(ours), WithoutHandles(Nft("--debug=netlink list ruleset")));
  EXPECT_EQ(ours_text, Nft("list ruleset"));

  Batch del;
  del.DeleteElems(f, "t", "own4", std::vector<Elem>{pair});
  ASSERT_TRUE(sock_->Commit(del, "delete by element").ok());
  EXPECT_TRUE(sock_->GetElem(f, "t", "own4", pair.key).error().IsNotFound());
}

TEST_F(NftablesTest, ErrorsNameTheCommandAndCarryTheCause) {
  ASSERT_TRUE(sock_->Commit(Dispatch(), "dispatch").ok());
  Batch again;
  again.AddTable(Family::kInet, "t", /*exclusive=*/true);
  auto s = sock_->Commit(again, "again");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().IsExists()) << s.error().msg();
  EXPECT_NE(s.error().msg().find("add table inet t"), std::string::npos) << s.error().msg();

  auto missing = sock_->GetChain(Family::kInet, "t", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().IsNotFound()) << missing.error().msg();
  auto no_elem = sock_->GetElem(Family::kInet, "t", "m4", AddrKey(Ip("10.9.9.9")));
  ASSERT_FALSE(no_elem.ok());
  EXPECT_TRUE(no_elem.error().IsNotFound()) << no_elem.error().msg();

  // All or nothing: a good command before a failing one leaves no trace.
  const std::string before = Nft("list ruleset");
  Batch half;
  half.AddChain(Family::kInet, "t", "fresh", std::nullopt, "");
  half.DeleteElems(Family::kInet, "t", "m4", {AddrKey(Ip("10.9.9.9"))});
  auto h = sock_->Commit(half, "half");
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.error().IsNotFound()) << h.error().msg();
  EXPECT_NE(h.error().msg().find("delete element inet t m4"), std::string::npos) << h.error().msg();
  EXPECT_EQ(Nft("list ruleset"), before);

  // A chain still jumped to cannot go: busy, and the socket stays usable after.
  Batch busy;
  busy.FlushChain(Family::kInet, "t", "a1");
  busy.DeleteChain(Family::kInet, "t", "a1");
  auto b = sock_->Commit(busy, "busy");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Code::kTryAgainLater) << b.error().msg();
  EXPECT_TRUE(sock_->GetTable(Family::kInet, "t").ok());
}

TEST_F(NftablesTest, BadMacIsRefusedBeforeAnythingIsSent) {
  Rule r;
  r.EtherSaddrNot("zz:zz").Drop();
  Batch b;
  b.AddTable(Family::kBridge, "s");
  b.AddChain(Family::kBridge, "s", "a", std::nullopt, "");
  b.AddRule(Family::kBridge, "s", "a", r, "");
  auto s = sock_->Commit(b, "spoof");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_NE(s.error().msg().find("zz:zz"), std::string::npos) << s.error().msg();
  EXPECT_EQ(Nft("list ruleset"), "");
}

TEST_F(NftablesTest, ListingsOfAbsentObjects) {
  auto chains = sock_->ListChains(Family::kInet, "none");
  ASSERT_TRUE(chains.ok()) << chains.error().msg();
  EXPECT_TRUE(chains->empty());
  auto elems = sock_->ListElems(Family::kInet, "none", "m");
  ASSERT_FALSE(elems.ok());
  EXPECT_TRUE(elems.error().IsNotFound()) << elems.error().msg();
  EXPECT_TRUE(sock_->GetTable(Family::kInet, "none").error().IsNotFound());
}

}  // namespace
}  // namespace cni::nft
