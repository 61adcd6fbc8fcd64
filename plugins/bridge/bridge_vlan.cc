#include "plugins/bridge/bridge_vlan.h"

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "netns/netns.h"

namespace bridge {
namespace {

// A fixed buffer message builder: every append is bounded (iproute2's addattr_l).
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags, uint8_t family, int index) {
    std::memset(buf_, 0, sizeof(buf_));
    hdr()->nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    hdr()->nlmsg_seq = 1;
    auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(hdr()));
    ifi->ifi_family = family;
    ifi->ifi_index = index;
  }
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_); }
  rtattr* Add(uint16_t type, const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(hdr()->nlmsg_len);
    size_t need = RTA_LENGTH(len);
    if (at + RTA_ALIGN(need) > sizeof(buf_)) return nullptr;  // cannot happen: tiny messages
    auto* rta = reinterpret_cast<rtattr*>(buf_ + at);
    rta->rta_type = type;
    rta->rta_len = static_cast<uint16_t>(need);
    if (len) std::memcpy(RTA_DATA(rta), data, len);
    hdr()->nlmsg_len = static_cast<uint32_t>(at + RTA_ALIGN(need));
    return rta;
  }
  rtattr* Begin(uint16_t type) { return Add(type | NLA_F_NESTED, nullptr, 0); }
  void End(rtattr* nest) {
    nest->rta_len = static_cast<uint16_t>(buf_ + hdr()->nlmsg_len - reinterpret_cast<char*>(nest));
  }

 private:
  alignas(nlmsghdr) char buf_[512];
};

// Sends one request and waits for its ack; returns 0 or a positive errno.
int Talk(Msg& m) {
  cni::UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return errno;
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (sendto(fd.get(), m.hdr(), m.hdr()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&sa),
             sizeof(sa)) < 0) {
    return errno;
  }
  alignas(nlmsghdr) char reply[8192];
  for (;;) {
    ssize_t n = recv(fd.get(), reply, sizeof(reply), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        return -e->error;
      }
    }
  }
}

cni::Status PortVlan(uint16_t type, int port_index, uint16_t vid, uint16_t flags) {
  Msg m(type, 0, AF_BRIDGE, port_index);
  rtattr* spec = m.Begin(IFLA_AF_SPEC);
  uint16_t br_flags = BRIDGE_FLAGS_MASTER;
  m.Add(IFLA_BRIDGE_FLAGS, &br_flags, sizeof(br_flags));
  bridge_vlan_info info{.flags = flags, .vid = vid};
  m.Add(IFLA_BRIDGE_VLAN_INFO, &info, sizeof(info));
  m.End(spec);
  if (int err = Talk(m); err != 0) {
    if (type == RTM_DELLINK && (err == ENOENT || err == EINVAL)) return cni::OkStatus();
    return cni::ErrnoError(std::string(type == RTM_DELLINK ? "remove" : "add") + " VLAN " +
                               std::to_string(vid) + " on port " + std::to_string(port_index),
                           err, cni::Code::kInternal);
  }
  return cni::OkStatus();
}

}  // namespace

namespace {

// One IFLA_BR_* byte option of the bridge.
cni::Status SetBridgeU8(int bridge_index, uint16_t attr, uint8_t v, const std::string& what) {
  Msg m(RTM_NEWLINK, 0, AF_UNSPEC, bridge_index);
  rtattr* linkinfo = m.Begin(IFLA_LINKINFO);
  m.Add(IFLA_INFO_KIND, "bridge", 6);
  rtattr* data = m.Begin(IFLA_INFO_DATA);
  m.Add(attr, &v, sizeof(v));
  m.End(data);
  m.End(linkinfo);
  if (int err = Talk(m); err != 0) {
    return cni::ErrnoError(what + " on bridge " + std::to_string(bridge_index), err,
                           cni::Code::kInternal);
  }
  return cni::OkStatus();
}

}  // namespace

cni::Status SetVlanFiltering(int bridge_index, bool on) {
  return SetBridgeU8(bridge_index, IFLA_BR_VLAN_FILTERING, on ? 1 : 0, "set vlan_filtering");
}

cni::Status SetMulticastSnooping(int bridge_index, bool on) {
  return SetBridgeU8(bridge_index, IFLA_BR_MCAST_SNOOPING, on ? 1 : 0, "set mcast_snooping");
}

cni::Status PortVlanAdd(int port_index, uint16_t vid, bool pvid_untagged) {
  uint16_t flags = pvid_untagged ? (BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED) : 0;
  return PortVlan(RTM_SETLINK, port_index, vid, flags);
}

cni::Status PortVlanDel(int port_index, uint16_t vid) {
  return PortVlan(RTM_DELLINK, port_index, vid, 0);
}

cni::Status ConfigurePortVlans(int port_index, int vlan, const std::vector<int>& trunk,
                               bool preserve_default_vlan) {
  if (vlan == 0 && trunk.empty()) return cni::OkStatus();
  if (!preserve_default_vlan) {
    // A new port gets the bridge's default PVID (1) untagged; drop it.
    if (auto s = PortVlanDel(port_index, 1); !s) return s;
  }
  if (vlan != 0) {
    if (auto s = PortVlanAdd(port_index, static_cast<uint16_t>(vlan), true); !s) return s;
  }
  for (int v : trunk) {
    if (auto s = PortVlanAdd(port_index, static_cast<uint16_t>(v), false); !s) return s;
  }
  if (vlan == 0) {
    // A trunk without an access VLAN keeps native VLAN 1, as the reference.
    if (auto s = PortVlanAdd(port_index, 1, true); !s) return s;
  }
  return cni::OkStatus();
}

}  // namespace bridge
