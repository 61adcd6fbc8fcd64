#include "plugins/bridge/masq_nft.h"

#include <linux/netfilter.h>

#include <functional>
#include <map>
#include <set>

#include "plugins/bridge/hash.h"
#include "plugins/bridge/nft_dispatch.h"

namespace bridge {

namespace nft = cni::nft;

namespace {

constexpr int32_t kPrioritySrcnat = 100;  // NF_IP_PRI_NAT_SRC, nft's "srcnat"
constexpr const char* kIpsPrefix = "ips: ";
// An attachment has at most this many addresses per family; more is refused.
constexpr uint16_t kMaxAddrsPerFamily = 64;

std::string StripQuotes(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != '"' && c != '\\') out += c;
  }
  return out;
}

int Fam(const cni::IpAddr& a) { return a.is_v4() ? 0 : 1; }

// Object names of a network; index 0 is IPv4, 1 IPv6.
struct Names {
  std::string h;
  std::string base;
  std::string att[2];  // owner . n -> address . subnet's first . last
  // pod address -> owner, for the pods of one subnet
  std::string Pods(const cni::IpNet& subnet) const {
    return std::string(subnet.addr.is_v4() ? "pods4-" : "pods6-") + h + "-" +
           Sha512Hex(subnet.ToString()).substr(0, 12);
  }
};

Names NamesOf(const std::string& network) {
  const std::string h = NetworkHash(network);
  return {h, "masq-" + h, {"att4-" + h, "att6-" + h}};
}

std::string SubnetComment(const cni::IpNet& subnet) { return "pods of " + subnet.ToString(); }

// The owner key of an attachment: 15 hex digits of its hash, which fits an
// ifname-typed key (15 characters and a NUL), so nft lists it as a string.
std::string Owner(const MasqTag& tag) {
  return nft::IfnameKey(AttachmentHash(tag.ifname, tag.container_id).substr(0, 15));
}

// One pod address and the subnet it may reach without masquerade.
struct Record {
  cni::IpAddr addr;
  cni::IpNet subnet;
  uint16_t n = 0;  // its number among the attachment's addresses of its family
};

// The prefix whose first and last addresses these are.
cni::IpNet SubnetOf(const cni::IpAddr& first, const cni::IpAddr& last) {
  unsigned __int128 span = last.ToNumber() - first.ToNumber();
  int host_bits = 0;
  while (span != 0) {
    ++host_bits;
    span >>= 1;
  }
  return {first, first.bits() - host_bits};
}

nft::Elem PodElem(const Record& r, const std::string& owner, const std::string& comment) {
  return {nft::AddrKey(r.addr), "", comment, owner};
}
std::string AttKey(const std::string& owner, uint16_t n) {
  return nft::ConcatKey({owner, nft::PortKey(n)});
}
nft::Elem AttElem(const Record& r, const std::string& owner) {
  return {AttKey(owner, r.n), "", "",
          nft::ConcatKey({nft::AddrKey(r.addr), nft::AddrKey(r.subnet.Network()),
                          nft::AddrKey(r.subnet.Broadcast())})};
}

cni::Result<std::vector<Record>> RecordsOf(const std::vector<cni::IpNet>& ips) {
  std::vector<Record> out;
  uint16_t count[2] = {0, 0};
  for (const cni::IpNet& ip : ips) {
    const int f = Fam(ip.addr);
    if (count[f] == kMaxAddrsPerFamily) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "more than " + std::to_string(kMaxAddrsPerFamily) +
                            " addresses of one family for one attachment");
    }
    out.push_back({ip.addr, ip.Masked(), count[f]++});
  }
  return out;
}

