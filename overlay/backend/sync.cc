#include "overlay/backend/sync.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iterator>
#include <map>
#include <set>

#include "libcni/mac.h"

namespace linen::overlay {
namespace {

using cni::nl::FdbInfo;
using cni::nl::NeighInfo;
using cni::nl::RouteInfo;

constexpr uint16_t kNudPermanent = 0x80;

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
    } else if (r.priority == OwnedRouteMetric(r.dst.family())) {
      cur.foreign.emplace(r.dst, r);
    }
  }
  if (scope.vtep_index == 0) return cur;
  auto neighs = h.ListNeighs(scope.vtep_index, scope.cluster.family());
  if (!neighs) return neighs.error().Context("list neighbours");
  for (NeighInfo& n : *neighs) {
    if (n.state & kNudPermanent) {
      n.lladdr = KernelMac(n.lladdr);
      cur.neighs.emplace(n.dst, n);
    }
  }
  auto fdbs = h.ListFdb(scope.vtep_index);
  if (!fdbs) return fdbs.error().Context("list fdb");
  for (FdbInfo& f : *fdbs) {
    f.lladdr = KernelMac(f.lladdr);
    // All-zero MACs are default (flood) destinations; we never program those.
    if (!f.dst || f.lladdr == "00:00:00:00:00:00") continue;
    auto [it, fresh] = cur.fdbs.emplace(f.lladdr, f);
    if (!fresh) cur.extra_fdbs.push_back(f);
  }
  return cur;
}

}  // namespace

uint32_t OwnedRouteMetric(cni::Family f) {
  return f == cni::Family::kV6 ? cni::nl::kIpv6DefaultMetric : 0;
}

std::string KernelMac(std::string mac) {
  auto parsed = cni::ParseMac(mac);
  return parsed ? cni::FormatMac(*parsed) : mac;
}

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

