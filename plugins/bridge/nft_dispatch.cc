#include "plugins/bridge/nft_dispatch.h"

#include <map>

#include "plugins/bridge/hash.h"

namespace bridge {

namespace nft = cni::nft;

std::string NetworkHash(const std::string& network) { return Sha512Hex(network).substr(0, 16); }

std::string AttachmentHash(const std::string& ifname, const std::string& container_id) {
  return Sha512Hex(ifname + ":" + container_id).substr(0, 16);
}

namespace {

// The table, the network's base chain, its maps and the rules that consult them.
// Exclusive maps: of two ADDs that race to create them, one commits and the other
// gets EEXIST and finds them in place.
cni::Status CreateBase(nft::Socket& sock, const DispatchSpec& spec) {
  nft::Batch b;
  b.AddTable(spec.family, spec.table);
  b.AddChain(spec.family, spec.table, spec.base_chain, spec.hook, spec.chain_comment);
  for (const DispatchMap& m : spec.maps) b.AddSet(spec.family, spec.table, m.set, true);
  for (const DispatchMap& m : spec.maps) {
    b.AddRule(spec.family, spec.table, spec.base_chain, m.base_rule, m.base_comment);
  }
  auto s = sock.Commit(b, "set up " + spec.base_chain);
  if (!s && !s.error().IsExists()) return s;
  return cni::OkStatus();
}

void AddAttachment(nft::Batch& b, const DispatchSpec& spec, const AttachmentRules& a) {
  b.AddChain(spec.family, spec.table, a.chain, std::nullopt, a.comment, true);
  for (const auto& [rule, comment] : a.rules) b.AddRule(spec.family, spec.table, a.chain, rule, comment);
  std::map<size_t, std::vector<nft::Elem>> by_map;
  for (const auto& [m, key] : a.keys) by_map[m].push_back({key, a.chain, ""});
  for (const auto& [m, elems] : by_map) {
    b.AddElems(spec.family, spec.table, spec.maps[m].set.name, elems);
  }
}

// Elements among `keys` that exist and jump to `chain` (or, with `any_owner`, to
// any chain: an address the IPAM gave us is ours now, whoever had it before).
cni::Result<std::vector<std::pair<size_t, std::string>>> Mapped(
    nft::Socket& sock, const DispatchSpec& spec, const std::string& chain,
    const std::vector<std::pair<size_t, std::string>>& keys, bool any_owner) {
  std::vector<std::pair<size_t, std::string>> out;
  for (const auto& [m, key] : keys) {
    auto e = sock.GetElem(spec.family, spec.table, spec.maps[m].set.name, key);
    if (!e) {
      if (e.error().IsNotFound()) continue;
      return e.error();
    }
    if (any_owner || e->jump_chain == chain) out.emplace_back(m, key);
  }
  return out;
}

void DeleteMapped(nft::Batch& b, const DispatchSpec& spec,
                  const std::vector<std::pair<size_t, std::string>>& keys) {
  std::map<size_t, std::vector<std::string>> by_map;
  for (const auto& [m, key] : keys) by_map[m].push_back(key);
  for (const auto& [m, ks] : by_map) b.DeleteElems(spec.family, spec.table, spec.maps[m].set.name, ks);
}

// Elements of every map that jump to one of `chains` (a listing: GC, and DEL's
// fallback when the chain's comment did not name them all).
cni::Result<std::vector<std::pair<size_t, std::string>>> ElemsJumpingTo(
    nft::Socket& sock, const DispatchSpec& spec, const std::set<std::string>& chains) {
  std::vector<std::pair<size_t, std::string>> out;
  for (size_t m = 0; m < spec.maps.size(); ++m) {
    auto elems = sock.ListElems(spec.family, spec.table, spec.maps[m].set.name);
    if (!elems) {
      if (elems.error().IsNotFound()) continue;
      return elems.error();
    }
    for (const nft::Elem& e : *elems) {
      if (chains.count(e.jump_chain)) out.emplace_back(m, e.key);
    }
  }
  return out;
}

}  // namespace

cni::Status SetUpAttachment(nft::Socket& sock, const DispatchSpec& spec, const AttachmentRules& a) {
  // The common case is one transaction: the base exists and this attachment is new.
  nft::Batch b;
  AddAttachment(b, spec, a);
  auto s = sock.Commit(b, "add " + a.chain);
  if (s) return s;
  if (s.error().IsNotFound()) {
    // First attachment of the network in this namespace.
    if (auto c = CreateBase(sock, spec); !c) return c;
    s = sock.Commit(b, "add " + a.chain);
    if (s || !s.error().IsExists()) return s;
  } else if (!s.error().IsExists()) {
    return s;
  }
  // The chain is there already (a repeated ADD), or one of our keys still jumps to
  // another attachment's chain (its DEL never came; the key is ours now). Replace.
  std::vector<std::pair<size_t, std::string>> keys = a.keys;
  auto old = sock.GetChain(spec.family, spec.table, a.chain);
  const bool had_chain = old.ok();
  if (!old && !old.error().IsNotFound()) return old.error();
  if (had_chain) {
    for (auto& k : spec.keys_of_comment(old->comment)) keys.push_back(k);
  }
  auto ours = Mapped(sock, spec, a.chain, keys, false);
  if (!ours) return ours.error();
  auto taken = Mapped(sock, spec, a.chain, a.keys, true);
  if (!taken) return taken.error();
  std::set<std::pair<size_t, std::string>> remove(ours->begin(), ours->end());
  remove.insert(taken->begin(), taken->end());
  nft::Batch r;
  DeleteMapped(r, spec, {remove.begin(), remove.end()});
  if (had_chain) {
    r.FlushChain(spec.family, spec.table, a.chain);
    r.DeleteChain(spec.family, spec.table, a.chain);
  }
  AddAttachment(r, spec, a);
  auto replaced = sock.Commit(r, "replace " + a.chain);
  if (replaced || !replaced.error().IsNotFound()) return replaced;
  // The chain was there but the network's maps were not (removed by hand).
  if (auto c = CreateBase(sock, spec); !c) return c;
  return sock.Commit(r, "replace " + a.chain);
}

cni::Status TearDownAttachment(nft::Socket& sock, const DispatchSpec& spec,
                               const std::string& chain) {
  auto c = sock.GetChain(spec.family, spec.table, chain);
  if (!c) return c.error().IsNotFound() ? cni::OkStatus() : cni::Status(c.error());
  auto ours = Mapped(sock, spec, chain, spec.keys_of_comment(c->comment), false);
  if (!ours) return ours.error();
  nft::Batch b;
  DeleteMapped(b, spec, *ours);
  b.FlushChain(spec.family, spec.table, chain);
  b.DeleteChain(spec.family, spec.table, chain);
  auto s = sock.Commit(b, "delete " + chain);
  if (s || s.error().code() != cni::Code::kTryAgainLater) return s;
  // EBUSY: an element the comment does not name still jumps here (a truncated
  // comment, or one written by hand). Find them all.
  auto all = ElemsJumpingTo(sock, spec, {chain});
  if (!all) return all.error();
  nft::Batch again;
  DeleteMapped(again, spec, *all);
  again.FlushChain(spec.family, spec.table, chain);
  again.DeleteChain(spec.family, spec.table, chain);
  return sock.Commit(again, "delete " + chain);
}

cni::Status CheckAttachment(nft::Socket& sock, const DispatchSpec& spec, const std::string& chain,
                            const std::vector<std::pair<size_t, std::string>>& keys) {
  auto base = sock.GetChain(spec.family, spec.table, spec.base_chain);
  if (!base || !base->base) {
    return cni::Error(cni::Code::kInternal, "base chain " + spec.base_chain + " is missing");
  }
  auto rules = sock.ListRules(spec.family, spec.table, spec.base_chain);
  if (!rules) return rules.error();
  for (const DispatchMap& m : spec.maps) {
    bool found = false;
    for (const nft::RuleInfo& r : *rules) found = found || r.comment == m.base_comment;
    if (!found) {
      return cni::Error(cni::Code::kInternal, "rule \"" + m.base_comment + "\" is missing from " +
                                                  spec.base_chain);
    }
  }
  auto own = sock.ListRules(spec.family, spec.table, chain);
  if (!own) return own.error();
  if (own->empty()) {
    return cni::Error(cni::Code::kInternal, "chain " + chain + " is missing or empty");
  }
  for (const auto& [m, key] : keys) {
    auto e = sock.GetElem(spec.family, spec.table, spec.maps[m].set.name, key);
    if (!e || e->jump_chain != chain) {
      return cni::Error(cni::Code::kInternal,
                        "map " + spec.maps[m].set.name + " does not send this attachment to " + chain);
    }
  }
  return cni::OkStatus();
}

cni::Status GcAttachments(nft::Socket& sock, const DispatchSpec& spec, const std::string& prefix,
                          const std::set<std::string>& keep) {
  auto chains = sock.ListChains(spec.family, spec.table);
  if (!chains) return chains.error();
  std::set<std::string> gone;
  for (const nft::ChainInfo& c : *chains) {
    if (!c.base && c.name.rfind(prefix, 0) == 0 && !keep.count(c.name)) gone.insert(c.name);
  }
  if (gone.empty()) return cni::OkStatus();
  auto elems = ElemsJumpingTo(sock, spec, gone);
  if (!elems) return elems.error();
  nft::Batch b;
  DeleteMapped(b, spec, *elems);
  for (const std::string& c : gone) {
    b.FlushChain(spec.family, spec.table, c);
    b.DeleteChain(spec.family, spec.table, c);
  }
  return sock.Commit(b, "garbage-collect " + std::to_string(gone.size()) + " chains");
}

}  // namespace bridge