// The attachment's records as the att maps hold them: one GET per address and
// one that finds nothing, whatever the pod count.
cni::Result<std::vector<Record>> ReadRecords(nft::Socket& sock, const Names& n,
                                             const std::string& owner) {
  std::vector<Record> out;
  for (int f = 0; f < 2; ++f) {
    const int len = f == 0 ? 4 : 16;
    const cni::Family fam = f == 0 ? cni::Family::kV4 : cni::Family::kV6;
    for (uint16_t i = 0; i < kMaxAddrsPerFamily; ++i) {
      auto e = sock.GetElem(nft::Family::kInet, kNftTable, n.att[f], AttKey(owner, i));
      if (!e) {
        if (e.error().IsNotFound()) break;
        return e.error();
      }
      if (e->data.size() != static_cast<size_t>(3 * len)) break;  // not ours to parse
      auto at = [&](int k) {
        return cni::IpAddr::FromBytes(fam, reinterpret_cast<const uint8_t*>(e->data.data()) + k * len);
      };
      out.push_back({at(0), SubnetOf(at(1), at(2)), i});
    }
  }
  return out;
}

// Whether the pod-address element of `r` names `owner` (an address IPAM handed to a
// newer attachment is that attachment's now).
cni::Result<bool> Owns(nft::Socket& sock, const Names& n, const Record& r,
                       const std::string& owner) {
  auto e = sock.GetElem(nft::Family::kInet, kNftTable, n.Pods(r.subnet), nft::AddrKey(r.addr));
  if (!e) {
    if (e.error().IsNotFound()) return false;
    return e.error();
  }
  return e->data == owner;
}

// Deletions grouped per set, so that one batch holds one command per set.
struct Removal {
  std::map<std::string, std::vector<nft::Elem>> by_set;
  std::set<std::pair<std::string, std::string>> seen;  // (set, key) already listed
  void Add(const std::string& set, const nft::Elem& e) {
    if (seen.insert({set, e.key}).second) by_set[set].push_back(e);
  }
  void Into(nft::Batch& b) const {
    for (const auto& [set, elems] : by_set) b.DeleteElems(nft::Family::kInet, kNftTable, set, elems);
  }
  bool empty() const { return by_set.empty(); }
};

// Removes `recs` of `owner`: the record always, the address only while `owner`
// still holds it.
cni::Status Forget(nft::Socket& sock, const Names& n, const std::string& owner,
                   const std::vector<Record>& recs, Removal& out) {
  for (const Record& r : recs) {
    out.Add(n.att[Fam(r.addr)], AttElem(r, owner));
    auto owns = Owns(sock, n, r, owner);
    if (!owns) return owns.error();
    if (*owns) {
      out.Add(n.Pods(r.subnet), PodElem(r, owner, ""));
    }
  }
  return cni::OkStatus();
}

// Commits `r` and, in the same transaction, what `then` adds; when an element it
// deletes is gone already (removed by hand), deletes only what is still there.
cni::Status CommitRemoval(nft::Socket& sock, const Removal& r,
                          const std::function<void(nft::Batch&)>& then, const std::string& what) {
  auto build = [&](const Removal& rm) {
    nft::Batch b;
    rm.Into(b);
    if (then) then(b);
    return b;
  };
  nft::Batch first = build(r);
  if (first.empty()) return cni::OkStatus();
  auto s = sock.Commit(first, what);
  if (s || !s.error().IsNotFound() || r.empty()) return s;
  Removal present;
  for (const auto& [set, elems] : r.by_set) {
    for (const nft::Elem& e : elems) {
      auto got = sock.GetElem(nft::Family::kInet, kNftTable, set, e.key);
      if (got) {
        present.Add(set, e);
      } else if (!got.error().IsNotFound()) {
        return got.error();
      }
    }
  }
  nft::Batch second = build(present);
  if (second.empty()) return cni::OkStatus();
  return sock.Commit(second, what);
}

