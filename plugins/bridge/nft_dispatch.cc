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

using Keys = std::vector<std::pair<size_t, std::string>>;

// Elements among `keys` that exist and jump to `chain` (an address handed to
// another pod stays theirs).
cni::Result<Keys> Mapped(nft::Socket& sock, const LegacyDispatch& spec, const std::string& chain,
                         const Keys& keys) {
  Keys out;
  for (const auto& [m, key] : keys) {
    auto e = sock.GetElem(spec.family, spec.table, spec.maps[m], key);
    if (!e) {
      if (e.error().IsNotFound()) continue;
      return e.error();
    }
    if (e->jump_chain == chain) out.emplace_back(m, key);
  }
  return out;
}

void DeleteMapped(nft::Batch& b, const LegacyDispatch& spec, const Keys& keys) {
  std::map<size_t, std::vector<std::string>> by_map;
  for (const auto& [m, key] : keys) by_map[m].push_back(key);
  for (const auto& [m, ks] : by_map) b.DeleteElems(spec.family, spec.table, spec.maps[m], ks);
}

// Elements of every map that jump to one of `chains`; `present` gets the maps found.
cni::Result<Keys> ElemsJumpingTo(nft::Socket& sock, const LegacyDispatch& spec,
                                 const std::set<std::string>& chains,
                                 std::vector<size_t>* present = nullptr) {
  Keys out;
  for (size_t m = 0; m < spec.maps.size(); ++m) {
    auto elems = sock.ListElems(spec.family, spec.table, spec.maps[m]);
    if (!elems) {
      if (elems.error().IsNotFound()) continue;
      return elems.error();
    }
    if (present) present->push_back(m);
    for (const nft::Elem& e : *elems) {
      if (chains.count(e.jump_chain)) out.emplace_back(m, e.key);
    }
  }
  return out;
}

void DeleteChain(nft::Batch& b, const LegacyDispatch& spec, const std::string& chain) {
  b.FlushChain(spec.family, spec.table, chain);
  b.DeleteChain(spec.family, spec.table, chain);
}

}  // namespace

cni::Status LegacyTearDown(nft::Socket& sock, const LegacyDispatch& spec, const std::string& chain) {
  auto c = sock.GetChain(spec.family, spec.table, chain);
  if (!c) return c.error().IsNotFound() ? cni::OkStatus() : cni::Status(c.error());
  auto ours = Mapped(sock, spec, chain, spec.keys_of_comment(c->comment));
  if (!ours) return ours.error();
  nft::Batch b;
  DeleteMapped(b, spec, *ours);
  DeleteChain(b, spec, chain);
  auto s = sock.Commit(b, "delete " + chain);
  if (s || s.error().code() != cni::Code::kTryAgainLater) return s;
  // EBUSY: an element the comment does not name still jumps here (a truncated
  // comment, or one written by hand). Find them all.
  auto all = ElemsJumpingTo(sock, spec, {chain});
  if (!all) return all.error();
  nft::Batch again;
  DeleteMapped(again, spec, *all);
  DeleteChain(again, spec, chain);
  return sock.Commit(again, "delete " + chain);
}

cni::Status LegacyGc(nft::Socket& sock, const LegacyDispatch& spec, const std::string& prefix,
                     const std::set<std::string>& keep) {
  auto chains = sock.ListChains(spec.family, spec.table);
  if (!chains) return chains.error();
  std::set<std::string> gone;
  bool kept = false;
  for (const nft::ChainInfo& c : *chains) {
    if (c.base || c.name.rfind(prefix, 0) != 0) continue;
    if (keep.count(c.name)) {
      kept = true;
    } else {
      gone.insert(c.name);
    }
  }
  std::vector<size_t> maps;
  auto elems = ElemsJumpingTo(sock, spec, gone, &maps);
  if (!elems) return elems.error();
  nft::Batch b;
  DeleteMapped(b, spec, *elems);
  for (const std::string& c : gone) DeleteChain(b, spec, c);
  if (!kept && !maps.empty()) {
    // No attachment of the old layout is left: its dispatch rules and maps go too.
    auto rules = sock.ListRules(spec.family, spec.table, spec.base_chain);
    if (!rules && !rules.error().IsNotFound()) return rules.error();
    if (rules) {
      for (const nft::RuleInfo& r : *rules) {
        for (const std::string& want : spec.base_comments) {
          if (r.comment == want) b.DeleteRule(spec.family, spec.table, spec.base_chain, r.handle);
        }
      }
    }
    for (size_t m : maps) b.DeleteSet(spec.family, spec.table, spec.maps[m]);
  }
  if (b.empty()) return cni::OkStatus();
  return sock.Commit(b, "garbage-collect " + std::to_string(gone.size()) + " chains of the old layout");
}

}  // namespace bridge
