// Creating veth pairs, bridges and vxlan devices. Built with libnl's link
// objects (which know the nested IFLA_LINKINFO layouts) and sent through the
// handle's own request loop so errors keep the kernel's words.
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <sys/socket.h>

#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_error.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

using internal::AddrPtr;
using internal::LinkPtr;
using internal::MsgPtr;

namespace {

// Name, MTU and MAC common to every kind. Returns an error for bad input.
Status SetCommon(rtnl_link* link, const std::string& name, int mtu, const std::string& mac,
                 const std::string& what) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Error(Code::kInvalidNetworkConfig,
                 what + ": interface name \"" + name + "\" must be 1-15 bytes");
  }
  rtnl_link_set_name(link, name.c_str());
  if (mtu > 0) rtnl_link_set_mtu(link, static_cast<unsigned>(mtu));
  if (!mac.empty()) {
    auto bytes = ParseMac(mac);
    if (!bytes) return Error(Code::kInvalidNetworkConfig, what + ": malformed MAC address " + mac);
    AddrPtr addr(nl_addr_build(AF_LLC, bytes->data(), bytes->size()));
    if (!addr) return Error(Code::kInternal, what + ": out of memory");
    rtnl_link_set_addr(link, addr.get());  // takes its own reference
  }
  return OkStatus();
}

// Exclusive create: an existing device of that name is kExists, never reused here.
Status SendCreate(nl_sock* sock, rtnl_link* link, const std::string& what) {
  nl_msg* raw = nullptr;
  int err = rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, &raw);
  MsgPtr msg(raw);
  if (err < 0) return LibnlError(what + ": build request", err);
  return internal::Transact(sock, msg.get(), what);
}

}  // namespace

Status Handle::CreateVeth(const VethSpec& spec) {
  const std::string what = "create veth " + spec.name + "<->" + spec.peer_name;
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return Error(Code::kInternal, what + ": out of memory");
  // get_peer hands out a reference of its own, released by LinkPtr.
  LinkPtr peer(rtnl_link_veth_get_peer(link.get()));
  if (!peer) return Error(Code::kInternal, what + ": no peer object");
  if (auto s = SetCommon(link.get(), spec.name, spec.mtu, spec.mac, what); !s) return s;
  if (auto s = SetCommon(peer.get(), spec.peer_name, spec.mtu, spec.peer_mac, what); !s) return s;
  // The kernel creates the peer directly inside the other namespace, so the
  // peer's name only has to be free there and nothing ever moves it.
  if (spec.queues > 0) {
    for (rtnl_link* end : {link.get(), peer.get()}) {
      rtnl_link_set_num_tx_queues(end, static_cast<uint32_t>(spec.queues));
      rtnl_link_set_num_rx_queues(end, static_cast<uint32_t>(spec.queues));
    }
  }
  if (spec.peer_ns != nullptr) rtnl_link_set_ns_fd(peer.get(), spec.peer_ns->fd());
  // Joined at creation: one request and one link notification fewer than a
  // separate RTM_SETLINK, and the kernel unregisters the pair if joining fails.
  if (spec.master_index > 0) rtnl_link_set_master(link.get(), spec.master_index);
  return SendCreate(sock_, link.get(), what);
}

Status Handle::CreateBridge(const BridgeSpec& spec) {
  const std::string what = "create bridge " + spec.name;
  LinkPtr link(rtnl_link_alloc());
  if (!link) return Error(Code::kInternal, what + ": out of memory");
  if (int err = rtnl_link_set_type(link.get(), "bridge"); err < 0) {
    return LibnlError(what + ": set kind", err);
  }
  if (auto s = SetCommon(link.get(), spec.name, spec.mtu, spec.mac, what); !s) return s;
  return SendCreate(sock_, link.get(), what);
}

Status Handle::CreateVxlan(const VxlanSpec& spec) {
  const std::string what = "create vxlan " + spec.name + " vni " + std::to_string(spec.info.vni);
  if (spec.info.vni > 0xffffff) {
    return Error(Code::kInvalidNetworkConfig, what + ": VNI must be at most 16777215");
  }
  LinkPtr link(rtnl_link_vxlan_alloc());
  if (!link) return Error(Code::kInternal, what + ": out of memory");
  if (auto s = SetCommon(link.get(), spec.name, spec.mtu, spec.mac, what); !s) return s;
  rtnl_link_vxlan_set_id(link.get(), spec.info.vni);
  if (spec.info.local) {
    const IpAddr& a = *spec.info.local;
    AddrPtr addr(nl_addr_build(internal::FamilyToAf(a.family()), a.bytes(),
                               static_cast<unsigned>(a.byte_len())));
    if (!addr) return Error(Code::kInternal, what + ": out of memory");
    rtnl_link_vxlan_set_local(link.get(), addr.get());
  }
  if (spec.info.dev_index > 0) {
    rtnl_link_vxlan_set_link(link.get(), static_cast<uint32_t>(spec.info.dev_index));
  }
  // libnl 3.7 converts to network order itself (verified by the readback test).
  if (spec.info.port != 0) rtnl_link_vxlan_set_port(link.get(), spec.info.port);
  rtnl_link_vxlan_set_learning(link.get(), spec.info.learning ? 1 : 0);
  return SendCreate(sock_, link.get(), what);
}

}  // namespace cni::nl
