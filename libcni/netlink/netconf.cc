// IP settings of a device or a namespace that the kernel also exposes through
// netlink. /proc/sys/net paths are looked up through a dentry chain shared by
// every namespace on the node, so with many pods each open gets slower; these
// requests cost the same however many pods there are.
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <functional>
#include <optional>
#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

namespace {

// RTM_NEWLINK on link `index` carrying IFLA_AF_SPEC { family { what `fill` adds } }:
// the per-family settings a link message can change.
Status SetLinkAf(nl_sock* sock, int index, int family, const std::string& what,
                 const std::function<int(nl_msg*)>& fill) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  internal::MsgPtr msg = internal::NewMsg(RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  nlattr* spec = msg ? nla_nest_start(msg.get(), IFLA_AF_SPEC) : nullptr;
  nlattr* af = spec ? nla_nest_start(msg.get(), family) : nullptr;
  if (af == nullptr || fill(msg.get()) < 0) {
    return internal::BuildError(what);
  }
  nla_nest_end(msg.get(), af);
  nla_nest_end(msg.get(), spec);
  return internal::Transact(sock, msg.get(), what);
}

}  // namespace

Status Handle::SetArpNotify(int index, bool on) {
  return SetLinkAf(sock_, index, AF_INET, "set arp_notify" + internal::OnLink(index),
                   [on](nl_msg* m) {
                     nlattr* conf = nla_nest_start(m, IFLA_INET_CONF);
                     if (conf == nullptr || nla_put_u32(m, IPV4_DEVCONF_ARP_NOTIFY, on) < 0) {
                       return -1;
                     }
                     nla_nest_end(m, conf);
                     return 0;
                   });
}

Status Handle::SetNoIpv6LinkLocal(int index) {
  return SetLinkAf(sock_, index, AF_INET6,
                   "set addr_gen_mode none" + internal::OnLink(index), [](nl_msg* m) {
                     return nla_put_u8(m, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
                   });
}

Result<bool> Handle::ForwardingEnabled(Family family) {
  const std::string what =
      std::string("read ") + (family == Family::kV4 ? "net/ipv4/ip_forward"
                                                   : "net/ipv6/conf/all/forwarding");
  netconfmsg ncm{};
  ncm.ncm_family = static_cast<uint8_t>(internal::FamilyToAf(family));
  internal::MsgPtr msg = internal::NewMsg(RTM_GETNETCONF, 0, &ncm, sizeof(ncm));
  if (!msg || nla_put_s32(msg.get(), NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL) < 0) {
    return internal::BuildError(what);
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
