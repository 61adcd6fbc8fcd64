#include "overlay/backend/sync.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

namespace linen::overlay {
namespace {

using cni::nl::FdbInfo;
using cni::nl::NeighInfo;
using cni::nl::RouteInfo;

constexpr uint16_t kNudPermanent = 0x80;

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// The fields that make two of our routes equivalent; scope/type/table are implied
// by how we build them and the kernel may report them differently.
bool SameRoute(const RouteInfo& a, const RouteInfo& b) {
  return a.gw == b.gw && a.oif == b.oif && a.onlink == b.onlink && a.priority == b.priority;
}

bool Owned(const RouteInfo& r, const cni::IpNet& cluster) {
  return r.protocol == cni::nl::kLinenRouteProtocol && r.table == cni::nl::kMainTable &&
         r.dst.family() == cluster.family() && r.dst.prefix >= cluster.prefix &&
         cluster.Contains(r.dst.addr);
}

struct Current {
  std::map<cni::IpNet, RouteInfo> routes;      // owned, by dst
  std::vector<RouteInfo> extra_routes;         // owned duplicates (other metric)
  std::map<cni::IpNet, RouteInfo> foreign;     // not ours, same table, by dst
  std::map<cni::IpAddr, NeighInfo> neighs;     // permanent, on the VTEP
  std::map<std::string, FdbInfo> fdbs;         // remote, on the VTEP, by MAC
  std::vector<FdbInfo> extra_fdbs;             // further dsts for one MAC
};

cni::Result<Current> ReadCurrent(cni::nl::Handle& h, const Scope& scope) {
  Current cur;
  auto routes = h.ListRoutes(scope.cluster.family(), cni::nl::kMainTable);
  if (!routes) return routes.error().Context("list routes");
  for (RouteInfo& r : *routes) {
    if (Owned(r, scope.cluster)) {
      auto [it, fresh] = cur.routes.emplace(r.dst, r);
      if (!fresh) cur.extra_routes.push_back(r);
    } else if (r.priority == 0) {
      cur.foreign.emplace(r.dst, r);
    }
  }
  if (scope.vtep_index == 0) return cur;
  auto neighs = h.ListNeighs(scope.vtep_index, scope.cluster.family());
  if (!neighs) return neighs.error().Context("list neighbours");
  for (NeighInfo& n : *neighs) {
    if (n.state & kNudPermanent) {
      n.lladdr = Lower(n.lladdr);
      cur.neighs.emplace(n.dst, n);
    }
  }
  auto fdbs = h.ListFdb(scope.vtep_index);
  if (!fdbs) return fdbs.error().Context("list fdb");
  for (FdbInfo& f : *fdbs) {
    f.lladdr = Lower(f.lladdr);
    // All-zero MACs are default (flood) destinations; we never program those.
    if (!f.dst || f.lladdr == "00:00:00:00:00:00") continue;
    auto [it, fresh] = cur.fdbs.emplace(f.lladdr, f);
    if (!fresh) cur.extra_fdbs.push_back(f);
  }
  return cur;
}

}  // namespace

std::string Describe(const RouteInfo& r) {
  std::string s = "route " + r.dst.ToString();
  if (r.gw) s += " via " + r.gw->ToString();
  if (r.oif) s += " dev #" + std::to_string(r.oif);
  if (r.onlink) s += " onlink";
  return s;
}
std::string Describe(const NeighInfo& n) {
  return "neighbour " + n.dst.ToString() + " lladdr " + n.lladdr;
}
std::string Describe(const FdbInfo& f) {
  return "fdb " + f.lladdr + " dst " + (f.dst ? f.dst->ToString() : std::string("-"));
}

cni::Result<ReconcileStats> ApplyDesired(cni::nl::Handle& h, const Scope& scope,
                                         const DesiredState& want) {
  auto cur_or = ReadCurrent(h, scope);
  if (!cur_or) return cur_or.error();
  Current& cur = *cur_or;
  ReconcileStats st;

  // Refuse to shadow someone else's route before changing anything.
  for (const RouteInfo& r : want.routes) {
    if (auto it = cur.foreign.find(r.dst); it != cur.foreign.end() && !cur.routes.count(r.dst)) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "a route for " + r.dst.ToString() + " that linen does not own exists (" +
                            Describe(it->second) + ", protocol " +
                            std::to_string(it->second.protocol) +
                            "); remove it or change the topology");
    }
  }

  std::map<cni::IpNet, const RouteInfo*> want_routes;
  for (const RouteInfo& r : want.routes) want_routes[r.dst] = &r;
  std::map<cni::IpAddr, const NeighInfo*> want_neighs;
  for (const NeighInfo& n : want.neighs) want_neighs[n.dst] = &n;
  std::map<std::string, const FdbInfo*> want_fdbs;
  for (const FdbInfo& f : want.fdbs) want_fdbs[Lower(f.lladdr)] = &f;

  // 1. Routes of departed peers (and duplicates) go first.
  auto del_route = [&](const RouteInfo& r) -> cni::Status {
    if (auto s = h.DeleteRoute(r); !s) return s.error().Context("delete " + Describe(r));
    ++st.routes_deleted;
    return cni::OkStatus();
  };
  for (const RouteInfo& r : cur.extra_routes) {
    if (auto s = del_route(r); !s) return s.error();
  }
  for (const auto& [dst, r] : cur.routes) {
    if (!want_routes.count(dst)) {
      if (auto s = del_route(r); !s) return s.error();
    }
  }
  // 2. Neighbours and FDB entries the routes will rely on.
  for (const NeighInfo& n : want.neighs) {
    auto it = cur.neighs.find(n.dst);
    if (it != cur.neighs.end() && it->second.lladdr == Lower(n.lladdr)) continue;
    if (auto s = h.ReplaceNeigh(n); !s) return s.error().Context("set " + Describe(n));
    ++st.neighs_set;
  }
  for (const FdbInfo& f : want.fdbs) {
    auto it = cur.fdbs.find(Lower(f.lladdr));
    if (it != cur.fdbs.end() && it->second.dst == f.dst) continue;
    if (auto s = h.ReplaceFdb(f); !s) return s.error().Context("set " + Describe(f));
    ++st.fdbs_set;
  }
  // 3. Routes.
  for (const RouteInfo& r : want.routes) {
    auto it = cur.routes.find(r.dst);
    if (it != cur.routes.end() && SameRoute(it->second, r)) continue;
    if (auto s = h.ReplaceRoute(r); !s) return s.error().Context("set " + Describe(r));
    ++st.routes_set;
  }
  // 4. FDB and neighbours nobody needs any more.
  for (const FdbInfo& f : cur.extra_fdbs) {
    if (auto s = h.DeleteFdb(f); !s) return s.error().Context("delete " + Describe(f));
    ++st.fdbs_deleted;
  }
  for (const auto& [mac, f] : cur.fdbs) {
    auto it = want_fdbs.find(mac);
    // A MAC that moved to another dst was replaced in place above.
    if (it != want_fdbs.end()) continue;
    if (auto s = h.DeleteFdb(f); !s) return s.error().Context("delete " + Describe(f));
    ++st.fdbs_deleted;
  }
  for (const auto& [dst, n] : cur.neighs) {
    if (want_neighs.count(dst)) continue;
    if (auto s = h.DeleteNeigh(n); !s) return s.error().Context("delete " + Describe(n));
    ++st.neighs_deleted;
  }
  return st;
}

