// vxlan: pods on other nodes are reached through one VTEP device, linen.<VNI>.
//
// Design notes. Like flannel since 0.9 we program everything statically instead of
// reacting to L2/L3 misses: per peer one permanent neighbour (the peer's subnet.0 ->
// its VTEP MAC), one FDB entry (VTEP MAC -> peer node IP) and one onlink route
// (peer subnet via subnet.0). That is 3 entries per peer and no learning, so a
// node's state is linear in the cluster size and never depends on traffic.
// The device carries subnet.0/32 only as the source address for host->pod traffic.
// With a static topology the VTEP MAC is derived from the node IP (DeriveVtepMac) so
// every node can compute every other node's MAC without a registry.
#include "overlay/backend/vxlan.h"

#include <cctype>
#include <optional>

#include "overlay/backend/host_gw.h"
#include "overlay/backend/sync.h"
#include "overlay/backend/underlay.h"

namespace linen::overlay {
namespace {

constexpr uint16_t kDefaultVxlanPort = 8472;

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

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

class VxlanBackend : public Backend {
 public:
  VxlanBackend(cni::nl::Handle& h, const LocalNode& node, LogSink log)
      : h_(h), node_(node), dev_name_(VxlanDeviceName(node.cluster.vni)), log_(std::move(log)) {}

  BackendType type() const override { return BackendType::kVxlan; }

  cni::Result<NodeSetup> EnsureNode() override {
    auto u = ResolveUnderlay(h_, node_.underlay, node_.self.node_ip);
    if (!u) return u.error();
    int base = node_.cluster.mtu > 0 ? node_.cluster.mtu : u->link.mtu;
    int mtu = base - kVxlanOverhead;
    cni::nl::VxlanInfo want;
    want.vni = node_.cluster.vni;
    want.local = node_.self.node_ip;
    want.dev_index = u->link.index;
    want.port = node_.cluster.port ? node_.cluster.port : kDefaultVxlanPort;
    want.learning = false;

    auto link = EnsureDevice(want, mtu);
    if (!link) return link.error();
    if (link->mtu != mtu) {
      if (auto s = h_.SetMtu(link->index, mtu); !s) return s.error().Context("set MTU of " + dev_name_);
    }
    std::string mac = Lower(link->mac);
    if (!node_.self.vtep_mac.empty() && mac != Lower(node_.self.vtep_mac)) {
      if (auto s = h_.SetMac(link->index, node_.self.vtep_mac); !s) {
        return s.error().Context("set MAC of " + dev_name_);
      }
      mac = Lower(node_.self.vtep_mac);
    }
    if (auto s = EnsureAddress(link->index); !s) return s.error();
    if (!link->admin_up) {
      if (auto s = h_.SetUp(link->index); !s) return s.error().Context("set " + dev_name_ + " up");
    }
    vtep_index_ = link->index;
    NodeSetup setup;
    setup.mtu = mtu;
    setup.vtep_mac = mac;
    setup.underlay = u->link.name;
    setup.underlay_index = u->link.index;
    return setup;
  }

  cni::Result<ReconcileStats> Reconcile(const std::vector<NodeLease>& peers) override {
    return Apply(peers, /*full=*/true);
  }

  cni::Result<ReconcileStats> Update(const std::vector<NodeLease>& peers) override {
    return Apply(peers, /*full=*/false);
  }

  cni::Status Check(const std::vector<NodeLease>& peers) override {
    auto link = h_.LinkByName(dev_name_);
    if (!link) return link.error().Context("vxlan device " + dev_name_);
    auto u = ResolveUnderlay(h_, node_.underlay, node_.self.node_ip);
    if (!u) return u.error();
    cni::nl::VxlanInfo want{node_.cluster.vni, node_.self.node_ip, u->link.index,
                            node_.cluster.port, false};
    if (std::string why = Incompatible(*link, want); !why.empty()) {
      return cni::Error(cni::Code::kBackendNotReady, "vxlan device " + dev_name_ + " is wrong: " + why);
    }
    if (!link->admin_up) {
      return cni::Error(cni::Code::kBackendNotReady, "vxlan device " + dev_name_ + " is down");
    }
    auto want_state = Desired(peers, link->index);
    if (!want_state) return want_state.error();
    return CheckDesired(h_, Scope{node_.cluster.network, link->index}, *want_state);
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
    if (auto s = DeleteOwnedRoutes(h_, node_.cluster.network); !s) return s;
    // Deleting the device drops its neighbours and FDB entries with it.
    if (auto s = h_.DeleteLink(dev_name_); !s) return s.error().Context("delete " + dev_name_);
    vtep_index_ = 0;
    return cni::OkStatus();
  }

