// vxlan: pods on other nodes are reached through one VTEP device per address family,
// linen.<VNI> (IPv4 over IPv4) and linen-v6.<VNI> (IPv6 over IPv6).
//
// Design notes. Like flannel since 0.9 we program everything statically instead of
// reacting to L2/L3 misses: per peer and family one permanent neighbour (the peer's
// subnet.0 -> its VTEP MAC), one FDB entry (VTEP MAC -> peer node address) and one
// onlink route (peer subnet via subnet.0). That is 3 entries per peer and family and
// no learning, so a node's state is linear in the cluster size and never depends on
// traffic. The devices carry subnet.0/32 (IPv6: ipv6_subnet::0/128, as flannel's
// flannel-v6.<VNI>) only as the source address for host->pod traffic.
// Two devices rather than one: a VXLAN device has one local address, so one outer
// family, and the outer family fixes the overhead. IPv6 outer headers are 20 bytes
// longer, so the IPv6 VTEP's MTU is underlay − 70 (flannel#1781 gave it − 50, and
// full-size IPv6 pod packets were dropped).
// With a static topology the VTEP MAC is derived from the node IP (DeriveVtepMac) so
// every node can compute every other node's MAC without a registry.
#include "overlay/backend/vxlan.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "overlay/backend/host_gw.h"
#include "overlay/backend/sync.h"
#include "overlay/backend/underlay.h"

namespace linen::overlay {
namespace {

constexpr uint16_t kDefaultVxlanPort = 8472;
constexpr int kIpv6MinMtu = 1280;  // RFC 8200

// Why an existing device cannot be reused, or "" when it can.
std::string Incompatible(const cni::nl::LinkInfo& l, const cni::nl::VxlanInfo& want) {
  if (l.kind != "vxlan" || !l.vxlan) return "it is not a vxlan device (kind \"" + l.kind + "\")";
  const cni::nl::VxlanInfo& have = *l.vxlan;
  if (have.vni != want.vni) return "VNI " + std::to_string(have.vni);
  if (have.local != want.local) {
    return "local " + (have.local ? have.local->ToString() : std::string("unset"));
  }
  if (have.dev_index != want.dev_index) return "underlay #" + std::to_string(have.dev_index);
  uint16_t have_port = have.port ? have.port : kDefaultVxlanPort;
  uint16_t want_port = want.port ? want.port : kDefaultVxlanPort;
  if (have_port != want_port) return "port " + std::to_string(have_port);
  if (have.learning) return "learning on";
  return "";
}

// One VTEP: the IPv4 one (index 0) or the IPv6 one (index 1).
struct Vtep {
  cni::Family family;
  std::string name;
  int overhead;
  int index = 0;  // 0 = not known yet
};

const char* FamilyName(cni::Family f) { return f == cni::Family::kV4 ? "IPv4" : "IPv6"; }

class VxlanBackend : public Backend {
 public:
  VxlanBackend(cni::nl::Handle& h, const LocalNode& node, LogSink log)
      : h_(h),
        node_(node),
        vteps_{Vtep{cni::Family::kV4, VxlanDeviceName(node.cluster.vni), kVxlanOverhead},
               Vtep{cni::Family::kV6, VxlanV6DeviceName(node.cluster.vni), kVxlanOverheadV6}},
        log_(std::move(log)) {}

  BackendType type() const override { return BackendType::kVxlan; }