cni::Status CheckDesired(cni::nl::Handle& h, const Scope& scope, const DesiredState& want) {
  auto cur_or = ReadCurrent(h, scope);
  if (!cur_or) return cur_or.error();
  const Current& cur = *cur_or;
  auto missing = [](const std::string& what) {
    return cni::Error(cni::Code::kBackendNotReady, "missing or wrong " + what);
  };
  for (const RouteInfo& r : want.routes) {
    auto it = cur.routes.find(r.dst);
    if (it == cur.routes.end() || !SameRoute(it->second, r)) return missing(Describe(r));
  }
  for (const NeighInfo& n : want.neighs) {
    auto it = cur.neighs.find(n.dst);
    if (it == cur.neighs.end() || it->second.lladdr != Lower(n.lladdr)) return missing(Describe(n));
  }
  for (const FdbInfo& f : want.fdbs) {
    auto it = cur.fdbs.find(Lower(f.lladdr));
    if (it == cur.fdbs.end() || it->second.dst != f.dst) return missing(Describe(f));
  }
  return cni::OkStatus();
}

size_t DesiredSync::AddrHash::operator()(const cni::IpAddr& a) const {
  uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, a.bytes(), std::min(a.byte_len(), 8));
  if (a.byte_len() > 8) std::memcpy(&hi, a.bytes() + 8, 8);
  // splitmix64-style finaliser over both halves and the family.
  uint64_t x = lo ^ (hi * 0x9e3779b97f4a7c15ULL) ^ static_cast<uint64_t>(a.family());
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return static_cast<size_t>(x);
}

