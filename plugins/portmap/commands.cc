// portmap's verbs. ADD checks each element it needs (absent: added exclusively;
// ours from an earlier ADD: replaced; another attachment's: refused, code 7, with
// the owner named), deletes this attachment's elements it no longer asks for, then
// commits the elements, with the layout when it is not in place, as one transaction.
// DEL, GC and CHECK read the elements back and go by their owner comment. UDP
// conntrack entries of a mapping are deleted after ADD and after DEL, so a client
// that kept sending is steered by the rules as they are now.
#include "plugins/portmap/commands.h"

#include <linux/rtnetlink.h>

#include <map>
#include <set>

#include "libcni/attachments.h"
#include "libcni/netlink/conntrack.h"
#include "libcni/netlink/handle.h"
#include "libcni/netlink/nftables.h"
#include "plugins/portmap/config.h"
#include "plugins/portmap/layout.h"

namespace portmap {
namespace {

namespace nft = cni::nft;
using cni::Code;
using cni::Error;

struct Found {
  std::string set;
  nft::Elem elem;
};

// Every element of the table whose owner comment `pick` accepts. A missing table is empty.
cni::Result<std::vector<Found>> ElemsWhere(nft::Socket& sock,
                                           const std::function<bool(const std::string&)>& pick) {
  std::vector<Found> out;
  for (const std::string& set : AllSets()) {
    auto elems = sock.ListElems(kFamily, kTable, set);
    if (!elems) {
      if (elems.error().IsNotFound()) continue;
      return elems.error();
    }
    for (nft::Elem& e : *elems) {
      if (pick(e.comment)) out.push_back({set, std::move(e)});
    }
  }
  return out;
}

// UDP conntrack entries of these mapping elements, deleted.
cni::Status FlushUdp(const std::vector<Found>& elems) {
  for (const Found& f : elems) {
    auto m = UdpMatchOf(f.set, f.elem.key);
    if (!m) continue;
    if (auto r = cni::ct::DeleteEntries(*m); !r) return r.error().Context("portmap");
  }
  return cni::OkStatus();
}

cni::Status DeleteFound(nft::Socket& sock, const std::vector<Found>& found, std::string_view what) {
  if (found.empty()) return cni::OkStatus();
  std::map<std::string, std::vector<std::string>> keys;
  for (const Found& f : found) keys[f.set].push_back(f.elem.key);
  nft::Batch b;
  for (const auto& [set, k] : keys) b.DeleteElems(kFamily, kTable, set, k);
  if (auto s = sock.Commit(b, what); !s) return s;
  return FlushUdp(found);
}

// The interface of the main table's most specific on-link route (no gateway) to
// `addr`: the link the pod sits behind. "" when none.
cni::Result<std::string> LinkToward(cni::nl::Handle& nl, const cni::IpAddr& addr) {
  auto routes = nl.ListRoutes(addr.family());
  if (!routes) return routes.error();
  const cni::nl::RouteInfo* best = nullptr;
  for (const cni::nl::RouteInfo& r : *routes) {
    if (r.gw || r.oif == 0 || r.type != RTN_UNICAST || !r.dst.Contains(addr)) continue;
    if (!best || r.dst.prefix > best->dst.prefix) best = &r;
  }
  if (!best) return std::string();
  auto link = nl.LinkByIndex(best->oif);
  if (!link) return link.error();
  return link->name;
}

// Looked up only when there is something to map (most pods have no host ports).
cni::Result<PodLinks> LinksOf(const PortmapConf& conf, const PodAddrs& pod) {
  PodLinks links;
  if (conf.mappings.empty() || (!pod.v4 && !pod.v6)) return links;
  auto nl = cni::nl::Handle::Open();
  if (!nl) return nl.error();
  for (auto [addr, out] : {std::pair{&pod.v4, &links.v4}, std::pair{&pod.v6, &links.v6}}) {
    if (!*addr) continue;
    auto l = LinkToward(*nl, **addr);
    if (!l) return l.error().Context("portmap: route to the pod");
    *out = std::move(*l);
  }
  return links;
}

Error Taken(const Entry& e, const std::string& owner) {
  return Error(Code::kInvalidNetworkConfig,
               e.what + " is already mapped by attachment " + owner +
                   " (container ID/ifname); two pods cannot share a host port");
}

}  // namespace

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args) {
  auto conf = ParsePortmapConf(args.conf, true);
  if (!conf) return conf.error();
  auto pod = PodAddrsFromPrevResult(args.conf);
  if (!pod) return pod.error();
  auto prev = cni::ParseResult(*args.conf.prev_result, args.conf.cni_version);
  if (!prev) return prev.error();
  const std::string owner = Owner(args.container_id, args.ifname);
  auto links = LinksOf(*conf, *pod);
  if (!links) return links.error();
  auto entries = EntriesFor(*conf, *pod, *links, owner);
  if (!entries) return entries.error();

  auto sock = nft::Socket::Open();
  if (!sock) return sock.error();
  // A repeated ADD of this attachment keeps only the mappings it asks for now.
  auto mine = ElemsWhere(*sock, [&](const std::string& c) { return c == owner; });
  if (!mine) return mine.error();
  std::set<std::pair<std::string, std::string>> wanted;
  for (const Entry& e : *entries) wanted.insert({e.set, e.elem.key});
  std::vector<Found> dropped;
  for (Found& f : *mine) {
    if (!wanted.count({f.set, f.elem.key})) dropped.push_back(std::move(f));
  }
  // No mappings (most pods): nothing to program, and the table is left as it is.
  if (entries->empty() && dropped.empty()) return *prev;
  // The base chains are written only when they are not as this version writes
  // them (first ADD on the node, an upgrade, a hand edit): most ADDs change
  // elements only.
  auto rules = sock->ListRules(kFamily, kTable, "");
  if (!rules && !rules.error().IsNotFound()) return rules.error();
  nft::Batch b;
  if (!rules || !LayoutIsCurrent(*rules)) EnsureLayout(b);
  for (const Found& f : dropped) b.DeleteElems(kFamily, kTable, f.set, {f.elem.key});
  std::vector<Found> udp = dropped;
  for (const Entry& e : *entries) {
    auto have = sock->GetElem(kFamily, kTable, e.set, e.elem.key);
    if (have) {
      // The hairpin pair follows the pod address, whoever held it before.
      if (have->comment != owner && !IsHairpinSet(e.set)) {
        return Taken(e, have->comment);
      }
      b.DeleteElems(kFamily, kTable, e.set, {e.elem.key});
    } else if (!have.error().IsNotFound()) {
      return have.error();
    }
    b.AddElems(kFamily, kTable, e.set, {e.elem}, /*exclusive=*/true);
    udp.push_back({e.set, e.elem});
  }
  if (auto s = sock->Commit(b, "add port mappings"); !s) {
    if (s.error().IsExists()) {
      // Another ADD took a port between our look-up and our commit.
      for (const Entry& e : *entries) {
        auto have = sock->GetElem(kFamily, kTable, e.set, e.elem.key);
        if (have && have->comment != owner) return Taken(e, have->comment);
      }
    }
    return s.error();
  }
  if (auto s = FlushUdp(udp); !s) return s.error();
  return *prev;
}

