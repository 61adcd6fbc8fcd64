// Routes: exclusive add, replace, tolerant delete, and table dumps.
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

namespace {

std::string Describe(const RouteInfo& r) {
  std::string s = r.dst.ToString();
  if (r.gw) s += " via " + r.gw->ToString();
  if (r.oif) s += " dev #" + std::to_string(r.oif);
  if (r.table != kMainTable) s += " table " + std::to_string(r.table);
  return s;
}

// The request shared by add/replace/delete. A delete leaves scope as
// RT_SCOPE_NOWHERE (any), like `ip route del`, and sends no metrics, so it
// matches the route whatever scope and MTU it was created with.
internal::MsgPtr RouteMsg(int type, int flags, const RouteInfo& r) {
  const bool del = type == RTM_DELROUTE;
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(internal::FamilyToAf(r.dst.family()));
  rtm.rtm_dst_len = static_cast<uint8_t>(r.dst.prefix);
  rtm.rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  rtm.rtm_protocol = r.protocol;
  rtm.rtm_scope = del ? static_cast<uint8_t>(RT_SCOPE_NOWHERE) : static_cast<uint8_t>(r.scope);
  rtm.rtm_type = r.type;
  if (r.onlink) rtm.rtm_flags |= RTNH_F_ONLINK;
  internal::MsgPtr msg = internal::NewMsg(type, flags, &rtm, sizeof(rtm));
  if (!msg) return msg;
  nl_msg* m = msg.get();
  bool ok = true;
  if (r.dst.prefix > 0) ok = ok && internal::PutAddr(m, RTA_DST, r.dst.Network()) >= 0;
  if (r.gw) ok = ok && internal::PutAddr(m, RTA_GATEWAY, *r.gw) >= 0;
  if (r.oif) ok = ok && nla_put_u32(m, RTA_OIF, static_cast<uint32_t>(r.oif)) >= 0;
  if (r.priority) ok = ok && nla_put_u32(m, RTA_PRIORITY, r.priority) >= 0;
  ok = ok && nla_put_u32(m, RTA_TABLE, static_cast<uint32_t>(r.table)) >= 0;
  if (!del && r.mtu > 0) {
    nlattr* metrics = nla_nest_start(m, RTA_METRICS);
    ok = ok && metrics != nullptr &&
         nla_put_u32(m, RTAX_MTU, static_cast<uint32_t>(r.mtu)) >= 0 &&
         nla_nest_end(m, metrics) >= 0;
  }
  if (!ok) return internal::MsgPtr();
  return msg;
}

Status SendRoute(nl_sock* sock, int type, int flags, const RouteInfo& r, const std::string& verb) {
  const std::string what = verb + " route " + Describe(r);
  if (r.gw && r.gw->family() != r.dst.family()) {
    return Error(Code::kInvalidNetworkConfig, what + ": gateway family differs from destination");
  }
  auto msg = RouteMsg(type, flags, r);
  if (!msg) return internal::BuildError(what);
  return internal::Transact(sock, msg.get(), what);
}

bool ParseRoute(nlmsghdr* hdr, RouteInfo* out) {
  if (hdr->nlmsg_type != RTM_NEWROUTE) return false;
  const auto* rtm = static_cast<const rtmsg*>(nlmsg_data(hdr));
  nlattr* tb[RTA_MAX + 1] = {};
  if (nlmsg_parse(hdr, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return false;
  Family fam = rtm->rtm_family == AF_INET ? Family::kV4 : Family::kV6;
  RouteInfo r;
  auto dst = internal::GetAddr(tb[RTA_DST]);
  r.dst = IpNet{dst ? *dst : IpAddr::FromNumber(fam, 0), rtm->rtm_dst_len};
  r.gw = internal::GetAddr(tb[RTA_GATEWAY]);
  if (tb[RTA_OIF]) r.oif = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
  r.onlink = (rtm->rtm_flags & RTNH_F_ONLINK) != 0;
  r.scope = rtm->rtm_scope;
  if (tb[RTA_PRIORITY]) r.priority = nla_get_u32(tb[RTA_PRIORITY]);
  r.table = tb[RTA_TABLE] ? static_cast<int>(nla_get_u32(tb[RTA_TABLE])) : rtm->rtm_table;
  r.protocol = rtm->rtm_protocol;
  r.type = rtm->rtm_type;
  if (tb[RTA_METRICS]) {
    nlattr* mx[RTAX_MAX + 1] = {};
    if (nla_parse_nested(mx, RTAX_MAX, tb[RTA_METRICS], nullptr) >= 0 && mx[RTAX_MTU]) {
      r.mtu = static_cast<int>(nla_get_u32(mx[RTAX_MTU]));
    }
  }
  *out = std::move(r);
  return true;
}

}  // namespace

Status Handle::AddRoute(const RouteInfo& r) {
  return SendRoute(sock_, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, "add");
}

Status Handle::ReplaceRoute(const RouteInfo& r) {
  return SendRoute(sock_, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, "replace");
}

Status Handle::DeleteRoute(const RouteInfo& r) {
  auto s = SendRoute(sock_, RTM_DELROUTE, 0, r, "delete");
  // ESRCH (no such route) maps to kNotFound: already gone is what we wanted.
  if (!s && s.error().IsNotFound()) return OkStatus();
  return s;
}

Result<RouteInfo> Handle::FibMatch(const IpAddr& dst) {
  const std::string what = "route get fibmatch " + dst.ToString();
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(internal::FamilyToAf(dst.family()));
  rtm.rtm_dst_len = static_cast<uint8_t>(dst.bits());
  rtm.rtm_flags = RTM_F_FIB_MATCH;
  internal::MsgPtr msg = internal::NewMsg(RTM_GETROUTE, 0, &rtm, sizeof(rtm));
  if (!msg || internal::PutAddr(msg.get(), RTA_DST, dst) < 0) return internal::BuildError(what);
  std::optional<RouteInfo> got;
  int err = 0;
  auto s = internal::Transact(
      sock_, msg.get(), what,
      [&](nlmsghdr* hdr) {
        RouteInfo r;
        if (ParseRoute(hdr, &r)) got = std::move(r);
      },
      &err);
  if (!s && (err == ENETUNREACH || err == EHOSTUNREACH)) {
    return Error(Code::kInternal, what + ": no route matches", "", Cause::kNotFound);
  }
  if (!s) return s.error();
  if (!got) {
    return Error(Code::kInternal, what + ": the kernel answered without a route", "",
                 Cause::kNotFound);
  }
  return *got;
}

Result<std::vector<RouteInfo>> Handle::ListRoutes(Family family, int table) {
  std::vector<RouteInfo> out;
  // One table is filtered by the kernel (strict checking); the local table, for one,
  // has an entry per address of the node.
  rtmsg req{};
  req.rtm_family = static_cast<uint8_t>(internal::FamilyToAf(family));
  internal::DumpFilter filter;
  if (table != 0) filter = {RTA_TABLE, static_cast<uint32_t>(table)};
  internal::StrictDump strict(sock_);
  auto s = internal::Dump(
      sock_, RTM_GETROUTE, &req, sizeof(req), "list routes",
      [&](nlmsghdr* hdr) {
        const auto* rtm = static_cast<const rtmsg*>(nlmsg_data(hdr));
        if (rtm->rtm_flags & RTM_F_CLONED) return;  // cache entries, not routes
        if (rtm->rtm_family != req.rtm_family) return;
        RouteInfo r;
        if (!ParseRoute(hdr, &r)) return;
        if (table != 0 && r.table != table) return;
        out.push_back(std::move(r));
      },
      [&] { out.clear(); }, filter);
  // A table nothing was ever added to does not exist: it has no routes.
  if (!s && table != 0 && s.error().IsNotFound()) return out;
  if (!s) return s.error();
  return out;
}

}  // namespace cni::nl
