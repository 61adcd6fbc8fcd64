#include "plugins/portmap/layout.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <netinet/in.h>

#include <cstring>
#include <map>
#include <set>

#include "libcni/sha512.h"

namespace portmap {
namespace {

namespace nft = cni::nft;
using nft::Field;

constexpr size_t kCommentMax = 127;  // nft's limit less the NUL
constexpr int32_t kDstNat = -100;    // NF_IP_PRI_NAT_DST, nft's "dstnat"
constexpr int32_t kSrcNat = 100;     // NF_IP_PRI_NAT_SRC, "srcnat"

std::string ProtoName(uint8_t p) {
  switch (p) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_SCTP: return "sctp";
  }
  return std::to_string(p);
}

bool IsV4Set(const std::string& set) { return set == kHostIp4 || set == kAny4; }
bool IsHostIpSet(const std::string& set) { return set == kHostIp4 || set == kHostIp6; }
bool IsMap(const std::string& set) { return !IsHairpinSet(set); }

struct KeyParts {
  std::optional<cni::IpAddr> host_ip;
  uint8_t proto = 0;
  uint16_t port = 0;
};

std::optional<KeyParts> ParseKey(const std::string& set, const std::string& key) {
  if (!IsMap(set)) return std::nullopt;
  const bool v4 = IsV4Set(set);
  const size_t addr_len = IsHostIpSet(set) ? (v4 ? 4 : 16) : 0;
  if (key.size() != addr_len + 8) return std::nullopt;
  KeyParts k;
  if (addr_len > 0) {
    k.host_ip = cni::IpAddr::FromBytes(v4 ? cni::Family::kV4 : cni::Family::kV6,
                                       reinterpret_cast<const uint8_t*>(key.data()));
  }
  k.proto = static_cast<uint8_t>(key[addr_len]);
  uint16_t be;
  std::memcpy(&be, key.data() + addr_len + 4, 2);
  k.port = ntohs(be);
  return k;
}

// The base chains' rules, each with a comment naming the layout's version and the
// rule: what ADD reads back to tell whether the layout is in place. A change to any
// rule must change kLayoutVersion, so the next ADD rewrites the chains.
struct LayoutRule {
  const char* chain;
  nft::Rule rule;
  std::string comment;
};

constexpr const char* kLayoutVersion = "linen portmap 2: ";

const std::vector<LayoutRule>& LayoutRules() {
  static const std::vector<LayoutRule> kRules = [] {
    std::vector<LayoutRule> out;
    const auto add = [&](const char* chain, const nft::Rule& r, const char* name) {
      out.push_back({chain, r, std::string(kLayoutVersion) + name});
    };
    // hostports: a specific host address first, then any local address.
    nft::Rule r;
    r.NfProto(true).DnatMap(true, {Field::kDaddr4, Field::kL4Proto, Field::kThDport}, kHostIp4);
    add("hostports", r, "dnat hostip4");
    r = nft::Rule();
    r.NfProto(true).DnatMap(true, {Field::kL4Proto, Field::kThDport}, kAny4);
    add("hostports", r, "dnat any4");
    r = nft::Rule();
    r.NfProto(false).DnatMap(false, {Field::kDaddr6, Field::kL4Proto, Field::kThDport}, kHostIp6);
    add("hostports", r, "dnat hostip6");
    r = nft::Rule();
    r.NfProto(false).DnatMap(false, {Field::kL4Proto, Field::kThDport}, kAny6);
    add("hostports", r, "dnat any6");
    // Only packets addressed to this node; from outside (prerouting) and from the
    // node itself (output), loopback destinations excepted: a DNAT to a pod of a
    // packet from 127.0.0.1 would be dropped as a martian.
    r = nft::Rule();
    r.FibDaddrLocal().Jump("hostports");
    add("prerouting", r, "to hostports");
    r = nft::Rule();
    r.NfProto(true).AddrNotIn(false, *cni::IpNet::Parse("127.0.0.0/8")).FibDaddrLocal().Jump("hostports");
    add("output", r, "to hostports ipv4");
    r = nft::Rule();
    r.NfProto(false).AddrNotIn(false, *cni::IpNet::Parse("::1/128")).FibDaddrLocal().Jump("hostports");
    add("output", r, "to hostports ipv6");
    // Hairpin: a pod reaching its own host port comes back with its own address as
    // source; masquerade so the reply returns through the node's conntrack entry.
    r = nft::Rule();
    r.NfProto(true).InSet({Field::kSaddr4, Field::kDaddr4}, kHairpin4).Masquerade();
    add("postrouting", r, "hairpin4");
    r = nft::Rule();
    r.NfProto(false).InSet({Field::kSaddr6, Field::kDaddr6}, kHairpin6).Masquerade();
    add("postrouting", r, "hairpin6");
    // Another pod reaching this pod's host port through the node's address: without
    // br_netfilter the pod would answer it directly on their shared link, with its
    // own address, and the client would drop the answer. A DNATed packet that leaves
    // by the interface it came in by (the pod's link) is masqueraded, as the
    // reference does for sources in the pod's subnet. With br_netfilter such a
    // packet is bridged: it has no input interface here and conntrack sees the
    // answer anyway.
    r = nft::Rule();
    r.NfProto(true).CtStatusDnat().InSet({Field::kIifname, Field::kDaddr4}, kHairpinIf4).Masquerade();
    add("postrouting", r, "hairpinif4");
    r = nft::Rule();
    r.NfProto(false).CtStatusDnat().InSet({Field::kIifname, Field::kDaddr6}, kHairpinIf6).Masquerade();
    add("postrouting", r, "hairpinif6");
    return out;
  }();
  return kRules;
}

}  // namespace