cni::Status CmdDel(const cni::CmdArgs& args) {
  auto conf = ParsePortmapConf(args.conf, false);
  if (!conf) return conf.error();
  auto sock = nft::Socket::Open();
  if (!sock) return sock.error();
  const std::string owner = Owner(args.container_id, args.ifname);
  auto mine = ElemsWhere(*sock, [&](const std::string& c) { return c == owner; });
  if (!mine) return mine.error();
  return DeleteFound(*sock, *mine, "delete port mappings of " + owner);
}

cni::Status CmdCheck(const cni::CmdArgs& args) {
  auto conf = ParsePortmapConf(args.conf, true);
  if (!conf) return conf.error();
  auto pod = PodAddrsFromPrevResult(args.conf);
  if (!pod) return pod.error();
  const std::string owner = Owner(args.container_id, args.ifname);
  auto links = LinksOf(*conf, *pod);
  if (!links) return links.error();
  auto entries = EntriesFor(*conf, *pod, *links, owner);
  if (!entries) return entries.error();
  if (entries->empty()) return cni::OkStatus();
  auto sock = nft::Socket::Open();
  if (!sock) return sock.error();
  auto rules = sock->ListRules(kFamily, kTable, "");
  if (!rules || !LayoutIsCurrent(*rules)) {
    return Error(Code::kInternal, std::string("portmap: the chains of inet ") + kTable +
                                      " are missing or not as this version writes them");
  }
  for (const Entry& e : *entries) {
    auto have = sock->GetElem(kFamily, kTable, e.set, e.elem.key);
    if (!have) return Error(Code::kInternal, "portmap: " + e.what + " is not mapped");
    if (have->comment != owner) {
      return Error(Code::kInternal, "portmap: " + e.what + " is mapped by " + have->comment);
    }
    if (have->data != e.elem.data) {
      return Error(Code::kInternal, "portmap: " + e.what + " leads elsewhere than the pod");
    }
  }
  return cni::OkStatus();
}

cni::Status CmdGc(const cni::CmdArgs& args) {
  auto conf = ParsePortmapConf(args.conf, false);
  if (!conf) return conf.error();
  auto valid = cni::ValidAttachments(conf->net.raw);
  if (!valid) return valid.error();
  std::set<std::string> owners, any_ifname;
  for (const cni::Attachment& a : *valid) {
    if (a.ifname.empty()) any_ifname.insert(a.container_id + "/");
    owners.insert(Owner(a.container_id, a.ifname));
  }
  auto sock = nft::Socket::Open();
  if (!sock) return sock.error();
  auto stale = ElemsWhere(*sock, [&](const std::string& c) {
    if (owners.count(c)) return false;
    const auto slash = c.find('/');
    return slash == std::string::npos || !any_ifname.count(c.substr(0, slash + 1));
  });
  if (!stale) return stale.error();
  return DeleteFound(*sock, *stale, "delete stale port mappings");
}

cni::Status CmdStatus(const cni::CmdArgs& args) {
  auto conf = ParsePortmapConf(args.conf, false);
  if (!conf) return conf.error();
  auto sock = nft::Socket::Open();
  if (!sock) return sock.error().WithCode(Code::kNotAvailable);
  // Any answer from nf_tables, "no such table" included, means ADD can program it.
  if (auto s = sock->GetTable(kFamily, kTable); !s && !s.error().IsNotFound()) {
    return Error(Code::kNotAvailable, "portmap: nftables is not usable: " + s.error().msg());
  }
  return cni::OkStatus();
}

cni::PluginFuncs Funcs() {
  return cni::PluginFuncs{
      .add = CmdAdd, .del = CmdDel, .check = CmdCheck, .status = CmdStatus, .gc = CmdGc};
}

}  // namespace portmap
