// IP settings of a device or a namespace that the kernel also exposes through
// netlink. /proc/sys/net paths are looked up through a dentry chain shared by
// every namespace on the node, so with many pods each open gets slower; these
// requests cost the same however many pods there are.
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <optional>
#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

Status Handle::SetArpNotify(int index, bool on) {
  const std::string what = "set arp_notify on link #" + std::to_string(index);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  internal::MsgPtr msg = internal::NewMsg(RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  // IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { IPV4_DEVCONF_ARP_NOTIFY: u32 } } }
  nlattr* spec = msg ? nla_nest_start(msg.get(), IFLA_AF_SPEC) : nullptr;
  nlattr* inet = spec ? nla_nest_start(msg.get(), AF_INET) : nullptr;
  nlattr* conf = inet ? nla_nest_start(msg.get(), IFLA_INET_CONF) : nullptr;
  if (conf == nullptr || nla_put_u32(msg.get(), IPV4_DEVCONF_ARP_NOTIFY, on ? 1 : 0) < 0) {
    return Error(Code::kInternal, what + ": cannot build netlink message");
  }
  nla_nest_end(msg.get(), conf);
  nla_nest_end(msg.get(), inet);
  nla_nest_end(msg.get(), spec);
  return internal::Transact(sock_, msg.get(), what);
}

Status Handle::SetNoIpv6LinkLocal(int index) {
  const std::string what = "set addr_gen_mode none on link #" + std::to_string(index);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  internal::MsgPtr msg = internal::NewMsg(RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  // IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: u8 } }
  nlattr* spec = msg ? nla_nest_start(msg.get(), IFLA_AF_SPEC) : nullptr;
  nlattr* inet6 = spec ? nla_nest_start(msg.get(), AF_INET6) : nullptr;
  if (inet6 == nullptr ||
      nla_put_u8(msg.get(), IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE) < 0) {
    return Error(Code::kInternal, what + ": cannot build netlink message");
  }
  nla_nest_end(msg.get(), inet6);
  nla_nest_end(msg.get(), spec);
  return internal::Transact(sock_, msg.get(), what);
}

Result<bool> Handle::ForwardingEnabled(Family family) {
  const std::string what =
      std::string("read ") + (family == Family::kV4 ? "net/ipv4/ip_forward"
                                                   : "net/ipv6/conf/all/forwarding");
  netconfmsg ncm{};
  ncm.ncm_family = static_cast<uint8_t>(internal::FamilyToAf(family));
  internal::MsgPtr msg = internal::NewMsg(RTM_GETNETCONF, 0, &ncm, sizeof(ncm));
  if (!msg || nla_put_s32(msg.get(), NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL) < 0) {
    return Error(Code::kInternal, what + ": cannot build netlink message");
  }
  std::optional<bool> on;
  auto s = internal::Transact(sock_, msg.get(), what, [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWNETCONF) return;
    nlattr* tb[NETCONFA_MAX + 1] = {};
    if (nlmsg_parse(hdr, sizeof(netconfmsg), tb, NETCONFA_MAX, nullptr) < 0) return;
    if (tb[NETCONFA_FORWARDING]) on = nla_get_s32(tb[NETCONFA_FORWARDING]) != 0;
  });
  if (!s) return s.error();
  if (!on) return Error(Code::kInternal, what + ": not in the kernel's answer", "", Cause::kNotFound);
  return *on;
}

}  // namespace cni::nl