// The table, the network's base chain and its record maps. Exclusive maps: of
// two ADDs that race to create them, one commits and the other gets EEXIST and
// finds them in place. A node that ran an older linen keeps its base chain (and
// the older rules, until GC finds no attachment using them).
cni::Status CreateBase(nft::Socket& sock, const Names& n, const std::string& network) {
  const nft::Family inet = nft::Family::kInet;
  nft::Batch b;
  b.AddTable(inet, kNftTable);
  b.AddChain(inet, kNftTable, n.base, nft::Hook{NF_INET_POST_ROUTING, kPrioritySrcnat, "nat"},
             "net: " + StripQuotes(network));
  for (int f = 0; f < 2; ++f) {
    const uint32_t type = f == 0 ? nft::kTypeIpv4Addr : nft::kTypeIpv6Addr;
    const uint32_t len = f == 0 ? 4 : 16;
    b.AddSet(inet, kNftTable,
             {n.att[f], nft::ConcatType({nft::kTypeIfname, nft::kTypeInetService}),
              static_cast<uint32_t>(nft::kIfnameLen) + 4, false,
              nft::ConcatType({type, type, type}), 3 * len},
             true);
  }
  auto s = sock.Commit(b, "set up " + n.base);
  if (!s && !s.error().IsExists()) return s;
  return cni::OkStatus();
}

// A subnet's pod map and its rule, appended to the base chain:
//   ip saddr @pods4-<h>-<s> ip daddr != <subnet> ip daddr != 224.0.0.0/4 masquerade
// The map is exclusive, so two racing ADDs cannot add the rule twice.
cni::Status CreateSubnet(nft::Socket& sock, const Names& n, const cni::IpNet& subnet) {
  const nft::Family inet = nft::Family::kInet;
  const bool v4 = subnet.addr.is_v4();
  nft::Batch b;
  b.AddSet(inet, kNftTable,
           {n.Pods(subnet), v4 ? nft::kTypeIpv4Addr : nft::kTypeIpv6Addr, v4 ? 4u : 16u, false,
            nft::kTypeIfname, nft::kIfnameLen},
           true);
  nft::Rule r;
  r.NfProto(v4)
      .InSet({v4 ? nft::Field::kSaddr4 : nft::Field::kSaddr6}, n.Pods(subnet))
      .AddrNotIn(false, subnet)
      .AddrNotIn(false, *cni::IpNet::Parse(v4 ? "224.0.0.0/4" : "ff00::/8"))
      .Masquerade();
  b.AddRule(inet, kNftTable, n.base, r, SubnetComment(subnet));
  auto s = sock.Commit(b, "set up masquerade of " + subnet.ToString());
  if (!s && !s.error().IsExists()) return s;
  return cni::OkStatus();
}

// ---- the layout of linen before 2026-12 (a chain per attachment, entered by a
// `jump` from a verdict map), kept only to remove what such a linen left behind.

// The chain comment starts "ips: a,b; " (the addresses DEL must unmap).
std::vector<std::pair<size_t, std::string>> AddrKeysOfComment(const std::string& comment) {
  std::vector<std::pair<size_t, std::string>> keys;
  if (comment.rfind(kIpsPrefix, 0) != 0) return keys;
  std::string list = comment.substr(std::string(kIpsPrefix).size());
  list = list.substr(0, list.find(';'));
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    if (auto a = cni::IpAddr::Parse(list.substr(start, end - start))) {
      keys.emplace_back(a->is_v4() ? 0 : 1, nft::AddrKey(*a));
    }
    start = end + 1;
  }
  return keys;
}

LegacyDispatch LegacyMasq(const std::string& network) {
  const std::string h = NetworkHash(network);
  return {nft::Family::kInet, kNftTable, {"masq4-" + h, "masq6-" + h}, AddrKeysOfComment,
          "masq-" + h, {"pods' IPv4 sources", "pods' IPv6 sources"}};
}

std::string LegacyChainPrefix(const std::string& network) {
  return "masq-" + NetworkHash(network) + "-";
}

}  // namespace

std::string NftBaseChainName(const std::string& network) { return NamesOf(network).base; }

std::string NftComment(const MasqTag& tag) {
  return "net: " + StripQuotes(tag.network) + ", if: " + StripQuotes(tag.ifname) +
         ", id: " + StripQuotes(tag.container_id);
}

std::string NftOwnerKey(const MasqTag& tag) {
  std::string o = Owner(tag);
  return o.substr(0, o.find('\0'));
}

