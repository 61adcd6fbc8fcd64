#include "overlay/plugin/node_context.h"

#include <unistd.h>

#include "overlay/backend/subnet_env.h"

namespace linen::overlay {

cni::Result<StaticNode> ResolveStaticNode(const MetaConf& m, cni::nl::Handle& h) {
  const StaticTopology& topo = *m.topology;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) < 0) host[0] = '\0';
  std::vector<cni::IpAddr> local;
  if (NeedsLocalAddrs(topo, m.node_name, host)) {
    auto addrs = h.ListAddrs(0);
    if (!addrs) return addrs.error().Context("list local addresses");
    for (const cni::nl::AddrInfo& a : *addrs) local.push_back(a.addr.addr);
  }
  auto self = FindSelf(topo, m.node_name, host, local);
  if (!self) return self.error();
  StaticNode n;
  n.local.self = *self;
  n.local.cluster = topo.config;
  n.local.underlay = m.underlay;
  n.peers = PeersOf(topo, *self);
  return n;
}

cni::Result<NodeNet> ReadAgentNode(const MetaConf& m) {
  auto env = ReadSubnetEnv(m.subnet_file);
  if (!env) {
    if (env.error().IsNotFound()) {
      return cni::Error(cni::Code::kTryAgainLater,
                        "subnet file " + m.subnet_file +
                            " does not exist: is linend running on this node? (no \"topology\" "
                            "in the config means agent mode)");
    }
    return env.error();
  }
  return NodeNet{env->network,  env->subnet,       env->mtu, env->ip_masq,
                 env->ipv6_network, env->ipv6_subnet};
}

cni::Status CheckAgentReady(const MetaConf& m, std::chrono::system_clock::time_point now) {
  const std::string path = ReadyMarkPath(m.subnet_file);
  auto mark = ReadReadyMark(path);
  if (!mark) {
    if (mark.error().IsNotFound()) {
      return cni::Error(cni::Code::kNotAvailable,
                        "no readiness mark " + path + ": is linend running on this node?");
    }
    return mark.error().WithCode(cni::Code::kNotAvailable);
  }
  if (mark->until < now) {
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - mark->until).count();
    return cni::Error(cni::Code::kNotAvailable,
                      "linend's readiness mark " + path + " went stale " + std::to_string(ago) +
                          " s ago: linend stopped without removing it, or its loop is stuck");
  }
  if (!mark->ready) {
    return cni::Error(cni::Code::kNotAvailable, "linend is not ready: " + mark->reason);
  }
  return cni::OkStatus();
}

}  // namespace linen::overlay
