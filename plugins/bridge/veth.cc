#include "plugins/bridge/veth.h"

#include "libcni/sys/sysctl.h"
#include "plugins/bridge/bridge_vlan.h"
#include "plugins/bridge/hash.h"
#include "plugins/bridge/random_mac.h"

namespace bridge {

using cni::Code;
using cni::Error;

std::string HostVethName(const std::string& container_id, const std::string& ifname) {
  return "veth" + Sha512Hex(container_id + ":" + ifname).substr(0, 8);
}

cni::Result<VethPair> SetupVeth(cni::nl::Handle& host, cni::nl::Handle& container,
                                const cni::NetNs& container_ns, const std::string& ifname,
                                const std::string& host_name, const BridgeConf& conf,
                                int bridge_index, cni::Rollback& undo) {
  cni::nl::VethSpec spec{.name = host_name,
                         .peer_name = ifname,
                         .peer_ns = &container_ns,
                         .mtu = conf.mtu,
                         .mac = RandomMac(),
                         .peer_mac = conf.mac,
                         // The kernel's default allocates a queue per possible CPU
                         // for each end (sysfs objects and all), then switches all
                         // but one off again, waiting for an RCU grace period under
                         // the RTNL lock per end. One queue each is what veth uses
                         // by default anyway.
                         .queues = 1,
                         .master_index = bridge_index};
  if (auto s = host.CreateVeth(spec); !s) {
    // EEXIST does not say which end collided; look, so the message names it.
    if (s.error().IsExists()) {
      if (container.LinkByName(ifname)) {
        return Error(Code::kInternal, "container interface \"" + ifname +
                                          "\" already exists in netns " + container_ns.path());
      }
      if (host.LinkByName(host_name)) {
        return Error(Code::kInternal, "host veth name \"" + host_name +
                                          "\" is already in use (attachment not deleted?)");
      }
    }
    return s.error().Context("failed to create veth pair " + host_name + "<->" + ifname +
                             " in " + container_ns.path() + " on bridge " + conf.br_name);
  }
  // Deleting the host end removes both ends.
  undo.Add([&host, host_name] { (void)host.DeleteLink(host_name); });

  VethPair pair;
  auto h = host.LinkByName(host_name);
  if (!h) return h.error().Context("failed to lookup \"" + host_name + "\"");
  pair.host = std::move(*h);
  auto c = container.LinkByName(ifname);
  if (!c) return c.error().Context("failed to lookup \"" + ifname + "\" in the container");
  pair.container = std::move(*c);

  const std::string& hn = pair.host.name;
  int hi = pair.host.index;
  // New ports start with hairpin and isolation off; only switch them on.
  if (conf.hairpin_mode) {
    if (auto s = host.SetHairpin(hi, true); !s) {
      return s.error().Context("failed to setup hairpin mode for " + hn);
    }
  }
  if (conf.port_isolation) {
    if (auto s = host.SetPortIsolated(hi, true); !s) {
      return s.error().Context("failed to set isolated on for " + hn);
    }
  }
  if (conf.vlan_filtering()) {
    if (auto s = ConfigurePortVlans(hi, conf.vlan, conf.trunk_vlans, conf.preserve_default_vlan);
        !s) {
      return s.error().Context("failed to setup vlan on interface \"" + hn + "\"");
    }
  }
  // A bridge port needs no IPv6 of its own: the bridge holds the gateway's address,
  // and IPv6 between pods is bridged below it. Without it there is no link-local
  // address, DAD or router solicitation, and no ff00::/8 route per port: those
  // routes share one routing-table node, so adding one walks every other port's.
  // If /proc/sys is not writable here, at least no link-local address (netlink).
  // Best effort: a node without IPv6 refuses both, and that changes nothing here.
  if (!cni::WriteSysctl("net/ipv6/conf/" + hn + "/disable_ipv6", "1")) {
    (void)host.SetNoIpv6LinkLocal(hi);
  }
  if (auto s = host.SetUp(hi); !s) return s.error().Context("failed to set \"" + hn + "\" up");
  pair.host.master_index = bridge_index;
  pair.host.admin_up = true;
  return pair;
}

}  // namespace bridge
