#include "overlay/registry/static_registry.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

namespace linen::overlay {

std::vector<PeerEvent> DiffPeers(const std::vector<NodeLease>& before,
                                 const std::vector<NodeLease>& after) {
  std::map<std::string, const NodeLease*> old_by_name;
  for (const NodeLease& n : before) old_by_name[n.name] = &n;
  std::vector<PeerEvent> events;
  for (const NodeLease& n : after) {
    auto it = old_by_name.find(n.name);
    if (it == old_by_name.end()) {
      events.push_back({PeerEvent::Kind::kAdded, n});
    } else {
      if (!(*it->second == n)) events.push_back({PeerEvent::Kind::kChanged, n});
      old_by_name.erase(it);
    }
  }
  for (const auto& [name, lease] : old_by_name) {
    events.push_back({PeerEvent::Kind::kRemoved, *lease});
  }
  return events;
}

StaticRegistry::StaticRegistry(StaticTopology topo, std::string path)
    : topo_(std::move(topo)), path_(std::move(path)) {}

StaticRegistry::~StaticRegistry() {
  if (inotify_fd_ >= 0) close(inotify_fd_);
}

std::unique_ptr<StaticRegistry> StaticRegistry::FromTopology(StaticTopology topo) {
  return std::unique_ptr<StaticRegistry>(new StaticRegistry(std::move(topo), ""));
}

cni::Result<std::unique_ptr<StaticRegistry>> StaticRegistry::FromFile(const std::string& path) {
  auto topo = LoadTopologyFile(path);
  if (!topo) return topo.error();
  std::unique_ptr<StaticRegistry> r(new StaticRegistry(std::move(*topo), path));
  if (auto s = r->StartWatch(); !s) return s.error();
  return r;
}

cni::Status StaticRegistry::StartWatch() {
  inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ < 0) return cni::ErrnoError("inotify_init1", errno);
  // Watch the directory: editors and `mv` replace the file, which a watch on the
  // file itself would not survive.
  size_t slash = path_.rfind('/');
  std::string dir = slash == std::string::npos ? std::string(".")
                    : slash == 0               ? std::string("/")
                                               : path_.substr(0, slash);
  if (inotify_add_watch(inotify_fd_, dir.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0) {
    return cni::ErrnoError("watch " + dir, errno);
  }
  return cni::OkStatus();
}

cni::Result<ClusterConfig> StaticRegistry::Config() { return topo_.config; }

cni::Result<NodeLease> StaticRegistry::Acquire(const NodeLease& wanted) {
  // Without a name, by a node address of either family (an unset one matches
  // nothing: in an IPv6-only topology every node's IPv4 address is unset).
  auto same_ip = [](const cni::IpAddr& a, const cni::IpAddr& b) { return !IsUnset(a) && a == b; };
  for (const NodeLease& n : topo_.nodes) {
    if ((!wanted.name.empty() && n.name == wanted.name) ||
        (wanted.name.empty() &&
         (same_ip(n.node_ip, wanted.node_ip) || same_ip(n.node_ipv6, wanted.node_ipv6)))) {
      self_ = n;
      return n;
    }
  }
  std::string who = wanted.name;
  if (who.empty()) who = !IsUnset(wanted.node_ip) ? wanted.node_ip.ToString() : wanted.node_ipv6.ToString();
  return cni::Error(cni::Code::kInvalidNetworkConfig,
                    "topology: this node (" + who +
                        ") is not in the topology; a static topology leases nothing, add the node to it");
}

cni::Status StaticRegistry::Renew() { return cni::OkStatus(); }
cni::Status StaticRegistry::Release() { return cni::OkStatus(); }

cni::Result<std::vector<NodeLease>> StaticRegistry::ListPeers() {
  if (!self_) {
    return cni::Error(cni::Code::kInternal, "static registry: ListPeers before Acquire");
  }
  last_peers_ = PeersOf(topo_, *self_);
  return last_peers_;
}

cni::Result<std::vector<PeerEvent>> StaticRegistry::WaitPeers(std::chrono::milliseconds timeout) {
  if (!self_) {
    return cni::Error(cni::Code::kInternal, "static registry: WaitPeers before Acquire");
  }
  if (inotify_fd_ < 0) {
    // Inline topologies never change; just wait out the timeout.
    poll(nullptr, 0, static_cast<int>(timeout.count()));
    return std::vector<PeerEvent>{};
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string base = path_.substr(path_.rfind('/') + 1);
  bool ours = false;
  while (!ours) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{inotify_fd_, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0) {
      if (errno == EINTR) continue;
      return cni::ErrnoError("poll topology watch", errno);
    }
    if (n == 0) return std::vector<PeerEvent>{};
    // Drain; only events naming our file count (editors write temp files nearby).
    alignas(inotify_event) char buf[4096];
    ssize_t len;
    while ((len = read(inotify_fd_, buf, sizeof(buf))) > 0) {
      for (char* p = buf; p < buf + len;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        if (ev->len > 0 && base == ev->name) ours = true;
        p += sizeof(inotify_event) + ev->len;
      }
    }
  }
  auto topo = LoadTopologyFile(path_);
  // A half-written or invalid file keeps the last good topology; the caller logs it.
  if (!topo) return topo.error();
  topo_ = std::move(*topo);
  std::vector<NodeLease> now;
  for (const NodeLease& n2 : topo_.nodes) {
    if (n2.name == self_->name) {
      self_ = n2;
    } else {
      now.push_back(n2);
    }
  }
  auto events = DiffPeers(last_peers_, now);
  last_peers_ = std::move(now);
  return events;
}

}  // namespace linen::overlay