const std::vector<std::string>& AllSets() {
  static const std::vector<std::string> kSets = {kHostIp4,  kHostIp6,  kAny4,       kAny6,
                                                 kHairpin4, kHairpin6, kHairpinIf4, kHairpinIf6};
  return kSets;
}

bool IsHairpinSet(const std::string& set) {
  return set == kHairpin4 || set == kHairpin6 || set == kHairpinIf4 || set == kHairpinIf6;
}

std::string Owner(const std::string& container_id, const std::string& ifname) {
  std::string o = container_id + "/" + ifname;
  if (o.size() <= kCommentMax) return o;
  return "sha512:" + cni::HexPrefix(cni::Sha512(o), 32);
}

void EnsureLayout(nft::Batch& b) {
  using nft::ConcatType;
  const uint32_t proto_port = ConcatType({nft::kTypeInetProto, nft::kTypeInetService});
  const uint32_t to4 = ConcatType({nft::kTypeIpv4Addr, nft::kTypeInetService});
  const uint32_t to6 = ConcatType({nft::kTypeIpv6Addr, nft::kTypeInetService});
  b.AddTable(kFamily, kTable);
  b.AddSet(kFamily, kTable,
           {kHostIp4, ConcatType({nft::kTypeIpv4Addr, nft::kTypeInetProto, nft::kTypeInetService}),
            12, false, to4, 8});
  b.AddSet(kFamily, kTable,
           {kHostIp6, ConcatType({nft::kTypeIpv6Addr, nft::kTypeInetProto, nft::kTypeInetService}),
            24, false, to6, 20});
  b.AddSet(kFamily, kTable, {kAny4, proto_port, 8, false, to4, 8});
  b.AddSet(kFamily, kTable, {kAny6, proto_port, 8, false, to6, 20});
  b.AddSet(kFamily, kTable, {kHairpin4, ConcatType({nft::kTypeIpv4Addr, nft::kTypeIpv4Addr}), 8});
  b.AddSet(kFamily, kTable, {kHairpin6, ConcatType({nft::kTypeIpv6Addr, nft::kTypeIpv6Addr}), 32});
  b.AddSet(kFamily, kTable,
           {kHairpinIf4, ConcatType({nft::kTypeIfname, nft::kTypeIpv4Addr}), 20});
  b.AddSet(kFamily, kTable,
           {kHairpinIf6, ConcatType({nft::kTypeIfname, nft::kTypeIpv6Addr}), 32});

  const std::string comment = "linen portmap";
  b.AddChain(kFamily, kTable, "hostports", std::nullopt, comment);
  b.AddChain(kFamily, kTable, "prerouting", nft::Hook{NF_INET_PRE_ROUTING, kDstNat, "nat"}, comment);
  b.AddChain(kFamily, kTable, "output", nft::Hook{NF_INET_LOCAL_OUT, kDstNat, "nat"}, comment);
  b.AddChain(kFamily, kTable, "postrouting", nft::Hook{NF_INET_POST_ROUTING, kSrcNat, "nat"},
             comment);
  for (const char* chain : {"hostports", "prerouting", "output", "postrouting"}) {
    b.FlushChain(kFamily, kTable, chain);
  }
  for (const LayoutRule& r : LayoutRules()) {
    b.AddRule(kFamily, kTable, r.chain, r.rule, r.comment);
  }
}

