// Interface addresses (RTM_NEWADDR / RTM_DELADDR / dump).
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

static_assert(kAddrNoDad == IFA_F_NODAD);

namespace {

internal::MsgPtr AddrMsg(int type, int flags, int index, const IpNet& addr,
                        uint32_t addr_flags = 0) {
  ifaddrmsg ifa{};
  ifa.ifa_flags = static_cast<uint8_t>(addr_flags & 0xff);
  ifa.ifa_family = static_cast<uint8_t>(internal::FamilyToAf(addr.family()));
  ifa.ifa_prefixlen = static_cast<uint8_t>(addr.prefix);
  ifa.ifa_index = static_cast<uint32_t>(index);
  internal::MsgPtr msg = internal::NewMsg(type, flags, &ifa, sizeof(ifa));
  if (!msg || internal::PutAddr(msg.get(), IFA_LOCAL, addr.addr) < 0 ||
      internal::PutAddr(msg.get(), IFA_ADDRESS, addr.addr) < 0) {
    return internal::MsgPtr();
  }
  // Flags past the 8 bits of ifa_flags travel in IFA_FLAGS.
  if (addr_flags > 0xff && nla_put_u32(msg.get(), IFA_FLAGS, addr_flags) < 0) {
    return internal::MsgPtr();
  }
  // As Go's netlink.AddrAdd (used by the reference plugins): IPv4 prefixes
  // with room for one get the broadcast address set.
  if (type == RTM_NEWADDR && addr.addr.is_v4() && addr.prefix < 31 &&
      internal::PutAddr(msg.get(), IFA_BROADCAST, addr.Broadcast()) < 0) {
    return internal::MsgPtr();
  }
  return msg;
}

std::string Where(int index, const IpNet& addr) {
  return addr.ToString() + internal::OnLink(index);
}

}  // namespace

Status Handle::AddAddr(int index, const IpNet& addr, uint32_t flags) {
  const std::string what = "add address " + Where(index, addr);
  auto msg = AddrMsg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, addr, flags);
  if (!msg) return internal::BuildError(what);
  return internal::Transact(sock_, msg.get(), what);
}

Status Handle::DeleteAddr(int index, const IpNet& addr) {
  const std::string what = "delete address " + Where(index, addr);
  auto msg = AddrMsg(RTM_DELADDR, 0, index, addr);
  if (!msg) return internal::BuildError(what);
  int err = 0;
  auto s = internal::Transact(sock_, msg.get(), what, nullptr, &err);
  // The kernel says EADDRNOTAVAIL for an address that is not there; absent is success.
  if (!s && (err == EADDRNOTAVAIL || s.error().IsNotFound())) return OkStatus();
  return s;
}

Result<std::vector<AddrInfo>> Handle::ListAddrs(int index, std::optional<Family> family) {
  std::vector<AddrInfo> out;
  ifaddrmsg req{};
  req.ifa_family = family ? static_cast<uint8_t>(internal::FamilyToAf(*family)) : AF_UNSPEC;
  req.ifa_index = static_cast<uint32_t>(index);
  internal::StrictDump strict(sock_);
  auto s = internal::Dump(
      sock_, RTM_GETADDR, &req, sizeof(req), "list addresses",
      [&](nlmsghdr* hdr) {
        if (hdr->nlmsg_type != RTM_NEWADDR) return;
        const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(hdr));
        if (index != 0 && static_cast<int>(ifa->ifa_index) != index) return;
        if (family && ifa->ifa_family != req.ifa_family) return;
        nlattr* tb[IFA_MAX + 1] = {};
        if (nlmsg_parse(hdr, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return;
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
        // point-to-point links and the only one given for IPv6.
        auto a = internal::GetAddr(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS]);
        if (!a) return;
        AddrInfo info;
        info.ifindex = static_cast<int>(ifa->ifa_index);
        info.addr = IpNet{*a, ifa->ifa_prefixlen};
        info.scope = ifa->ifa_scope;
        info.flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
        out.push_back(info);
      },
      [&] { out.clear(); });
  if (!s) return s.error();
  return out;
}

}  // namespace cni::nl
