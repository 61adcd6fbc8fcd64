#include "plugins/bridge/bridge_device.h"

#include <sys/file.h>

#include <cerrno>

#include "plugins/bridge/bridge_vlan.h"
#include "plugins/bridge/random_mac.h"

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

cni::Status Flock(const cni::NetNs& ns, int op, const char* what) {
  while (flock(ns.fd(), op) < 0) {
    if (errno != EINTR) return cni::ErrnoError(std::string("bridge lock: ") + what, errno);
  }
  return cni::OkStatus();
}

}  // namespace

cni::Result<BridgeLock> BridgeLock::Shared() {
  auto ns = cni::NetNs::Current();
  if (!ns) return ns.error().Context("bridge lock");
  if (auto s = Flock(*ns, LOCK_SH, "take shared"); !s) return s.error();
  return BridgeLock(std::move(*ns));
}

cni::Status BridgeLock::Exclusive() { return Flock(ns_, LOCK_EX, "take exclusive"); }

void BridgeLock::Release() {
  if (ns_.fd() >= 0) (void)flock(ns_.fd(), LOCK_UN);
}

void RemoveBridgeIfUnused(cni::nl::Handle& host, int index, BridgeLock& lock) {
  if (!lock.Exclusive()) return;  // without the lock a port may be on its way: keep it
  auto links = host.ListLinks();
  if (links) {
    bool in_use = false;
    for (const cni::nl::LinkInfo& l : *links) in_use |= l.master_index == index;
    if (!in_use) (void)host.DeleteLinkByIndex(index);
  }
  lock.Release();
}

cni::Result<cni::nl::LinkInfo> BridgeByName(cni::nl::Handle& host, const std::string& name) {
  auto link = host.LinkByName(name);
  if (!link) return link.error().Context("could not lookup \"" + name + "\"");
  if (link->kind != "bridge") {
    return Error(Code::kInternal, "\"" + name + "\" already exists but is not a bridge");
  }
  return link;
}

cni::Result<std::string> PinBridgeMac(cni::nl::Handle& host, int bridge_index,
                                      const std::string& mac_before) {
  auto link = host.LinkByIndex(bridge_index);
  if (!link) return link.error().Context("could not set bridge's mac");
  // Unchanged: either its MAC was set explicitly, or our port is not the lowest.
  // Setting it anyway would send a gratuitous ARP to every pod on each ADD.
  if (link->mac == mac_before && link->mac != "00:00:00:00:00:00") return link->mac;
  // It followed our new port: put back the gateway MAC the pods already know,
  // and from now on it stays (an explicitly set bridge MAC no longer follows ports).
  std::string mac = mac_before == "00:00:00:00:00:00" || mac_before.empty() ? RandomMac()
                                                                              : mac_before;
  if (auto s = host.SetMac(bridge_index, mac); !s) {
    return s.error().Context("could not set bridge's mac");
  }
  return mac;
}

namespace {
BridgeFaults faults;
bool FailAt(const char* point) { return faults.fail_at != nullptr && faults.fail_at(point); }
}  // namespace

void SetBridgeFaults(const BridgeFaults& f) { faults = f; }

cni::Result<BridgeState> EnsureBridge(cni::nl::Handle& host, const BridgeConf& conf,
                                      BridgeLock& lock, cni::Rollback& undo) {
  BridgeState st;
  // Every ADD after the first finds the bridge: look first (one round trip) rather
  // than create-then-look (two). A racing ADD that creates it in between is the EEXIST
  // case below.
  auto link = BridgeByName(host, conf.br_name);
  if (!link && !link.error().IsNotFound()) return link.error();
  if (!link) {
    cni::nl::BridgeSpec spec{.name = conf.br_name, .mtu = conf.mtu, .mac = RandomMac()};
    if (auto s = host.CreateBridge(spec); s) {
      st.created = true;
    } else if (!s.error().IsExists()) {
      return s.error().Context("could not add \"" + conf.br_name + "\"");
    }
    link = BridgeByName(host, conf.br_name);
    if (!link) return link.error();
    if (st.created) {
      // Registered here, not by the caller: every step below can still fail.
      undo.Add([&host, index = link->index, &lock] { RemoveBridgeIfUnused(host, index, lock); });
      // Multicast snooping off on a bridge we create. With it on, every port that
      // comes up makes the kernel re-arm the multicast state of every other port
      // (br_port_state_selection -> br_multicast_enable_port), so each ADD costs
      // more with every pod on the node; with it off the bridge floods multicast
      // to its ports, as it does anyway for groups it has not learned. A bridge
      // that was there before keeps its setting, and an operator who turns
      // snooping back on keeps it. Best effort: a kernel without IGMP snooping
      // has nothing to turn off.
      (void)SetMulticastSnooping(link->index, false);
    }
  }
  st.link = std::move(*link);

  if (conf.vlan_filtering()) {
    if (auto s = SetVlanFiltering(st.link.index, true); !s) {
      return s.error().Context("failed to enable VLAN filtering on \"" + conf.br_name + "\"");
    }
  }
  if (conf.promisc_mode && !st.link.promisc) {
    if (auto s = host.SetPromisc(st.link.index, true); !s) {
      return s.error().Context("could not set promiscuous mode on \"" + conf.br_name + "\"");
    }
    st.link.promisc = true;
  }
  // We own the routes of this interface; a missing IPv6 stack is not an error.
  // Unlike the reference, the IPv6 gateway address is usable at once: no DAD on the
  // bridge, so pods never wait for (or lose packets to) a tentative gateway.
  // The link message carries both values, so the files are opened only to change
  // them (normally once, on the ADD that made the bridge).
  const std::string v6 = "net/ipv6/conf/" + conf.br_name + "/";
  if (st.link.ipv6_accept_ra.value_or(0) != 0) (void)cni::WriteSysctl(v6 + "accept_ra", "0");
  if (st.link.ipv6_accept_dad.value_or(0) != 0) (void)cni::WriteSysctl(v6 + "accept_dad", "0");
  if (!st.link.admin_up) {
    if (st.created && FailAt("bridge-up")) {
      return cni::Error(cni::Code::kInternal, "could not set \"" + conf.br_name +
                                                  "\" up: injected test fault");
    }
    if (auto s = host.SetUp(st.link.index); !s) {
      return s.error().Context("could not set \"" + conf.br_name + "\" up");
    }
    st.link.admin_up = true;
  }
  return st;
}

}  // namespace bridge
