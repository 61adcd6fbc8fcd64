#include "overlay/plugin/meta_plugin.h"

#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "libcni/invoke.h"
#include "libcni/netlink/handle.h"
#include "libcni/rollback.h"
#include "libcni/skel.h"
#include "netns/netns.h"
#include "overlay/backend/backend.h"
#include "overlay/backend/masquerade.h"
#include "overlay/backend/subnet_env.h"
#include "overlay/plugin/delegate.h"
#include "overlay/plugin/meta_conf.h"
#include "overlay/plugin/node_context.h"
#include "overlay/plugin/node_lock.h"

namespace linen::overlay {
namespace {

// The node's network as the topology gives it, only the families the cluster enables.
NodeNet NodeNetOf(const LocalNode& local, int mtu) {
  const ClusterConfig& c = local.cluster;
  NodeNet n;
  n.mtu = mtu;
  n.ip_masq = c.ip_masq;
  if (c.enable_ipv4) {
    n.network = c.network;
    n.subnet = local.self.subnet;
  }
  if (c.enable_ipv6) {
    n.ipv6_network = c.ipv6_network;
    n.ipv6_subnet = local.self.ipv6_subnet;
  }
  return n;
}

cni::Result<NodeNet> SetUpWith(const MetaConf& m, Backend& backend, const StaticNode& node) {
  auto setup = backend.EnsureNode();
  if (!setup) return setup.error();
  auto stats = backend.Reconcile(node.peers);
  if (!stats) return stats.error();
  // The other peers are programmed, but a static topology names every node the
  // operator wants reachable, and the plugin has no log or metrics to report a
  // partial data path: the ADD fails with the first peer's reason.
  if (auto s = FailuresAsError(stats->failures); !s) return s.error();
  NodeNet net = NodeNetOf(node.local, setup->mtu);
  SubnetEnv env{net.network,      net.subnet,     net.mtu, net.ip_masq, BackendName(m.backend),
                node.local.self.name, net.ipv6_network, net.ipv6_subnet};
  if (auto s = WriteSubnetEnv(m.subnet_file, env); !s) return s.error();
  return net;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Static mode, under the node lock: bring the node-level data path in line with the
// topology and record the result in subnet.env. When the node had no overlay state
// before (*fresh: no subnet.env and, for vxlan, no device), undo registers removing
// it all again, so a failed first ADD leaves the node as it was.
cni::Result<NodeNet> SetUpStaticNode(const MetaConf& m, cni::nl::Handle& h, const StaticNode& node,
                                     cni::Rollback& undo, bool* fresh) {
  auto backend = NewBackend(h, node.local);
  *fresh = !Exists(m.subnet_file);
  if (*fresh && m.backend == BackendType::kVxlan) {
    // Either family's VTEP (an IPv6-only node has only linen-v6.<VNI>).
    const uint32_t vni = node.local.cluster.vni;
    for (const std::string& name : {VxlanDeviceName(vni), VxlanV6DeviceName(vni)}) {
      auto dev = h.LinkByName(name);
      if (dev) {
        *fresh = false;
      } else if (!dev.error().IsNotFound()) {
        return dev.error().Context("vxlan device " + name);
      }
    }
  }
  if (*fresh) {
    // The backend object must outlive the undo step; share it.
    std::shared_ptr<Backend> b(std::move(backend));
    backend.reset();
    undo.Add([b] { (void)b->Cleanup(); });
    undo.Add([path = m.subnet_file] { unlink(path.c_str()); });
    return SetUpWith(m, *b, node);
  }
  return SetUpWith(m, *backend, node);
}

// The node's network without changing anything (DEL, CHECK, STATUS, GC).
cni::Result<NodeNet> ReadNodeNet(const MetaConf& m) {
  if (m.agent_mode()) return ReadAgentNode(m);
  auto h = cni::nl::Handle::Open();
  if (!h) return h.error().Context("netlink");
  auto node = ResolveStaticNode(m, *h);
  if (!node) return node.error();
  // The MTU as it is now; CHECK/STATUS do not need the exact value, DEL none at all.
  auto env = ReadSubnetEnv(m.subnet_file);
  int mtu = env ? env->mtu : 0;
  return NodeNetOf(node->local, mtu);
}

cni::Result<cni::json> DelegateFor(const cni::CmdArgs& args, const MetaConf& m) {
  for (const std::string& path :
       {DelegatePath(m, args.conf.name, args.container_id, args.ifname),
        LegacyDelegatePath(m, args.conf.name, args.container_id, args.ifname)}) {
    auto saved = LoadDelegate(path);
    if (saved) return saved;
    // Unreadable or torn (it is not fsync'd): render it from the node as if absent.
    if (!saved.error().IsNotFound() && saved.error().code() != cni::Code::kDecodingFailure) {
      return saved.error();
    }
  }
  auto net = ReadNodeNet(m);
  if (net) return RenderDelegate(args.conf, m, *net);
  // Neither a saved config nor a resolvable node (e.g. linend gone): host-local
  // releases by container ID whatever the ranges say, so a placeholder range still
  // lets DEL free the address.
  NodeNet placeholder{*cni::IpNet::Parse("192.0.2.0/24"), *cni::IpNet::Parse("192.0.2.0/24"), 0,
                      false};
  return RenderDelegate(args.conf, m, placeholder);
}

// Where this node's facts come from: linend's subnet file in agent mode, otherwise
// the static topology, resolved through a netlink handle in the node's namespace.
struct NodeSource {
  std::optional<cni::nl::Handle> handle;  // static topology only
  std::optional<StaticNode> node;         // static topology only
  NodeNet net;                            // agent mode only
};

cni::Result<NodeSource> ResolveNodeSource(const MetaConf& m) {
  NodeSource src;
  if (m.agent_mode()) {
    auto n = ReadAgentNode(m);
    if (!n) return n.error();
    src.net = *n;
    return src;
  }
  auto opened = cni::nl::Handle::Open();
  if (!opened) return opened.error().Context("netlink");
  src.handle.emplace(std::move(*opened));
  auto resolved = ResolveStaticNode(m, *src.handle);
  if (!resolved) return resolved.error();
  src.node = std::move(*resolved);
  return src;
}

}  // namespace

cni::Result<cni::AddResult> MetaAdd(const cni::CmdArgs& args) {
  // Everything that can be refused is refused before the node changes.
  auto m = ParseMetaConf(args.conf);
  if (!m) return m.error();
  if (auto a = cni::ParseCniArgs(args.args); !a) return a.error();
  if (auto ns = cni::NetNs::Open(args.netns); !ns) return ns.error();
  auto src = ResolveNodeSource(*m);
  if (!src) return src.error();
  std::optional<cni::nl::Handle>& h = src->handle;
  std::optional<StaticNode>& node = src->node;
  NodeNet net = src->net;

  // Only node-level work is serialised; the pod's own setup runs in parallel, except
  // on the first ADD of a node: it keeps the lock until the pod is up, so that no
  // other pod can come to depend on node state this ADD may still have to undo.
  auto lock = NodeLock::Acquire(m->LockPath(args.conf.name));
  if (!lock) return lock.error();
  std::optional<NodeLock> held(std::move(*lock));
  std::optional<cni::nft::Socket> nft;  // outlives `undo`, whose steps use it
  cni::Rollback undo;
  bool fresh = false;
  if (node) {
    auto n = SetUpStaticNode(*m, *h, *node, undo, &fresh);
    if (!n) return n.error();
    net = *n;
  }
  bool created = fresh;
  // Static topology: the node masquerade is added once, by the first ADD (one
  // request that changes nothing when the table exists). In agent mode linend owns
  // it and no ADD touches nftables.
  if (node && net.ip_masq) {
    auto opened = cni::nft::Socket::Open();
    if (!opened) return opened.error();
    nft.emplace(std::move(*opened));
    auto added = AddNodeMasqueradeIfAbsent(*nft, args.conf.name, net.Networks());
    if (!added) return added.error();
    for (cni::Family family : *added) {
      created = true;
      undo.Add([&nft, name = args.conf.name, family] { (void)DeleteMasquerade(*nft, name, family); });
    }
  }
  if (!created) {
    // The node was set up before us and other pods rely on it: nothing node-level to
    // undo from here on, and no reason to hold up concurrent ADDs.
    undo.Commit();
    held.reset();
  }

  cni::json delegate = RenderDelegate(args.conf, *m, net);
  std::string path = DelegatePath(*m, args.conf.name, args.container_id, args.ifname);
  // Saved before the ADD: a failed ADD is followed by a DEL, which needs it.
  if (auto s = SaveDelegate(path, delegate); !s) return s.error();
  if (args.conf.prev_result) delegate["prevResult"] = *args.conf.prev_result;
  std::string text = delegate.dump();
  auto res = cni::DelegateAdd(DelegateType(delegate), args, text);
  if (!res) {
    // Undo the pod's half (the delegate cleans what it made), then our record of it.
    (void)cni::DelegateCommand("DEL", DelegateType(delegate), args, text);
    (void)RemoveDelegate(path);
    return res.error();
  }
  undo.Commit();
  return res;
}

cni::Status MetaDel(const cni::CmdArgs& args) {
  auto m = ParseMetaConf(args.conf);
  if (!m) return m.error();
  auto delegate = DelegateFor(args, *m);
  if (!delegate) return delegate.error();
  if (args.conf.prev_result) (*delegate)["prevResult"] = *args.conf.prev_result;
  if (auto s = cni::DelegateCommand("DEL", DelegateType(*delegate), args, delegate->dump()); !s) {
    return s;
  }
  if (auto s = RemoveDelegate(LegacyDelegatePath(*m, args.conf.name, args.container_id,
                                                 args.ifname));
      !s) {
    return s;
  }
  return RemoveDelegate(DelegatePath(*m, args.conf.name, args.container_id, args.ifname));
}

cni::Status MetaCheck(const cni::CmdArgs& args) {
  auto m = ParseMetaConf(args.conf);
  if (!m) return m.error();
  auto src = ResolveNodeSource(*m);
  if (!src) return src.error();
  NodeNet net = src->net;
  if (src->node) {
    const LocalNode& local = src->node->local;
    auto backend = NewBackend(*src->handle, local);
    if (auto s = backend->Check(src->node->peers); !s) {
      return s.error().Context("node " + local.self.name);
    }
    net = NodeNetOf(local, 0);
  }
  if (net.ip_masq) {
    auto nft = cni::nft::Socket::Open();
    if (!nft) return nft.error();
    const std::string owner = src->node ? args.conf.name : std::string(kAgentMasqName);
    if (auto s = CheckNodeMasquerade(*nft, owner, net.Networks()); !s) return s;
  }
  auto delegate = DelegateFor(args, *m);
  if (!delegate) return delegate.error();
  if (args.conf.prev_result) (*delegate)["prevResult"] = *args.conf.prev_result;
  return cni::DelegateCommand("CHECK", DelegateType(*delegate), args, delegate->dump());
}

cni::Status MetaStatus(const cni::CmdArgs& args) {
  auto m = ParseMetaConf(args.conf);
  if (!m) return m.error();
  auto not_ready = [](const cni::Error& e) {
    return cni::Error(cni::Code::kNotAvailable, e.msg(), e.details());
  };
  NodeNet net;
  if (m->agent_mode()) {
    // linend's own word first: its mark names the reason (subnet.env outlives it).
    // A subnet.env without linen's keys was written by flanneld, which keeps no mark:
    // as with flannel's own plugin, the file is all there is to go by.
    auto env = ReadSubnetEnv(m->subnet_file);
    const bool flanneld_wrote = env && env->node.empty() && env->backend.empty();
    if (!flanneld_wrote) {
      if (auto ready = CheckAgentReady(*m); !ready) return ready;
    }
    auto n = ReadAgentNode(*m);
    if (!n) return not_ready(n.error());
    net = *n;
  } else {
    auto h = cni::nl::Handle::Open();
    if (!h) return not_ready(h.error());
    auto node = ResolveStaticNode(*m, *h);
    if (!node) return not_ready(node.error());
    auto backend = NewBackend(*h, node->local);
    if (auto s = backend->Ready(); !s) return not_ready(s.error());
    net = NodeNetOf(node->local, 0);
  }
  cni::json delegate = RenderDelegate(args.conf, *m, net);
  return cni::DelegateCommand("STATUS", DelegateType(delegate), args, delegate.dump());
}

cni::Status MetaGc(const cni::CmdArgs& args) {
  auto m = ParseMetaConf(args.conf);
  if (!m) return m.error();
  if (!m->agent_mode() && Exists(m->LockPath(args.conf.name))) {
    // A plugin killed between linking and renaming subnet.env's temp file leaves it;
    // sweep it under the node lock (the lock file exists: never create it from GC).
    auto lock = NodeLock::Acquire(m->LockPath(args.conf.name));
    if (!lock) return lock.error();
    if (auto s = RemoveSubnetEnvTemps(m->subnet_file); !s) return s;
  }
  auto valid = cni::ValidAttachments(args.conf.raw);
  if (!valid) return valid.error();
  auto net = ReadNodeNet(*m);
  if (!net) return net.error();
  cni::json delegate = RenderDelegate(args.conf, *m, *net);
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    if (args.conf.raw.contains(key)) delegate[key] = args.conf.raw[key];
  }
  // Both run; the first failure is reported, as the spec asks of GC.
  auto delegated = cni::DelegateCommand("GC", DelegateType(delegate), args, delegate.dump());
  auto own = GcDelegates(*m, args.conf.name, *valid);
  return delegated ? own : delegated;
}

cni::PluginFuncs MetaPluginFuncs() {
  cni::PluginFuncs f;
  f.add = MetaAdd;
  f.del = MetaDel;
  f.check = MetaCheck;
  f.status = MetaStatus;
  f.gc = MetaGc;
  return f;
}

}  // namespace linen::overlay