  cni::Result<NodeSetup> EnsureNode() override {
    if (node_.cluster.enable_ipv6 && node_.cluster.vni > kMaxVniWithIpv6) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "VNI " + std::to_string(node_.cluster.vni) +
                            " is too large with IPv6: the device name " +
                            VxlanV6DeviceName(node_.cluster.vni) +
                            " exceeds 15 characters; use a VNI of at most " +
                            std::to_string(kMaxVniWithIpv6));
    }
    auto u = NodeUnderlay(h_, node_);
    if (!u) return u.error();
    const int base = node_.cluster.mtu > 0 ? node_.cluster.mtu : u->link.mtu;
    const Vtep& v6 = VtepOf(cni::Family::kV6);
    if (node_.cluster.enable_ipv6 && base - v6.overhead < kIpv6MinMtu) {
      // The kernel turns IPv6 off on a device below 1280 bytes; say why up front,
      // before anything is changed.
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "an underlay MTU of " + std::to_string(base) + " leaves " + v6.name + " " +
                            std::to_string(base - v6.overhead) + " bytes, below IPv6's minimum of " +
                            std::to_string(kIpv6MinMtu) + " (the underlay needs at least " +
                            std::to_string(kIpv6MinMtu + v6.overhead) + ")");
    }
    for (cni::Family f : EnabledFamilies(node_.cluster)) {
      if (!InFamily(node_.self, f)) {
        return cni::Error(cni::Code::kInvalidNetworkConfig,
                          std::string("the cluster enables ") + FamilyName(f) + " but node \"" +
                              node_.self.name + "\" has no " + FamilyName(f) + " subnet");
      }
    }
    NodeSetup setup;
    setup.underlay = u->link.name;
    setup.underlay_index = u->link.index;
    for (Vtep& v : vteps_) {
      if (!Enabled(v.family)) {
        // Only the enabled families' VTEPs exist (an IPv6-only node has no linen.<VNI>).
        if (auto s = h_.DeleteLink(v.name); !s) return s.error().Context("delete " + v.name);
        v.index = 0;
        continue;
      }
      const int mtu = base - v.overhead;
      auto mac = EnsureVtep(v, *u, mtu);
      if (!mac) return mac.error();
      (v.family == cni::Family::kV4 ? setup.vtep_mac : setup.vtep_mac_v6) = *mac;
      setup.mtu = setup.mtu == 0 ? mtu : std::min(setup.mtu, mtu);
    }
    return setup;
  }

  cni::Result<ReconcileStats> Reconcile(const std::vector<NodeLease>& peers) override {
    return Apply(peers, /*full=*/true);
  }

  cni::Result<ReconcileStats> Update(const std::vector<NodeLease>& peers) override {
    return Apply(peers, /*full=*/false);
  }

  cni::Status Check(const std::vector<NodeLease>& peers) override {
    auto u = NodeUnderlay(h_, node_);
    if (!u) return u.error();
    for (const Vtep& v : vteps_) {
      if (!Enabled(v.family)) continue;
      auto link = h_.LinkByName(v.name);
      if (!link) return link.error().Context("vxlan device " + v.name);
      if (std::string why = Incompatible(*link, Want(v, *u)); !why.empty()) {
        return cni::Error(cni::Code::kBackendNotReady, "vxlan device " + v.name + " is wrong: " + why);
      }
      if (!link->admin_up) {
        return cni::Error(cni::Code::kBackendNotReady, "vxlan device " + v.name + " is down");
      }
    }
    auto plan = Desired(peers);
    if (!plan) return plan.error();
    return CheckDesired(h_, *plan);
  }

  cni::Status Ready() override {
    auto u = NodeUnderlay(h_, node_);
    if (!u) return u.error().WithCode(cni::Code::kNotAvailable);
    if (!u->link.admin_up) {
      return cni::Error(cni::Code::kNotAvailable, "underlay device \"" + u->link.name + "\" is down");
    }
    return cni::OkStatus();
  }

  cni::Status Cleanup() override {
    sync_.Forget();
    for (cni::Family f : EnabledFamilies(node_.cluster)) {
      if (auto s = DeleteOwnedRoutes(h_, ClusterNetwork(node_.cluster, f)); !s) return s;
    }
    // Both devices whatever the cluster enables: the names are ours, and a family
    // turned off since must not leave its VTEP behind. Deleting a device drops its
    // neighbours and FDB entries with it.
    for (Vtep& v : vteps_) {
      if (auto s = h_.DeleteLink(v.name); !s) return s.error().Context("delete " + v.name);
      v.index = 0;
    }
    return cni::OkStatus();
  }

 private:
  bool Enabled(cni::Family f) const {
    return f == cni::Family::kV4 ? node_.cluster.enable_ipv4 : node_.cluster.enable_ipv6;
  }
  Vtep& VtepOf(cni::Family f) { return vteps_[f == cni::Family::kV4 ? 0 : 1]; }
  const cni::IpAddr& LocalAddr(cni::Family f) const {
    return f == cni::Family::kV4 ? node_.self.node_ip : node_.self.node_ipv6;
  }
  const std::string& SelfMac(cni::Family f) const {
    return f == cni::Family::kV4 ? node_.self.vtep_mac : node_.self.vtep_mac_v6;
  }

  cni::nl::VxlanInfo Want(const Vtep& v, const Underlay& u) const {
    cni::nl::VxlanInfo want;
    want.vni = node_.cluster.vni;
    want.local = LocalAddr(v.family);
    want.dev_index = u.link.index;
    want.port = node_.cluster.port ? node_.cluster.port : kDefaultVxlanPort;
    want.learning = false;
    return want;
  }

  // The device of `v` made right; returns its MAC. The node has a subnet in its family.
  cni::Result<std::string> EnsureVtep(Vtep& v, const Underlay& u, int mtu) {
    auto self = InFamily(node_.self, v.family);  // EnsureNode checked it is there
    auto link = EnsureDevice(v, Want(v, u), mtu);
    if (!link) return link.error();
    if (link->mtu != mtu) {
      if (auto s = h_.SetMtu(link->index, mtu); !s) return s.error().Context("set MTU of " + v.name);
    }
    std::string mac = KernelMac(link->mac);
    const std::string& want_mac = SelfMac(v.family);
    if (!want_mac.empty() && mac != KernelMac(want_mac)) {
      if (auto s = h_.SetMac(link->index, want_mac); !s) {
        return s.error().Context("set MAC of " + v.name);
      }
      mac = KernelMac(want_mac);
    }
    if (auto s = EnsureAddress(v, link->index, self->subnet); !s) return s.error();
    if (!link->admin_up) {
      if (auto s = h_.SetUp(link->index); !s) return s.error().Context("set " + v.name + " up");
    }
    v.index = link->index;
    return mac;
  }

  cni::Result<cni::nl::LinkInfo> EnsureDevice(const Vtep& v, const cni::nl::VxlanInfo& want,
                                              int mtu) {
    auto link = h_.LinkByName(v.name);
    if (link) {
      std::string why = Incompatible(*link, want);
      if (why.empty()) return link;
      // Recreate, as flannel does: a VTEP with the wrong VNI/local/port silently
      // blackholes traffic, which is worse than a brief gap.
      if (log_) log_("recreating " + v.name + ": " + why);
      if (auto s = h_.DeleteLink(v.name); !s) return s.error().Context("delete " + v.name);
    } else if (!link.error().IsNotFound()) {
      return link.error().Context("look up " + v.name);
    }
    cni::nl::VxlanSpec spec;
    spec.name = v.name;
    spec.info = want;
    spec.mtu = mtu;
    spec.mac = SelfMac(v.family);
    if (auto s = h_.CreateVxlan(spec); !s && !s.error().IsExists()) {
      return s.error().Context("create vxlan device " + v.name);
    }
    auto created = h_.LinkByName(v.name);
    if (!created) return created.error().Context("look up " + v.name);
    return created;
  }

  // subnet.0 as a host address is the only address of the family inside the cluster
  // network; addresses of an old subnet (a node that changed subnet) are removed.
  // The IPv6 one skips duplicate address detection: it is unique by construction,
  // and a tentative address could not be the source of host->pod traffic for the
  // first second.
  cni::Status EnsureAddress(const Vtep& v, int index, const cni::IpNet& subnet) {
    const cni::IpNet want = cni::IpNet::Host(subnet.Network());
    const cni::IpNet& cluster = ClusterNetwork(node_.cluster, v.family);
    auto addrs = h_.ListAddrs(index, v.family);
    if (!addrs) return addrs.error().Context("list addresses of " + v.name);
    bool present = false;
    for (const cni::nl::AddrInfo& a : *addrs) {
      if (a.addr == want) {
        present = true;
      } else if (a.addr.family() == want.family() && cluster.Contains(a.addr.addr)) {
        if (auto s = h_.DeleteAddr(index, a.addr); !s) return s.error().Context("remove stale address");
      }
    }
    if (!present) {
      const uint32_t flags = v.family == cni::Family::kV6 ? cni::nl::kAddrNoDad : 0;
      if (auto s = h_.AddAddr(index, want, flags); !s && !s.error().IsExists()) {
        return s.error().Context("add " + want.ToString() + " to " + v.name);
      }
    }
    return cni::OkStatus();
  }

  cni::Result<int> VtepIndex(Vtep& v) {
    if (v.index != 0) return v.index;
    auto link = h_.LinkByName(v.name);
    if (!link) {
      if (link.error().IsNotFound()) {
        return cni::Error(cni::Code::kBackendNotReady,
                          "vxlan device " + v.name + " does not exist (EnsureNode not run?)");
      }
      return link.error().Context("look up " + v.name);
    }
    v.index = link->index;
    return v.index;
  }

  cni::Result<ReconcileStats> Apply(const std::vector<NodeLease>& peers, bool full) {
    auto plan = Desired(peers);
    if (!plan) return plan.error();
    return full ? sync_.Reconcile(h_, *plan) : sync_.Update(h_, *plan);
  }

  // Every enabled family's entries, on its VTEP.
  cni::Result<Plan> Desired(const std::vector<NodeLease>& peers) {
    std::optional<Underlay> u;
    if (node_.cluster.direct_routing) {
      auto r = NodeUnderlay(h_, node_);
      if (!r) return r.error();
      u = std::move(*r);
    }
    const auto others = OtherPeers(node_, peers);
    Plan plan;
    for (cni::Family f : EnabledFamilies(node_.cluster)) {
      auto idx = VtepIndex(VtepOf(f));
      if (!idx) return idx.error();
      FamilyPlan& fp = plan.emplace_back();
      fp.scope = Scope{ClusterNetwork(node_.cluster, f), *idx};
      fp.want.peers.reserve(others.size());
      for (const NodeLease* p : others) {
        auto pf = InFamily(*p, f);
        if (!pf) continue;
        AddPeer(fp.want, p->name, *pf, *idx, u && OnLink(*u, pf->node_ip) ? &*u : nullptr);
      }
    }
    return plan;
  }

  // `direct`: the underlay, when directRouting applies to this peer.
  static void AddPeer(DesiredState& want, const std::string& name, const FamilyLease& p,
                      int vtep_index, const Underlay* direct) {
    const cni::Family f = p.subnet.family();
    if (!direct && p.vtep_mac.empty()) {
      want.refused.push_back(
          {name, p.subnet, PeerFailureReason::kNoVtepMac, cni::Code::kInvalidNetworkConfig,
           "peer \"" + name + "\" has no " + (f == cni::Family::kV4 ? "" : "IPv6 ") +
               "VTEP MAC; is it running the vxlan backend?"});
      return;
    }
    DesiredPeer& d = want.peers.emplace_back();
    d.name = name;
    d.subnet = p.subnet;
    if (direct) {
      d.route = HostGwRoute(p, direct->link.index);
      return;
    }
    cni::IpAddr gw = p.subnet.Network();
    std::string mac = KernelMac(p.vtep_mac);
    d.neigh = cni::nl::NeighInfo{vtep_index, gw, mac};
    d.fdb = cni::nl::FdbInfo{vtep_index, std::move(mac), p.node_ip};
    d.route.dst = d.subnet;
    d.route.gw = gw;
    d.route.oif = vtep_index;
    d.route.onlink = true;
    d.route.protocol = cni::nl::kLinenRouteProtocol;
    d.route.priority = OwnedRouteMetric(f);
  }

  cni::nl::Handle& h_;
  LocalNode node_;
  Vtep vteps_[2];
  LogSink log_;
  DesiredSync sync_;
};

}  // namespace

std::unique_ptr<Backend> NewVxlanBackend(cni::nl::Handle& h, const LocalNode& node,
                                         LogSink log) {
  return std::make_unique<VxlanBackend>(h, node, std::move(log));
}

}  // namespace linen::overlay