bool LayoutIsCurrent(const std::vector<nft::RuleInfo>& listed) {
  std::map<std::string, std::vector<std::string>> have, want;
  for (const nft::RuleInfo& r : listed) have[r.chain].push_back(r.comment);
  for (const LayoutRule& r : LayoutRules()) want[r.chain].push_back(r.comment);
  // The regular chain "hostports" is only jumped to; every chain holds our rules only.
  return have == want;
}

cni::Result<std::vector<Entry>> EntriesFor(const PortmapConf& conf, const PodAddrs& pod,
                                           const PodLinks& links, const std::string& owner) {
  std::vector<Entry> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const PortMapping& m : conf.mappings) {
    for (const std::optional<cni::IpAddr>& addr : {pod.v4, pod.v6}) {
      if (!addr) continue;
      const bool v4 = addr->is_v4();
      if (m.family && *m.family != addr->family()) continue;
      Entry e;
      std::string key = nft::ConcatKey({nft::ProtoKey(m.proto), nft::PortKey(m.host_port)});
      e.set = v4 ? kAny4 : kAny6;
      if (m.host_ip) {
        e.set = v4 ? kHostIp4 : kHostIp6;
        key = nft::ConcatKey({nft::AddrKey(*m.host_ip), nft::ProtoKey(m.proto),
                              nft::PortKey(m.host_port)});
      }
      e.elem.key = key;
      e.elem.data = nft::ConcatKey({nft::AddrKey(*addr), nft::PortKey(m.container_port)});
      e.elem.comment = owner;
      e.what = DescribeKey(e.set, key);
      if (!seen.insert({e.set, key}).second) {
        return cni::Error(cni::Code::kInvalidNetworkConfig,
                          "portMappings: " + e.what + " is listed twice");
      }
      out.push_back(std::move(e));
    }
  }
  if (conf.snat && !out.empty()) {
    for (const std::optional<cni::IpAddr>& addr : {pod.v4, pod.v6}) {
      if (!addr) continue;
      Entry e;
      e.set = addr->is_v4() ? kHairpin4 : kHairpin6;
      e.elem.key = nft::ConcatKey({nft::AddrKey(*addr), nft::AddrKey(*addr)});
      e.elem.comment = owner;
      e.what = "hairpin masquerade of " + addr->ToString();
      out.push_back(std::move(e));
      const std::string& link = addr->is_v4() ? links.v4 : links.v6;
      if (link.empty()) continue;
      Entry l;
      l.set = addr->is_v4() ? kHairpinIf4 : kHairpinIf6;
      l.elem.key = nft::ConcatKey({nft::IfnameKey(link), nft::AddrKey(*addr)});
      l.elem.comment = owner;
      l.what = "hairpin masquerade of " + addr->ToString() + " from " + link;
      out.push_back(std::move(l));
    }
  }
  return out;
}

std::optional<cni::ct::Match> UdpMatchOf(const std::string& set, const std::string& key) {
  auto k = ParseKey(set, key);
  if (!k || k->proto != IPPROTO_UDP) return std::nullopt;
  cni::ct::Match m;
  m.family = IsV4Set(set) ? cni::Family::kV4 : cni::Family::kV6;
  m.proto = IPPROTO_UDP;
  m.dport = k->port;
  m.dst = k->host_ip;
  return m;
}

std::string DescribeKey(const std::string& set, const std::string& key) {
  auto k = ParseKey(set, key);
  if (!k) return set + " element";
  std::string s = "host port " + std::to_string(k->port) + "/" + ProtoName(k->proto);
  if (k->host_ip) return s + " on " + k->host_ip->ToString();
  return s + (IsV4Set(set) ? " (IPv4)" : " (IPv6)");
}

}  // namespace portmap