size_t DesiredSync::NetHash::operator()(const cni::IpNet& n) const {
  return AddrHash{}(n.addr) ^ (static_cast<size_t>(n.prefix) * 0x9e3779b97f4a7c15ULL);
}

DesiredSync::Known DesiredSync::Remember(const Scope& scope, const DesiredState& want) {
  Known k;
  k.cluster = scope.cluster;
  k.vtep_index = scope.vtep_index;
  k.routes.reserve(want.routes.size());
  k.neighs.reserve(want.neighs.size());
  k.fdbs.reserve(want.fdbs.size());
  for (const RouteInfo& r : want.routes) k.routes[r.dst] = {r};
  for (const NeighInfo& n : want.neighs) k.neighs[n.dst] = {n};
  for (const FdbInfo& f : want.fdbs) k.fdbs[f.lladdr] = {f};
  return k;
}

cni::Result<ReconcileStats> DesiredSync::Reconcile(cni::nl::Handle& h, const Scope& scope,
                                                   const DesiredState& want) {
  known_.reset();
  auto st = ApplyDesired(h, scope, want);
  if (st) known_ = Remember(scope, want);
  return st;
}

cni::Result<ReconcileStats> DesiredSync::Update(cni::nl::Handle& h, const Scope& scope,
                                                const DesiredState& want) {
  if (!known_ || known_->cluster != scope.cluster || known_->vtep_index != scope.vtep_index) {
    return Reconcile(h, scope, want);
  }
  bool route_clash = false;
  auto st = ApplyChanges(h, want, &route_clash);
  if (st) return st;
  known_.reset();
  if (route_clash) return Reconcile(h, scope, want);
  return st.error();
}

namespace {

// Marks the entries of `known` that `want` still has; returns the wanted ones that are
// new or differ (by `same`) from what is known.
template <typename Map, typename T, typename KeyOf, typename Same>
std::vector<const T*> MarkWanted(Map& known, const std::vector<T>& want, uint64_t gen,
                                 size_t* marked, KeyOf key_of, Same same) {
  std::vector<const T*> to_set;
  for (const T& w : want) {
    auto it = known.find(key_of(w));
    if (it != known.end()) {
      it->second.seen = gen;
      ++*marked;
      if (same(it->second.info, w)) continue;
    }
    to_set.push_back(&w);
  }
  return to_set;
}

// Deletes the entries of `m` the current generation did not mark, erasing them from
// `m` as the kernel confirms. Skips the walk when every entry was marked.
template <typename Map, typename Del>
cni::Status Sweep(Map& m, size_t marked, uint64_t gen, int* counter, Del del) {
  if (marked == m.size()) return cni::OkStatus();
  for (auto it = m.begin(); it != m.end();) {
    if (it->second.seen == gen) {
      ++it;
      continue;
    }
    if (auto s = del(it->second.info); !s) return s.error().Context("delete " + Describe(it->second.info));
    ++*counter;
    it = m.erase(it);
  }
  return cni::OkStatus();
}

}  // namespace