std::string NftLegacyChainName(const MasqTag& tag) {
  return LegacyChainPrefix(tag.network) + AttachmentHash(tag.ifname, tag.container_id);
}

cni::Status NftSetupMasq(nft::Socket& sock, const std::vector<cni::IpNet>& ips, const MasqTag& tag) {
  const Names n = NamesOf(tag.network);
  const std::string owner = Owner(tag);
  const std::string comment = NftComment(tag);
  auto fail = [&](const cni::Error& e) {
    return e.Context("failed to set up masquerade for " + comment);
  };
  auto recs = RecordsOf(ips);
  if (!recs) return fail(recs.error());
  // The elements to add, as a step of a larger transaction.
  auto add_all = [&](nft::Batch& b) {
    std::map<std::string, std::vector<nft::Elem>> by_set;
    for (const Record& r : *recs) {
      by_set[n.Pods(r.subnet)].push_back(PodElem(r, owner, comment));
      by_set[n.att[Fam(r.addr)]].push_back(AttElem(r, owner));
    }
    for (const auto& [set, elems] : by_set) b.AddElems(nft::Family::kInet, kNftTable, set, elems);
  };
  // The common case is one transaction: the sets exist and the address is free.
  nft::Batch add;
  add_all(add);
  if (add.empty()) return cni::OkStatus();
  auto s = sock.Commit(add, "add masquerade of " + NftOwnerKey(tag));
  if (s) return s;
  if (s.error().IsNotFound()) {
    // First attachment of the network (or of one of its subnets) in this namespace.
    if (auto c = CreateBase(sock, n, tag.network); !c) return fail(c.error());
    std::set<cni::IpNet> subnets;
    for (const Record& r : *recs) subnets.insert(r.subnet);
    for (const cni::IpNet& sn : subnets) {
      if (auto c = CreateSubnet(sock, n, sn); !c) return fail(c.error());
    }
    s = sock.Commit(add, "add masquerade of " + NftOwnerKey(tag));
    if (s) return s;
  }
  if (!s.error().IsExists()) return fail(s.error());
  // A repeated ADD with other addresses, or an address whose previous holder's DEL
  // never came (IPAM gave it to us, so it is ours now): remove both, then add.
  Removal rm;
  auto old = ReadRecords(sock, n, owner);
  if (!old) return fail(old.error());
  if (auto f = Forget(sock, n, owner, *old, rm); !f) return fail(f.error());
  for (const Record& r : *recs) {
    auto e = sock.GetElem(nft::Family::kInet, kNftTable, n.Pods(r.subnet), nft::AddrKey(r.addr));
    if (!e) {
      if (e.error().IsNotFound()) continue;
      return fail(e.error());
    }
    if (e->data == owner) continue;
    auto theirs = ReadRecords(sock, n, e->data);
    if (!theirs) return fail(theirs.error());
    std::vector<Record> same;
    for (const Record& t : *theirs) {
      if (t.addr == r.addr) same.push_back(t);
    }
    if (auto f = Forget(sock, n, e->data, same, rm); !f) return fail(f.error());
    rm.Add(n.Pods(r.subnet), PodElem(r, e->data, ""));  // even without their record
  }
  if (auto c = CommitRemoval(sock, rm, add_all, "replace masquerade of " + NftOwnerKey(tag)); !c) {
    return fail(c.error());
  }
  return cni::OkStatus();
}

cni::Status NftTeardownMasq(nft::Socket& sock, const MasqTag& tag) {
  const Names n = NamesOf(tag.network);
  const std::string owner = Owner(tag);
  auto fail = [&](const cni::Error& e) {
    return e.Context("failed to remove masquerade for " + NftComment(tag));
  };
  auto recs = ReadRecords(sock, n, owner);
  if (!recs) return fail(recs.error());
  Removal rm;
  if (auto f = Forget(sock, n, owner, *recs, rm); !f) return fail(f.error());
  if (auto c = CommitRemoval(sock, rm, {}, "delete masquerade of " + NftOwnerKey(tag)); !c) {
    return fail(c.error());
  }
  // What an older linen made for this attachment (one GET when there is none).
  if (auto l = LegacyTearDown(sock, LegacyMasq(tag.network), NftLegacyChainName(tag)); !l) {
    return fail(l.error());
  }
  return cni::OkStatus();
}

