// Packing addresses and MACs into attributes, and decoding link messages.
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstdio>

#include "libcni/netlink/nl_internal.h"

namespace cni::nl::internal {

int FamilyToAf(Family f) { return f == Family::kV4 ? AF_INET : AF_INET6; }

int PutAddr(nl_msg* msg, int attrtype, const IpAddr& a) {
  return nla_put(msg, attrtype, a.byte_len(), a.bytes());
}

std::optional<IpAddr> GetAddr(const nlattr* attr) {
  if (attr == nullptr) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(nla_data(attr));
  if (nla_len(attr) == 4) return IpAddr::FromBytes(Family::kV4, p);
  if (nla_len(attr) == 16) return IpAddr::FromBytes(Family::kV6, p);
  return std::nullopt;
}

std::string MacToString(const nlattr* attr) {
  if (attr == nullptr || nla_len(attr) <= 0) return "";
  const auto* p = static_cast<const uint8_t*>(nla_data(attr));
  return FormatMac({p, static_cast<size_t>(nla_len(attr))});
}

namespace {

std::optional<VxlanInfo> ParseVxlan(nlattr* data) {
  nlattr* tb[IFLA_VXLAN_MAX + 1] = {};
  if (nla_parse_nested(tb, IFLA_VXLAN_MAX, data, nullptr) < 0) return std::nullopt;
  VxlanInfo v;
  if (tb[IFLA_VXLAN_ID]) v.vni = nla_get_u32(tb[IFLA_VXLAN_ID]);
  if (tb[IFLA_VXLAN_LOCAL]) v.local = GetAddr(tb[IFLA_VXLAN_LOCAL]);
  if (tb[IFLA_VXLAN_LOCAL6]) v.local = GetAddr(tb[IFLA_VXLAN_LOCAL6]);
  if (tb[IFLA_VXLAN_LINK]) v.dev_index = static_cast<int>(nla_get_u32(tb[IFLA_VXLAN_LINK]));
  if (tb[IFLA_VXLAN_PORT]) v.port = ntohs(nla_get_u16(tb[IFLA_VXLAN_PORT]));
  if (tb[IFLA_VXLAN_LEARNING]) v.learning = nla_get_u8(tb[IFLA_VXLAN_LEARNING]) != 0;
  return v;
}

// IFLA_AF_SPEC/AF_INET6/IFLA_INET6_CONF is the devconf array, indexed by DEVCONF_*.
void ParseInet6Conf(nlattr* af_spec, LinkInfo* l) {
  nlattr* af;
  int rem;
  nla_for_each_nested(af, af_spec, rem) {
    if (nla_type(af) != AF_INET6) continue;
    nlattr* tb[IFLA_INET6_MAX + 1] = {};
    if (nla_parse_nested(tb, IFLA_INET6_MAX, af, nullptr) < 0 || !tb[IFLA_INET6_CONF]) return;
    const auto* conf = static_cast<const int32_t*>(nla_data(tb[IFLA_INET6_CONF]));
    const size_t n = static_cast<size_t>(nla_len(tb[IFLA_INET6_CONF])) / sizeof(int32_t);
    if (n > DEVCONF_ACCEPT_RA) l->ipv6_accept_ra = conf[DEVCONF_ACCEPT_RA];
    if (n > DEVCONF_ACCEPT_DAD) l->ipv6_accept_dad = conf[DEVCONF_ACCEPT_DAD];
    return;
  }
}

}  // namespace

bool ParseLinkMsg(nlmsghdr* hdr, LinkInfo* out) {
  if (hdr->nlmsg_type != RTM_NEWLINK) return false;
  nlattr* tb[IFLA_MAX + 1] = {};
  if (nlmsg_parse(hdr, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return false;
  const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(hdr));
  LinkInfo l;
  l.index = ifi->ifi_index;
  l.admin_up = (ifi->ifi_flags & IFF_UP) != 0;
  l.promisc = (ifi->ifi_flags & IFF_PROMISC) != 0;
  if (tb[IFLA_IFNAME]) l.name = nla_get_string(tb[IFLA_IFNAME]);
  if (tb[IFLA_MTU]) l.mtu = static_cast<int>(nla_get_u32(tb[IFLA_MTU]));
  if (tb[IFLA_ADDRESS]) l.mac = MacToString(tb[IFLA_ADDRESS]);
  if (tb[IFLA_MASTER]) l.master_index = static_cast<int>(nla_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_IFALIAS]) l.alias = nla_get_string(tb[IFLA_IFALIAS]);
  if (tb[IFLA_LINK]) l.peer_index = static_cast<int>(nla_get_u32(tb[IFLA_LINK]));
  // Loopback and some virtual devices never leave UNKNOWN; with carrier and
  // IFF_UP they pass traffic, which is what callers mean by "up".
  uint8_t oper = tb[IFLA_OPERSTATE] ? nla_get_u8(tb[IFLA_OPERSTATE]) : static_cast<uint8_t>(IF_OPER_UNKNOWN);
  bool carrier = tb[IFLA_CARRIER] ? nla_get_u8(tb[IFLA_CARRIER]) != 0
                                  : (ifi->ifi_flags & IFF_LOWER_UP) != 0;
  l.oper_up = oper == IF_OPER_UP || (oper == IF_OPER_UNKNOWN && l.admin_up && carrier);
  if (tb[IFLA_LINKINFO]) {
    nlattr* li[IFLA_INFO_MAX + 1] = {};
    if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) >= 0) {
      if (li[IFLA_INFO_KIND]) l.kind = nla_get_string(li[IFLA_INFO_KIND]);
      if (l.kind == "vxlan" && li[IFLA_INFO_DATA]) l.vxlan = ParseVxlan(li[IFLA_INFO_DATA]);
    }
  }
  if (tb[IFLA_AF_SPEC]) ParseInet6Conf(tb[IFLA_AF_SPEC], &l);
  *out = std::move(l);
  return true;
}

}  // namespace cni::nl::internal
