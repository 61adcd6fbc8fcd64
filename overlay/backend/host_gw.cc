#include "overlay/backend/host_gw.h"

#include "overlay/backend/sync.h"

namespace linen::overlay {

cni::nl::RouteInfo HostGwRoute(const FamilyLease& peer, int underlay_index) {
  cni::nl::RouteInfo r;
  r.dst = peer.subnet;
  r.gw = peer.node_ip;
  r.oif = underlay_index;
  r.protocol = cni::nl::kLinenRouteProtocol;
  r.priority = OwnedRouteMetric(peer.subnet.family());
  return r;
}

std::vector<const NodeLease*> OtherPeers(const LocalNode& node, const std::vector<NodeLease>& peers) {
  const std::vector<cni::Family> families = EnabledFamilies(node.cluster);
  std::vector<const NodeLease*> out;
  out.reserve(peers.size());
  auto ours = [&](const NodeLease& p) {
    if (p.name == node.self.name) return true;
    for (cni::Family f : families) {
      auto mine = InFamily(node.self, f);
      auto theirs = InFamily(p, f);
      if (mine && theirs && mine->subnet == theirs->subnet) return true;
    }
    return false;
  };
  for (const NodeLease& p : peers) {
    if (!ours(p)) out.push_back(&p);
  }
  return out;
}

namespace {

class HostGwBackend : public Backend {
 public:
  HostGwBackend(cni::nl::Handle& h, const LocalNode& node) : h_(h), node_(node) {}

  BackendType type() const override { return BackendType::kHostGw; }

  cni::Result<NodeSetup> EnsureNode() override {
    auto u = NodeUnderlay(h_, node_);
    if (!u) return u.error();
    NodeSetup setup;
    setup.mtu = node_.cluster.mtu > 0 ? node_.cluster.mtu : u->link.mtu;
    setup.underlay = u->link.name;
    setup.underlay_index = u->link.index;
    return setup;
  }

  cni::Result<ReconcileStats> Reconcile(const std::vector<NodeLease>& peers) override {
    auto plan = Desired(peers);
    if (!plan) return plan.error();
    return sync_.Reconcile(h_, *plan);
  }

  cni::Result<ReconcileStats> Update(const std::vector<NodeLease>& peers) override {
    auto plan = Desired(peers);
    if (!plan) return plan.error();
    return sync_.Update(h_, *plan);
  }

  cni::Status Check(const std::vector<NodeLease>& peers) override {
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
    return cni::OkStatus();
  }

 private:
  cni::Result<Plan> Desired(const std::vector<NodeLease>& peers) {
    auto u = NodeUnderlay(h_, node_);
    if (!u) return u.error();
    const auto others = OtherPeers(node_, peers);
    Plan plan;
    for (cni::Family f : EnabledFamilies(node_.cluster)) {
      FamilyPlan& fp = plan.emplace_back();
      fp.scope = Scope{ClusterNetwork(node_.cluster, f), 0};
      for (const NodeLease* p : others) {
        auto pf = InFamily(*p, f);
        if (!pf) continue;
        if (!OnLink(*u, pf->node_ip)) {
          fp.want.refused.push_back(
              {p->name, pf->subnet, PeerFailureReason::kNotOnLink,
               cni::Code::kInvalidNetworkConfig,
               "host-gw needs L2 adjacency: peer \"" + p->name + "\" (node " +
                   (f == cni::Family::kV4 ? "IP " : "IPv6 address ") + pf->node_ip.ToString() +
                   ") is not on a subnet directly connected to " + u->link.name +
                   "; use the vxlan backend for routed underlays"});
          continue;
        }
        fp.want.peers.push_back({p->name, pf->subnet, HostGwRoute(*pf, u->link.index)});
      }
    }
    return plan;
  }

  cni::nl::Handle& h_;
  DesiredSync sync_;
  LocalNode node_;
};

}  // namespace

std::unique_ptr<Backend> NewHostGwBackend(cni::nl::Handle& h, const LocalNode& node) {
  return std::make_unique<HostGwBackend>(h, node);
}

}  // namespace linen::overlay