namespace {

std::string PeerLabel(const std::string& name, const cni::IpNet& subnet) {
  return "peer \"" + name + "\" (" + subnet.ToString() + ")";
}

PeerFailure Fail(const DesiredPeer& p, PeerFailureReason reason, const cni::Error& e) {
  return {p.name, p.subnet, reason, e.code(), PeerLabel(p.name, p.subnet) + ": " + e.msg()};
}

// An owned entry of a departed peer that the kernel would not remove.
PeerFailure FailDelete(const cni::IpNet& what, const std::string& describe, const cni::Error& e) {
  return {"", what, PeerFailureReason::kDeleteRefused, e.code(),
          "departed peer's " + describe + " left in place: delete: " + e.msg()};
}

cni::Error ForeignRouteError(const cni::IpNet& dst, const std::string& found) {
  return cni::Error(cni::Code::kInvalidNetworkConfig,
                    "a route for " + dst.ToString() + " that linen does not own exists (" + found +
                        "); remove it or change the topology");
}

// The full apply. `cur` ends as the owned entries now in the kernel: every request
// that succeeded is applied to it, every one that failed leaves it as read.
ReconcileStats ApplyAll(cni::nl::Handle& h, const DesiredState& want, Current& cur) {
  ReconcileStats st;
  st.failures = want.refused;

  std::set<cni::IpNet> want_routes;
  std::set<cni::IpAddr> want_neighs;
  std::set<std::string> want_fdbs;
  for (const DesiredPeer& p : want.peers) {
    want_routes.insert(p.route.dst);
    if (p.neigh) want_neighs.insert(p.neigh->dst);
    if (p.fdb) want_fdbs.insert(KernelMac(p.fdb->lladdr));
  }

  // 1. Routes of departed peers (and duplicates) go first.
  for (const RouteInfo& r : cur.extra_routes) {
    if (auto s = h.DeleteRoute(r); !s) {
      st.failures.push_back(FailDelete(r.dst, Describe(r), s.error()));
    } else {
      ++st.routes_deleted;
    }
  }
  cur.extra_routes.clear();  // one left behind is found again by the next dump
  for (auto it = cur.routes.begin(); it != cur.routes.end();) {
    if (want_routes.count(it->first)) {
      ++it;
    } else if (auto s = h.DeleteRoute(it->second); !s) {
      st.failures.push_back(FailDelete(it->first, Describe(it->second), s.error()));
      ++it;
    } else {
      ++st.routes_deleted;
      it = cur.routes.erase(it);
    }
  }
  // 2. Peer by peer: neighbour and FDB entry, then the route that relies on them.
  for (const DesiredPeer& p : want.peers) {
    const RouteInfo& r = p.route;
    auto have_route = cur.routes.find(r.dst);
    if (have_route == cur.routes.end()) {
      if (auto f = cur.foreign.find(r.dst); f != cur.foreign.end()) {
        st.failures.push_back(Fail(p, PeerFailureReason::kForeignRoute,
                                   ForeignRouteError(r.dst, Describe(f->second) + ", protocol " +
                                                                std::to_string(f->second.protocol))));
        continue;
      }
    }
    if (p.neigh) {
      const NeighInfo& n = *p.neigh;
      auto it = cur.neighs.find(n.dst);
      if (it == cur.neighs.end() || it->second.lladdr != KernelMac(n.lladdr)) {
        if (auto s = h.ReplaceNeigh(n); !s) {
          st.failures.push_back(Fail(p, PeerFailureReason::kKernelRefused,
                                     s.error().Context("set " + Describe(n))));
          continue;
        }
        ++st.neighs_set;
        NeighInfo& kept = cur.neighs[n.dst];
        kept = n;
        kept.lladdr = KernelMac(n.lladdr);
      }
    }
    if (p.fdb) {
      const FdbInfo& f = *p.fdb;
      const std::string mac = KernelMac(f.lladdr);
      auto it = cur.fdbs.find(mac);
      if (it == cur.fdbs.end() || it->second.dst != f.dst) {
        if (auto s = h.ReplaceFdb(f); !s) {
          st.failures.push_back(Fail(p, PeerFailureReason::kKernelRefused,
                                     s.error().Context("set " + Describe(f))));
          continue;
        }
        ++st.fdbs_set;
        FdbInfo& kept = cur.fdbs[mac];
        kept = f;
        kept.lladdr = mac;
      }
    }
    if (have_route == cur.routes.end() || !SameRoute(have_route->second, r)) {
      if (auto s = h.ReplaceRoute(r); !s) {
        st.failures.push_back(Fail(p, PeerFailureReason::kKernelRefused,
                                   s.error().Context("set " + Describe(r))));
        continue;
      }
      ++st.routes_set;
      cur.routes[r.dst] = r;
    }
  }
  // 3. FDB and neighbours nobody needs any more.
  for (const FdbInfo& f : cur.extra_fdbs) {
    if (auto s = h.DeleteFdb(f); !s) {
      st.failures.push_back(FailDelete(cni::IpNet(), Describe(f), s.error()));
    } else {
      ++st.fdbs_deleted;
    }
  }
  cur.extra_fdbs.clear();
  for (auto it = cur.fdbs.begin(); it != cur.fdbs.end();) {
    // A MAC that moved to another dst was replaced in place above.
    if (want_fdbs.count(it->first)) {
      ++it;
    } else if (auto s = h.DeleteFdb(it->second); !s) {
      st.failures.push_back(FailDelete(cni::IpNet(), Describe(it->second), s.error()));
      ++it;
    } else {
      ++st.fdbs_deleted;
      it = cur.fdbs.erase(it);
    }
  }
  for (auto it = cur.neighs.begin(); it != cur.neighs.end();) {
    if (want_neighs.count(it->first)) {
      ++it;
    } else if (auto s = h.DeleteNeigh(it->second); !s) {
      st.failures.push_back(
          FailDelete(cni::IpNet::Host(it->first), Describe(it->second), s.error()));
      ++it;
    } else {
      ++st.neighs_deleted;
      it = cur.neighs.erase(it);
    }
  }
  return st;
}

}  // namespace