 private:
  cni::Result<cni::nl::LinkInfo> EnsureDevice(const cni::nl::VxlanInfo& want, int mtu) {
    auto link = h_.LinkByName(dev_name_);
    if (link) {
      std::string why = Incompatible(*link, want);
      if (why.empty()) return link;
      // Recreate, as flannel does: a VTEP with the wrong VNI/local/port silently
      // blackholes traffic, which is worse than a brief gap.
      if (log_) log_("recreating " + dev_name_ + ": " + why);
      if (auto s = h_.DeleteLink(dev_name_); !s) return s.error().Context("delete " + dev_name_);
    } else if (!link.error().IsNotFound()) {
      return link.error().Context("look up " + dev_name_);
    }
    cni::nl::VxlanSpec spec;
    spec.name = dev_name_;
    spec.info = want;
    spec.mtu = mtu;
    spec.mac = node_.self.vtep_mac;
    if (auto s = h_.CreateVxlan(spec); !s && !s.error().IsExists()) {
      return s.error().Context("create vxlan device " + dev_name_);
    }
    auto created = h_.LinkByName(dev_name_);
    if (!created) return created.error().Context("look up " + dev_name_);
    return created;
  }

  // subnet.0/32 is the only address; addresses of an old subnet of this cluster
  // network (a node that changed subnet) are removed.
  cni::Status EnsureAddress(int index) {
    cni::IpNet want = cni::IpNet::Host(node_.self.subnet.Network());
    auto addrs = h_.ListAddrs(index);
    if (!addrs) return addrs.error().Context("list addresses of " + dev_name_);
    bool present = false;
    for (const cni::nl::AddrInfo& a : *addrs) {
      if (a.addr == want) {
        present = true;
      } else if (a.addr.family() == want.family() && node_.cluster.network.Contains(a.addr.addr)) {
        if (auto s = h_.DeleteAddr(index, a.addr); !s) return s.error().Context("remove stale address");
      }
    }
    if (!present) {
      if (auto s = h_.AddAddr(index, want); !s && !s.error().IsExists()) {
        return s.error().Context("add " + want.ToString() + " to " + dev_name_);
      }
    }
    return cni::OkStatus();
  }

  cni::Result<int> VtepIndex() {
    if (vtep_index_ != 0) return vtep_index_;
    auto link = h_.LinkByName(dev_name_);
    if (!link) {
      if (link.error().IsNotFound()) {
        return cni::Error(cni::Code::kBackendNotReady,
                          "vxlan device " + dev_name_ + " does not exist (EnsureNode not run?)");
      }
      return link.error().Context("look up " + dev_name_);
    }
    vtep_index_ = link->index;
    return vtep_index_;
  }

  cni::Result<ReconcileStats> Apply(const std::vector<NodeLease>& peers, bool full) {
    auto idx = VtepIndex();
    if (!idx) return idx.error();
    auto want = Desired(peers, *idx);
    if (!want) return want.error();
    const Scope scope{node_.cluster.network, *idx};
    return full ? sync_.Reconcile(h_, scope, *want) : sync_.Update(h_, scope, *want);
  }

  cni::Result<DesiredState> Desired(const std::vector<NodeLease>& peers, int vtep_index) {
    std::optional<Underlay> u;
    if (node_.cluster.direct_routing) {
      auto r = ResolveUnderlay(h_, node_.underlay, node_.self.node_ip);
      if (!r) return r.error();
      u = std::move(*r);
    }
    DesiredState want;
    auto others = OtherPeers(node_.self, peers);
    want.peers.reserve(others.size());
    for (const NodeLease* p : others) {
      const bool direct = u && OnLink(*u, p->node_ip);
      if (!direct && p->vtep_mac.empty()) {
        want.refused.push_back(
            {p->name, p->subnet.Masked(), PeerFailureReason::kNoVtepMac,
             cni::Code::kInvalidNetworkConfig,
             "peer \"" + p->name + "\" has no VTEP MAC; is it running the vxlan backend?"});
        continue;
      }
      DesiredPeer& d = want.peers.emplace_back();
      d.name = p->name;
      d.subnet = p->subnet.Masked();
      if (direct) {
        d.route = HostGwRoute(*p, u->link.index);
        continue;
      }
      cni::IpAddr gw = p->subnet.Network();
      std::string mac = Lower(p->vtep_mac);
      d.neigh = cni::nl::NeighInfo{vtep_index, gw, mac};
      d.fdb = cni::nl::FdbInfo{vtep_index, std::move(mac), p->node_ip};
      d.route.dst = d.subnet;
      d.route.gw = gw;
      d.route.oif = vtep_index;
      d.route.onlink = true;
      d.route.protocol = cni::nl::kLinenRouteProtocol;
    }
    return want;
  }

  cni::nl::Handle& h_;
  LocalNode node_;
  std::string dev_name_;
  LogSink log_;
  int vtep_index_ = 0;
  DesiredSync sync_;
};

}  // namespace

std::unique_ptr<Backend> NewVxlanBackend(cni::nl::Handle& h, const LocalNode& node,
                                         LogSink log) {
  return std::make_unique<VxlanBackend>(h, node, std::move(log));
}

}  // namespace linen::overlay
