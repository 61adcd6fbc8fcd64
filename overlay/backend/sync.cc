#include "overlay/backend/sync.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace linen::overlay {
namespace {

using cni::nl::FdbInfo;
using cni::nl::NeighInfo;
using cni::nl::RouteInfo;

constexpr uint16_t kNudPermanent = 0x80;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
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

DesiredSync::Known DesiredSync::Remember(const Scope& scope, const DesiredState& want) {
  Known k;
  k.cluster = scope.cluster;
  k.vtep_index = scope.vtep_index;
  for (const RouteInfo& r : want.routes) k.routes[r.dst] = {r};
  for (const NeighInfo& n : want.neighs) k.neighs[n.dst] = {n};
  for (const FdbInfo& f : want.fdbs) k.fdbs[Lower(f.lladdr)] = {f};
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

// Same order as ApplyDesired. `known_` is edited in place as requests succeed; on a
// failure the caller forgets it, so a half-applied edit is never trusted.
cni::Result<ReconcileStats> DesiredSync::ApplyChanges(cni::nl::Handle& h,
                                                      const DesiredState& want,
                                                      bool* route_clash) {
  Known& k = *known_;
  ReconcileStats st;
  for (auto& [dst, e] : k.routes) e.wanted = false;
  for (auto& [dst, e] : k.neighs) e.wanted = false;
  for (auto& [mac, e] : k.fdbs) e.wanted = false;

  std::vector<const RouteInfo*> new_routes, changed_routes;
  for (const RouteInfo& r : want.routes) {
    auto it = k.routes.find(r.dst);
    if (it == k.routes.end()) {
      new_routes.push_back(&r);
      continue;
    }
    it->second.wanted = true;
    if (!SameRoute(it->second.info, r)) changed_routes.push_back(&r);
  }
  std::vector<const NeighInfo*> set_neighs;
  for (const NeighInfo& n : want.neighs) {
    auto it = k.neighs.find(n.dst);
    if (it != k.neighs.end()) {
      it->second.wanted = true;
      if (Lower(it->second.info.lladdr) == Lower(n.lladdr)) continue;
    }
    set_neighs.push_back(&n);
  }
  std::vector<std::pair<std::string, const FdbInfo*>> set_fdbs;
  for (const FdbInfo& f : want.fdbs) {
    std::string mac = Lower(f.lladdr);
    auto it = k.fdbs.find(mac);
    if (it != k.fdbs.end()) {
      it->second.wanted = true;
      if (it->second.info.dst == f.dst) continue;
    }
    set_fdbs.emplace_back(std::move(mac), &f);
  }

  // 1. Routes of departed peers.
  for (auto it = k.routes.begin(); it != k.routes.end();) {
    if (it->second.wanted) {
      ++it;
      continue;
    }
    if (auto s = h.DeleteRoute(it->second.info); !s) {
      return s.error().Context("delete " + Describe(it->second.info));
    }
    ++st.routes_deleted;
    it = k.routes.erase(it);
  }
  // 2. Neighbours and FDB entries the routes will rely on.
  for (const NeighInfo* n : set_neighs) {
    if (auto s = h.ReplaceNeigh(*n); !s) return s.error().Context("set " + Describe(*n));
    ++st.neighs_set;
    k.neighs[n->dst] = {*n, true};
  }
  for (const auto& [mac, f] : set_fdbs) {
    if (auto s = h.ReplaceFdb(*f); !s) return s.error().Context("set " + Describe(*f));
    ++st.fdbs_set;
    k.fdbs[mac] = {*f, true};
  }
  // 3. Routes. A new one is added exclusively: replacing would silently take over a
  // route someone else put there.
  for (const RouteInfo* r : changed_routes) {
    if (auto s = h.ReplaceRoute(*r); !s) return s.error().Context("set " + Describe(*r));
    ++st.routes_set;
    k.routes[r->dst] = {*r, true};
  }
  for (const RouteInfo* r : new_routes) {
    if (auto s = h.AddRoute(*r); !s) {
      if (s.error().IsExists()) *route_clash = true;
      return s.error().Context("add " + Describe(*r));
    }
    ++st.routes_set;
    k.routes[r->dst] = {*r, true};
  }
  // 4. FDB entries and neighbours nobody needs any more.
  for (auto it = k.fdbs.begin(); it != k.fdbs.end();) {
    if (it->second.wanted) {
      ++it;
      continue;
    }
    if (auto s = h.DeleteFdb(it->second.info); !s) {
      return s.error().Context("delete " + Describe(it->second.info));
    }
    ++st.fdbs_deleted;
    it = k.fdbs.erase(it);
  }
  for (auto it = k.neighs.begin(); it != k.neighs.end();) {
    if (it->second.wanted) {
      ++it;
      continue;
    }
    if (auto s = h.DeleteNeigh(it->second.info); !s) {
      return s.error().Context("delete " + Describe(it->second.info));
    }
    ++st.neighs_deleted;
    it = k.neighs.erase(it);
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