cni::Result<ReconcileStats> ApplyDesired(cni::nl::Handle& h, const Scope& scope,
                                         const DesiredState& want) {
  auto cur = ReadCurrent(h, scope);
  if (!cur) return cur.error();
  return ApplyAll(h, want, *cur);
}

namespace {

cni::Status CheckFamily(cni::nl::Handle& h, const Scope& scope, const DesiredState& want) {
  if (auto s = FailuresAsError(want.refused); !s) return s;
  auto cur_or = ReadCurrent(h, scope);
  if (!cur_or) return cur_or.error();
  const Current& cur = *cur_or;
  auto missing = [](const std::string& what) {
    return cni::Error(cni::Code::kBackendNotReady, "missing or wrong " + what);
  };
  for (const DesiredPeer& p : want.peers) {
    const RouteInfo& r = p.route;
    auto rt = cur.routes.find(r.dst);
    if (rt == cur.routes.end() || !SameRoute(rt->second, r)) return missing(Describe(r));
    if (p.neigh) {
      auto it = cur.neighs.find(p.neigh->dst);
      if (it == cur.neighs.end() || it->second.lladdr != KernelMac(p.neigh->lladdr)) {
        return missing(Describe(*p.neigh));
      }
    }
    if (p.fdb) {
      auto it = cur.fdbs.find(KernelMac(p.fdb->lladdr));
      if (it == cur.fdbs.end() || it->second.dst != p.fdb->dst) return missing(Describe(*p.fdb));
    }
  }
  return cni::OkStatus();
}

void Add(ReconcileStats& into, ReconcileStats&& from) {
  into.routes_set += from.routes_set;
  into.routes_deleted += from.routes_deleted;
  into.neighs_set += from.neighs_set;
  into.neighs_deleted += from.neighs_deleted;
  into.fdbs_set += from.fdbs_set;
  into.fdbs_deleted += from.fdbs_deleted;
  into.failures.insert(into.failures.end(), std::make_move_iterator(from.failures.begin()),
                       std::make_move_iterator(from.failures.end()));
}

}  // namespace