// Same order as ApplyDesired. `known_` is edited in place as requests succeed; on a
// failure the caller forgets it, so a half-applied edit is never trusted.
cni::Result<ReconcileStats> DesiredSync::ApplyChanges(cni::nl::Handle& h,
                                                      const DesiredState& want,
                                                      bool* route_clash) {
  Known& k = *known_;
  const uint64_t gen = ++generation_;
  ReconcileStats st;

  std::vector<const RouteInfo*> new_routes, changed_routes;
  size_t routes_marked = 0;
  for (const RouteInfo& r : want.routes) {
    auto it = k.routes.find(r.dst);
    if (it == k.routes.end()) {
      new_routes.push_back(&r);
      continue;
    }
    it->second.seen = gen;
    ++routes_marked;
    if (!SameRoute(it->second.info, r)) changed_routes.push_back(&r);
  }
  size_t neighs_marked = 0, fdbs_marked = 0;
  const std::vector<const NeighInfo*> set_neighs = MarkWanted(
      k.neighs, want.neighs, gen, &neighs_marked, [](const NeighInfo& n) { return n.dst; },
      [](const NeighInfo& a, const NeighInfo& b) { return a.lladdr == b.lladdr; });
  const std::vector<const FdbInfo*> set_fdbs = MarkWanted(
      k.fdbs, want.fdbs, gen, &fdbs_marked,
      [](const FdbInfo& f) -> const std::string& { return f.lladdr; },
      [](const FdbInfo& a, const FdbInfo& b) { return a.dst == b.dst; });

  // 1. Routes of departed peers.
  if (auto s = Sweep(k.routes, routes_marked, gen, &st.routes_deleted,
                     [&](const RouteInfo& r) { return h.DeleteRoute(r); });
      !s) {
    return s.error();
  }
  // 2. Neighbours and FDB entries the routes will rely on.
  for (const NeighInfo* n : set_neighs) {
    if (auto s = h.ReplaceNeigh(*n); !s) return s.error().Context("set " + Describe(*n));
    ++st.neighs_set;
    auto [it, fresh] = k.neighs.insert_or_assign(n->dst, Entry<NeighInfo>{*n, gen});
    if (fresh) ++neighs_marked;
  }
  for (const FdbInfo* f : set_fdbs) {
    if (auto s = h.ReplaceFdb(*f); !s) return s.error().Context("set " + Describe(*f));
    ++st.fdbs_set;
    auto [it, fresh] = k.fdbs.insert_or_assign(f->lladdr, Entry<FdbInfo>{*f, gen});
    if (fresh) ++fdbs_marked;
  }
  // 3. Routes. A new one is added exclusively: replacing would silently take over a
  // route someone else put there.
  for (const RouteInfo* r : changed_routes) {
    if (auto s = h.ReplaceRoute(*r); !s) return s.error().Context("set " + Describe(*r));
    ++st.routes_set;
    k.routes[r->dst] = {*r, gen};
  }
  for (const RouteInfo* r : new_routes) {
    if (auto s = h.AddRoute(*r); !s) {
      if (s.error().IsExists()) *route_clash = true;
      return s.error().Context("add " + Describe(*r));
    }
    ++st.routes_set;
    k.routes[r->dst] = {*r, gen};
  }
  // 4. FDB entries and neighbours nobody needs any more.
  if (auto s = Sweep(k.fdbs, fdbs_marked, gen, &st.fdbs_deleted,
                     [&](const FdbInfo& f) { return h.DeleteFdb(f); });
      !s) {
    return s.error();
  }
  if (auto s = Sweep(k.neighs, neighs_marked, gen, &st.neighs_deleted,
                     [&](const NeighInfo& n) { return h.DeleteNeigh(n); });
      !s) {
    return s.error();
  }
  return st;
}

cni::Status DeleteOwnedRoutes(cni::nl::Handle& h, const cni::IpNet& cluster) {
  auto routes = h.ListRoutes(cluster.family(), cni::nl::kMainTable);
  if (!routes) return routes.error().Context("list routes");
  for (const RouteInfo& r : *routes) {
    if (!Owned(r, cluster)) continue;
    if (auto s = h.DeleteRoute(r); !s) return s.error().Context("delete " + Describe(r));
  }
  return cni::OkStatus();
}

}  // namespace linen::overlay
