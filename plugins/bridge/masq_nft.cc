#include "plugins/bridge/masq_nft.h"

#include <linux/netfilter.h>

#include <set>

#include "plugins/bridge/nft_dispatch.h"

namespace bridge {

namespace nft = cni::nft;

namespace {

constexpr int32_t kPrioritySrcnat = 100;  // NF_IP_PRI_NAT_SRC, nft's "srcnat"
constexpr const char* kIpsPrefix = "ips: ";

std::string StripQuotes(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != '"' && c != '\\') out += c;
  }
  return out;
}

// Map 0 holds IPv4 sources, map 1 IPv6.
std::vector<std::pair<size_t, std::string>> KeysOf(const std::vector<cni::IpAddr>& ips) {
  std::vector<std::pair<size_t, std::string>> keys;
  for (const cni::IpAddr& a : ips) keys.emplace_back(a.is_v4() ? 0 : 1, nft::AddrKey(a));
  return keys;
}

// The chain comment starts "ips: a,b; " (the addresses DEL must unmap).
std::vector<std::pair<size_t, std::string>> AddrKeysOfComment(const std::string& comment) {
  std::vector<cni::IpAddr> ips;
  if (comment.rfind(kIpsPrefix, 0) == 0) {
    std::string list = comment.substr(std::string(kIpsPrefix).size());
    list = list.substr(0, list.find(';'));
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      if (auto a = cni::IpAddr::Parse(list.substr(start, end - start))) ips.push_back(*a);
      start = end + 1;
    }
  }
  return KeysOf(ips);
}

DispatchSpec MasqDispatch(const std::string& network) {
  const std::string h = NetworkHash(network);
  DispatchSpec s{nft::Family::kInet,
                 kNftTable,
                 NftBaseChainName(network),
                 nft::Hook{NF_INET_POST_ROUTING, kPrioritySrcnat, "nat"},
                 "net: " + StripQuotes(network),
                 {},
                 AddrKeysOfComment};
  nft::Rule v4, v6;
  v4.NfProto(true).SaddrVmap(true, "masq4-" + h);
  v6.NfProto(false).SaddrVmap(false, "masq6-" + h);
  s.maps.push_back({{"masq4-" + h, nft::kTypeIpv4Addr, 4, true}, v4, "pods' IPv4 sources"});
  s.maps.push_back({{"masq6-" + h, nft::kTypeIpv6Addr, 16, true}, v6, "pods' IPv6 sources"});
  return s;
}

}  // namespace

std::string NftChainPrefix(const std::string& network) {
  return "masq-" + NetworkHash(network) + "-";
}

std::string NftChainName(const MasqTag& tag) {
  return NftChainPrefix(tag.network) + AttachmentHash(tag.ifname, tag.container_id);
}

std::string NftBaseChainName(const std::string& network) { return "masq-" + NetworkHash(network); }

std::string NftComment(const MasqTag& tag) {
  return "net: " + StripQuotes(tag.network) + ", if: " + StripQuotes(tag.ifname) +
         ", id: " + StripQuotes(tag.container_id);
}

cni::Status NftSetupMasq(nft::Socket& sock, const std::vector<cni::IpNet>& ips, const MasqTag& tag) {
  AttachmentRules a;
  a.chain = NftChainName(tag);
  std::string list;
  std::vector<cni::IpAddr> addrs;
  const std::string comment = NftComment(tag);
  for (const cni::IpNet& ip : ips) {
    const bool v4 = ip.addr.is_v4();
    nft::Rule r;
    r.NfProto(v4)
        .AddrEq(true, ip.addr)
        .AddrNotIn(false, ip.Masked())
        .AddrNotIn(false, *cni::IpNet::Parse(v4 ? "224.0.0.0/4" : "ff00::/8"))
        .Masquerade();
    a.rules.emplace_back(std::move(r), comment);
    list += (list.empty() ? "" : ",") + ip.addr.ToString();
    addrs.push_back(ip.addr);
  }
  a.comment = kIpsPrefix + list + "; " + comment;
  a.keys = KeysOf(addrs);
  auto s = SetUpAttachment(sock, MasqDispatch(tag.network), a);
  if (!s) return s.error().Context("failed to set up masquerade for " + comment);
  return cni::OkStatus();
}

cni::Status NftTeardownMasq(nft::Socket& sock, const MasqTag& tag) {
  auto s = TearDownAttachment(sock, MasqDispatch(tag.network), NftChainName(tag));
  if (!s) return s.error().Context("failed to remove masquerade for " + NftComment(tag));
  return cni::OkStatus();
}

cni::Status NftCheckMasq(nft::Socket& sock, const std::vector<cni::IpAddr>& ips,
                         const MasqTag& tag) {
  auto s = CheckAttachment(sock, MasqDispatch(tag.network), NftChainName(tag), KeysOf(ips));
  if (!s) return s.error().Context("masquerade rules for " + NftComment(tag));
  return cni::OkStatus();
}

cni::Status NftGcMasq(nft::Socket& sock, const std::string& network, const Attachments& valid) {
  std::set<std::string> keep;
  for (const auto& [id, ifname] : valid) keep.insert(NftChainName({network, ifname, id}));
  if (auto s = GcAttachments(sock, MasqDispatch(network), NftChainPrefix(network), keep); !s) {
    return s.error().Context("masquerade GC");
  }
  return cni::OkStatus();
}

}  // namespace bridge