cni::Status CheckDesired(cni::nl::Handle& h, const Plan& plan) {
  for (const FamilyPlan& fp : plan) {
    if (auto s = CheckFamily(h, fp.scope, fp.want); !s) return s;
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

cni::Result<ReconcileStats> DesiredSync::ReconcileFamily(cni::nl::Handle& h,
                                                         const FamilyPlan& fp) {
  std::optional<Known>& known = Memory(fp.scope.cluster.family());
  known.reset();
  auto cur = ReadCurrent(h, fp.scope);
  if (!cur) return cur.error();
  ReconcileStats st = ApplyAll(h, fp.want, *cur);
  // What the kernel now has, failed peers' entries as they are.
  known = Known{};
  Known& k = *known;
  k.cluster = fp.scope.cluster;
  k.vtep_index = fp.scope.vtep_index;
  k.routes.reserve(cur->routes.size());
  k.neighs.reserve(cur->neighs.size());
  k.fdbs.reserve(cur->fdbs.size());
  for (auto& [dst, r] : cur->routes) k.routes.emplace(dst, Entry<RouteInfo>{std::move(r)});
  for (auto& [dst, n] : cur->neighs) k.neighs.emplace(dst, Entry<NeighInfo>{std::move(n)});
  for (auto& [mac, f] : cur->fdbs) k.fdbs.emplace(mac, Entry<FdbInfo>{std::move(f)});
  return st;
}

cni::Result<ReconcileStats> DesiredSync::Reconcile(cni::nl::Handle& h, const Plan& plan) {
  Forget();
  ReconcileStats st;
  for (const FamilyPlan& fp : plan) {
    auto one = ReconcileFamily(h, fp);
    if (!one) return one.error();
    Add(st, std::move(*one));
  }
  return st;
}

cni::Result<ReconcileStats> DesiredSync::Update(cni::nl::Handle& h, const Plan& plan) {
  bool planned[2] = {false, false};
  ReconcileStats st;
  for (const FamilyPlan& fp : plan) {
    const cni::Family f = fp.scope.cluster.family();
    planned[f == cni::Family::kV4 ? 0 : 1] = true;
    std::optional<Known>& known = Memory(f);
    if (!known || known->cluster != fp.scope.cluster ||
        known->vtep_index != fp.scope.vtep_index) {
      auto one = ReconcileFamily(h, fp);
      if (!one) return one.error();
      Add(st, std::move(*one));
    } else {
      Add(st, ApplyChanges(h, *known, fp.want));
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (!planned[i]) known_[i].reset();
  }
  return st;
}

namespace {

// Someone else's route for `dst` that ours would collide with (as ReadCurrent's
// `foreign`), if the kernel can be read and has one.
std::optional<RouteInfo> FindForeign(cni::nl::Handle& h, const cni::IpNet& dst) {
  auto routes = h.ListRoutes(dst.family(), cni::nl::kMainTable);
  if (!routes) return std::nullopt;
  for (const RouteInfo& r : *routes) {
    if (r.dst == dst && r.protocol != cni::nl::kLinenRouteProtocol &&
        r.priority == OwnedRouteMetric(dst.family())) {
      return r;
    }
  }
  return std::nullopt;
}

// Marks the entry at `it` as wanted by generation `gen`, counting each entry once.
template <typename It>
void Mark(It it, uint64_t gen, size_t* marked) {
  if (it->second.seen == gen) return;
  it->second.seen = gen;
  ++*marked;
}

// Deletes the entries of `m` the current generation did not mark, erasing them from
// `m` as the kernel confirms; one the kernel refuses stays, unmarked, so the next
// Update sweeps it again, and is reported. Skips the walk when every entry was marked.
template <typename Map, typename Del, typename Where>
void Sweep(Map& m, size_t marked, uint64_t gen, int* counter, std::vector<PeerFailure>* failures,
           Del del, Where where) {
  if (marked == m.size()) return;
  for (auto it = m.begin(); it != m.end();) {
    if (it->second.seen == gen) {
      ++it;
      continue;
    }
    if (auto s = del(it->second.info); !s) {
      failures->push_back(FailDelete(where(it->first), Describe(it->second.info), s.error()));
      ++it;
      continue;
    }
    ++*counter;
    it = m.erase(it);
  }
}

}  // namespace

// Same order as ApplyAll. `k` is edited in place as requests succeed, so it
// keeps describing the kernel whatever failed.
ReconcileStats DesiredSync::ApplyChanges(cni::nl::Handle& h, Known& k, const DesiredState& want) {
  const uint64_t gen = ++generation_;
  ReconcileStats st;
  st.failures = want.refused;

  // Which entries of each peer are new or differ from the memory.
  enum class RouteOp { kKeep, kReplace, kAdd };
  struct Todo {
    const DesiredPeer* peer;
    bool neigh, fdb;
    RouteOp route;
  };
  std::vector<Todo> todo;
  size_t routes_marked = 0, neighs_marked = 0, fdbs_marked = 0;
  for (const DesiredPeer& p : want.peers) {
    Todo t{&p, false, false, RouteOp::kKeep};
    if (auto it = k.routes.find(p.route.dst); it == k.routes.end()) {
      t.route = RouteOp::kAdd;
    } else {
      Mark(it, gen, &routes_marked);
      if (!SameRoute(it->second.info, p.route)) t.route = RouteOp::kReplace;
    }
    if (p.neigh) {
      auto it = k.neighs.find(p.neigh->dst);
      if (it == k.neighs.end()) {
        t.neigh = true;
      } else {
        Mark(it, gen, &neighs_marked);
        t.neigh = it->second.info.lladdr != p.neigh->lladdr;
      }
    }
    if (p.fdb) {
      auto it = k.fdbs.find(p.fdb->lladdr);
      if (it == k.fdbs.end()) {
        t.fdb = true;
      } else {
        Mark(it, gen, &fdbs_marked);
        t.fdb = it->second.info.dst != p.fdb->dst;
      }
    }
    if (t.neigh || t.fdb || t.route != RouteOp::kKeep) todo.push_back(t);
  }

  // 1. Routes of departed peers.
  Sweep(k.routes, routes_marked, gen, &st.routes_deleted, &st.failures,
        [&](const RouteInfo& r) { return h.DeleteRoute(r); },
        [](const cni::IpNet& dst) { return dst; });
  // 2. Peer by peer: neighbour and FDB entry, then the route that relies on them.
  for (const Todo& t : todo) {
    const DesiredPeer& p = *t.peer;
    if (t.neigh) {
      if (auto s = h.ReplaceNeigh(*p.neigh); !s) {
        st.failures.push_back(Fail(p, PeerFailureReason::kKernelRefused,
                                   s.error().Context("set " + Describe(*p.neigh))));
        continue;
      }
      ++st.neighs_set;
      auto it = k.neighs.try_emplace(p.neigh->dst).first;
      it->second.info = *p.neigh;
      Mark(it, gen, &neighs_marked);
    }
    if (t.fdb) {
      if (auto s = h.ReplaceFdb(*p.fdb); !s) {
        st.failures.push_back(Fail(p, PeerFailureReason::kKernelRefused,
                                   s.error().Context("set " + Describe(*p.fdb))));
        continue;
      }
      ++st.fdbs_set;
      auto it = k.fdbs.try_emplace(p.fdb->lladdr).first;
      it->second.info = *p.fdb;
      Mark(it, gen, &fdbs_marked);
    }
    if (t.route == RouteOp::kKeep) continue;
    // A new route is added exclusively: replacing would silently take over a route
    // someone else put there.
    auto s = t.route == RouteOp::kAdd ? h.AddRoute(p.route) : h.ReplaceRoute(p.route);
    if (!s) {
      bool foreign = t.route == RouteOp::kAdd && s.error().IsExists();
      std::string found = "found when adding " + Describe(p.route);
      if (t.route == RouteOp::kAdd && !foreign) {
        // IPv6 checks an onlink gateway against the routing table before it looks for
        // an equal route, so someone else's route for the subnet makes the add fail
        // with EINVAL ("device mismatch"), not EEXIST. One read on this failure path
        // tells the two apart, so the reason does not depend on Update vs Reconcile.
        if (auto f = FindForeign(h, p.route.dst)) {
          foreign = true;
          found = Describe(*f) + ", protocol " + std::to_string(f->protocol);
        }
      }
      st.failures.push_back(
          foreign ? Fail(p, PeerFailureReason::kForeignRoute, ForeignRouteError(p.route.dst, found))
                  : Fail(p, PeerFailureReason::kKernelRefused,
                         s.error().Context((t.route == RouteOp::kAdd ? "add " : "set ") +
                                           Describe(p.route))));
      continue;
    }
    ++st.routes_set;
    auto it = k.routes.try_emplace(p.route.dst).first;
    it->second.info = p.route;
    Mark(it, gen, &routes_marked);
  }
  // 3. FDB entries and neighbours nobody needs any more.
  Sweep(k.fdbs, fdbs_marked, gen, &st.fdbs_deleted, &st.failures,
        [&](const FdbInfo& f) { return h.DeleteFdb(f); },
        [](const std::string&) { return cni::IpNet(); });
  Sweep(k.neighs, neighs_marked, gen, &st.neighs_deleted, &st.failures,
        [&](const NeighInfo& n) { return h.DeleteNeigh(n); },
        [](const cni::IpAddr& a) { return cni::IpNet::Host(a); });
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
