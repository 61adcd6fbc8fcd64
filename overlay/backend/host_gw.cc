#include "overlay/backend/host_gw.h"

#include "overlay/backend/sync.h"

namespace linen::overlay {

cni::nl::RouteInfo HostGwRoute(const NodeLease& peer, int underlay_index) {
  cni::nl::RouteInfo r;
  r.dst = peer.subnet.Masked();
  r.gw = peer.node_ip;
  r.oif = underlay_index;
  r.protocol = cni::nl::kLinenRouteProtocol;
  return r;
}

std::vector<const NodeLease*> OtherPeers(const NodeLease& self, const std::vector<NodeLease>& peers) {
  std::vector<const NodeLease*> out;
  out.reserve(peers.size());
  for (const NodeLease& p : peers) {
    if (p.name == self.name || p.subnet.Masked() == self.subnet.Masked()) continue;
    out.push_back(&p);
  }
  return out;
}

namespace {

class HostGwBackend : public Backend {
 public:
  HostGwBackend(cni::nl::Handle& h, const LocalNode& node) : h_(h), node_(node) {}

  BackendType type() const override { return BackendType::kHostGw; }

  cni::Result<NodeSetup> EnsureNode() override {
    auto u = ResolveUnderlay(h_, node_.underlay, node_.self.node_ip);
    if (!u) return u.error();
    NodeSetup setup;
    setup.mtu = node_.cluster.mtu > 0 ? node_.cluster.mtu : u->link.mtu;
    setup.underlay = u->link.name;
    setup.underlay_index = u->link.index;
    return setup;
  }

  cni::Result<ReconcileStats> Reconcile(const std::vector<NodeLease>& peers) override {
    auto want = Desired(peers);
    if (!want) return want.error();
    return sync_.Reconcile(h_, Scope{node_.cluster.network, 0}, *want);
  }

  cni::Result<ReconcileStats> Update(const std::vector<NodeLease>& peers) override {
    auto want = Desired(peers);
    if (!want) return want.error();
    return sync_.Update(h_, Scope{node_.cluster.network, 0}, *want);
  }

  cni::Status Check(const std::vector<NodeLease>& peers) override {
    auto want = Desired(peers);
    if (!want) return want.error();
    return CheckDesired(h_, Scope{node_.cluster.network, 0}, *want);
  }

  cni::Status Ready() override {
    auto u = ResolveUnderlay(h_, node_.underlay, node_.self.node_ip);
    if (!u) return u.error().WithCode(cni::Code::kNotAvailable);
    if (!u->link.admin_up) {
      return cni::Error(cni::Code::kNotAvailable, "underlay device \"" + u->link.name + "\" is down");
    }
    return cni::OkStatus();
  }

  cni::Status Cleanup() override {
    sync_.Forget();
    return DeleteOwnedRoutes(h_, node_.cluster.network);
  }

 private:
  cni::Result<DesiredState> Desired(const std::vector<NodeLease>& peers) {
    auto u = ResolveUnderlay(h_, node_.underlay, node_.self.node_ip);
    if (!u) return u.error();
    DesiredState want;
    for (const NodeLease* p : OtherPeers(node_.self, peers)) {
      if (!OnLink(*u, p->node_ip)) {
        want.refused.push_back(
            {p->name, p->subnet.Masked(), PeerFailureReason::kNotOnLink,
             cni::Code::kInvalidNetworkConfig,
             "host-gw needs L2 adjacency: peer \"" + p->name + "\" (node IP " +
                 p->node_ip.ToString() + ") is not on a subnet directly connected to " +
                 u->link.name + "; use the vxlan backend for routed underlays"});
        continue;
      }
      want.peers.push_back({p->name, p->subnet.Masked(), HostGwRoute(*p, u->link.index)});
    }
    return want;
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
