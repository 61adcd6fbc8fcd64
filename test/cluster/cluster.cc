#include "test/cluster/cluster.h"

#include <unistd.h>

#include "libcni/netlink/handle.h"
#include "netns/netns.h"

namespace linen::test {

std::string ClusterCniPath() { return CniBinDir() + ":/usr/lib/cni"; }

cni::Result<std::unique_ptr<Cluster>> Cluster::Create(const std::string& type, int nodes,
                                                      Families families) {
  std::unique_ptr<Cluster> c(new Cluster());
  c->type_ = type;
  c->families_ = families;
  c->net_name_ = "lt" + std::to_string(getpid());
  c->dir_ = std::make_unique<TempDir>();
  auto u = TempNetns::Create("ovu");
  if (!u) return u.error();
  c->underlay_.emplace(std::move(*u));
  auto h = cni::nl::Handle::OpenIn(c->underlay_->ns());
  if (!h) return h.error();
  if (auto s = h->CreateBridge({.name = "ulbr"}); !s) return s.error();
  auto br = h->LinkByName("ulbr");
  if (!br) return br.error();
  if (auto s = h->SetUp(br->index); !s) return s.error();
  for (int i = 0; i < nodes; ++i) {
    if (auto s = c->AddNode(); !s) return s.error();
  }
  return c;
}

Cluster::~Cluster() {
  // Pods first (their veths live in node namespaces), then nodes, then the underlay.
  pods_.clear();
  nodes_.clear();
}

cni::Status Cluster::AddNode(bool in_topology) {
  int i = static_cast<int>(nodes_.size()) + 1;
  auto n = std::make_unique<ClusterNode>();
  n->name = "n" + std::to_string(i);
  n->ip = "192.168.77." + std::to_string(i);
  n->subnet = "10.77." + std::to_string(i) + ".0/24";
  n->ip6 = "fd00:77::" + std::to_string(i);
  n->subnet6 = "fd00:10:77:" + std::to_string(i) + "::/64";
  n->dir = dir_->path() + "/" + n->name;
  auto ns = TempNetns::Create("ovn");
  if (!ns) return ns.error();
  n->ns.emplace(std::move(*ns));
  // No DAD on the node's links: a fresh link-local address stays tentative for a
  // second or more, and until then the node sends no neighbour solicitation for a
  // packet it forwards (host-gw over IPv6 would lose the first pings).
  if (auto r = InNs(*n->ns, "sysctl -qw net.ipv6.conf.all.accept_dad=0 "
                            "net.ipv6.conf.default.accept_dad=0");
      r.exit_code != 0) {
    return cni::Error(cni::Code::kInternal, "sysctl accept_dad: " + r.err);
  }
  auto hn = cni::nl::Handle::OpenIn(n->ns->ns());
  if (!hn) return hn.error();
  auto hu = cni::nl::Handle::OpenIn(underlay_->ns());
  if (!hu) return hu.error();
  std::string port = UniqueName("ulp");
  if (auto s = hn->CreateVeth({.name = "eth0", .peer_name = port, .peer_ns = &underlay_->ns()}); !s) {
    return s.error();
  }
  auto eth0 = hn->LinkByName("eth0");
  if (!eth0) return eth0.error();
  if (auto s = hn->AddAddr(eth0->index, *cni::IpNet::Parse(n->ip + "/24")); !s) return s.error();
  // No DAD: a tentative address cannot be the source of the first packets.
  if (auto s = hn->AddAddr(eth0->index, *cni::IpNet::Parse(n->ip6 + "/64"), cni::nl::kAddrNoDad);
      !s) {
    return s.error();
  }
  if (auto s = hn->SetUp(eth0->index); !s) return s.error();
  auto p = hu->LinkByName(port);
  auto br = hu->LinkByName("ulbr");
  if (!p || !br) return cni::Error(cni::Code::kInternal, "underlay port or bridge missing");
  if (auto s = hu->SetMaster(p->index, br->index); !s) return s.error();
  if (auto s = hu->SetUp(p->index); !s) return s.error();
  if (in_topology) {
    nlohmann::json entry = {{"name", n->name}};
    if (families_.ipv4) {
      entry["ip"] = n->ip;
      entry["subnet"] = n->subnet;
    }
    if (families_.ipv6) {
      entry["ipv6"] = n->ip6;
      entry["ipv6Subnet"] = n->subnet6;
    }
    topo_nodes_.push_back(std::move(entry));
  }
  nodes_.push_back(std::move(n));
  return cni::OkStatus();
}

ClusterNode& Cluster::node(const std::string& name) {
  for (auto& n : nodes_) {
    if (n->name == name) return *n;
  }
  std::abort();
}

std::string Cluster::ConfFor(const std::string& node_name) const {
  const ClusterNode* n = nullptr;
  for (auto& x : nodes_) {
    if (x->name == node_name) n = x.get();
  }
  nlohmann::json topology = {{"nodes", topo_nodes_}};
  if (families_.ipv4) topology["network"] = "10.77.0.0/16";
  if (!families_.ipv4) topology["enableIPv4"] = false;
  if (families_.ipv6) {
    topology["enableIPv6"] = true;
    topology["ipv6Network"] = "fd00:10:77::/48";
    topology["ipv6SubnetLen"] = 64;
  }
  nlohmann::json conf = {
      {"cniVersion", "1.0.0"},
      {"name", net_name_},
      {"type", type_},
      {"topology", topology},
      {"subnetFile", n->dir + "/subnet.env"},
      {"dataDir", n->dir + "/delegates"},
      {"ipam", {{"dataDir", n->dir + "/ipam"}}},
  };
  for (auto& [k, v] : extra_conf_.items()) conf[k] = v;
  return conf.dump();
}

ProcResult Cluster::RunPlugin(const std::string& node_name, const std::string& command,
                              const Pod& pod, const std::string& conf_override) const {
  const ClusterNode* n = nullptr;
  for (auto& x : nodes_) {
    if (x->name == node_name) n = x.get();
  }
  std::map<std::string, std::string> env = {
      {"CNI_COMMAND", command},     {"CNI_CONTAINERID", pod.id},
      {"CNI_NETNS", pod.ns->path()}, {"CNI_IFNAME", "eth0"},
      {"CNI_PATH", ClusterCniPath()},
  };
  std::string conf = conf_override.empty() ? ConfFor(node_name) : conf_override;
  // The plugin runs "on the node": the child inherits this thread's namespace.
  auto sw = cni::ScopedNetnsSwitch::Enter(n->ns->ns());
  if (!sw) return ProcResult{-1, "", sw.error().msg()};
  return Run({CniBin(type_)}, env, conf);
}

cni::Result<Pod*> Cluster::NewPod(const std::string& node_name) {
  auto p = std::make_unique<Pod>();
  p->node = node_name;
  p->id = "pod" + std::to_string(getpid()) + "x" + std::to_string(++pod_seq_);
  auto ns = TempNetns::Create("ovp");
  if (!ns) return ns.error();
  p->ns.emplace(std::move(*ns));
  pods_.push_back(std::move(p));
  return pods_.back().get();
}

cni::Result<Pod*> Cluster::AddPod(const std::string& node_name) {
  auto p = NewPod(node_name);
  if (!p) return p.error();
  ProcResult r = RunPlugin(node_name, "ADD", **p);
  if (r.exit_code != 0) {
    return cni::Error(cni::Code::kInternal, "ADD on " + node_name + " failed (" +
                                                std::to_string(r.exit_code) + "): " + r.out + r.err);
  }
  try {
    auto j = nlohmann::json::parse(r.out);
    for (const auto& ipc : j.at("ips")) {
      std::string addr = ipc.at("address");
      (*p)->ips.push_back(addr.substr(0, addr.find('/')));
    }
    (*p)->ip = (*p)->ips.at(0);
  } catch (const std::exception& e) {
    return cni::Error(cni::Code::kInternal, "ADD result unreadable: " + r.out);
  }
  return *p;
}

ProcResult Cluster::InNs(const TempNetns& ns, const std::string& cmd) {
  return Sh("ip netns exec " + ns.name() + " " + cmd);
}

bool Cluster::Ping(const Pod& from, const std::string& to_ip) const {
  return InNs(*from.ns, "ping -c 1 -W 2 " + to_ip + " >/dev/null 2>&1").exit_code == 0;
}

std::vector<std::string> Cluster::FailingPairs() const {
  // All pairs at once in one shell (each ping in the background) keeps this quick
  // when something is broken and every ping would wait out its timeout.
  std::string script;
  for (auto& a : pods_) {
    for (auto& b : pods_) {
      if (a == b || b->ip.empty() || a->ip.empty()) continue;
      for (const std::string& to : b->ips) {
        script += "(ip netns exec " + a->ns->name() + " ping -c 1 -W 2 " + to +
                  " >/dev/null 2>&1 || echo '" + a->node + "/" + a->ip + "->" + b->node + "/" +
                  to + "') &\n";
      }
    }
  }
  script += "wait\n";
  ProcResult r = Run({"/bin/sh", "-c", script});
  std::vector<std::string> fails;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t nl = r.out.find('\n', pos);
    if (nl == std::string::npos) nl = r.out.size();
    if (nl > pos) fails.push_back(r.out.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return fails;
}

}  // namespace linen::test