cni::Status NftCheckMasq(nft::Socket& sock, const std::vector<cni::IpAddr>& ips,
                         const MasqTag& tag) {
  const Names n = NamesOf(tag.network);
  const std::string owner = Owner(tag);
  auto drift = [&](const std::string& what) {
    return cni::Error(cni::Code::kInternal,
                      "masquerade rules for " + NftComment(tag) + ": " + what);
  };
  auto base = sock.GetChain(nft::Family::kInet, kNftTable, n.base);
  if (!base || !base->base) return drift("base chain " + n.base + " is missing");
  auto rules = sock.ListRules(nft::Family::kInet, kNftTable, n.base);
  if (!rules) return rules.error();
  auto recs = ReadRecords(sock, n, owner);
  if (!recs) return recs.error();
  for (const cni::IpAddr& a : ips) {
    const Record* rec = nullptr;
    for (const Record& r : *recs) {
      if (r.addr == a) rec = &r;
    }
    if (rec == nullptr) return drift("no record of " + a.ToString() + " in " + n.att[Fam(a)]);
    auto owns = Owns(sock, n, *rec, owner);
    if (!owns) return owns.error();
    if (!*owns) return drift(a.ToString() + " is not this attachment's in " + n.Pods(rec->subnet));
    const std::string want = SubnetComment(rec->subnet);
    bool found = false;
    for (const nft::RuleInfo& r : *rules) found = found || r.comment == want;
    if (!found) return drift("rule \"" + want + "\" is missing from " + n.base);
  }
  return cni::OkStatus();
}

cni::Status NftGcMasq(nft::Socket& sock, const std::string& network, const Attachments& valid) {
  const Names n = NamesOf(network);
  auto fail = [](const cni::Error& e) { return e.Context("masquerade GC"); };
  std::set<std::string> keep, keep_legacy;
  for (const auto& [id, ifname] : valid) {
    keep.insert(Owner({network, ifname, id}));
    keep_legacy.insert(NftLegacyChainName({network, ifname, id}));
  }
  // One listing of each record map; the attachments not kept are forgotten.
  std::map<std::string, std::vector<Record>> gone;
  for (int f = 0; f < 2; ++f) {
    auto elems = sock.ListElems(nft::Family::kInet, kNftTable, n.att[f]);
    if (!elems) {
      if (elems.error().IsNotFound()) continue;
      return fail(elems.error());
    }
    const size_t len = f == 0 ? 4 : 16;
    const cni::Family fam = f == 0 ? cni::Family::kV4 : cni::Family::kV6;
    for (const nft::Elem& e : *elems) {
      if (e.key.size() != nft::kIfnameLen + 4 || e.data.size() != 3 * len) continue;
      const std::string owner = e.key.substr(0, nft::kIfnameLen);
      if (keep.count(owner)) continue;
      auto at = [&](size_t k) {
        return cni::IpAddr::FromBytes(fam, reinterpret_cast<const uint8_t*>(e.data.data()) + k * len);
      };
      const auto* idx = reinterpret_cast<const uint8_t*>(e.key.data()) + nft::kIfnameLen;
      gone[owner].push_back(
          {at(0), SubnetOf(at(1), at(2)), static_cast<uint16_t>(idx[0] << 8 | idx[1])});
    }
  }
  Removal rm;
  for (const auto& [owner, recs] : gone) {
    if (auto f = Forget(sock, n, owner, recs, rm); !f) return fail(f.error());
  }
  if (auto c = CommitRemoval(sock, rm, {},
                             "garbage-collect " + std::to_string(gone.size()) + " attachments");
      !c) {
    return fail(c.error());
  }
  if (auto l = LegacyGc(sock, LegacyMasq(network), LegacyChainPrefix(network), keep_legacy); !l) {
    return fail(l.error());
  }
  return cni::OkStatus();
}

}  // namespace bridge
