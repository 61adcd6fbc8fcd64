// ARP/NDP entries (RTM_*NEIGH in AF_INET/AF_INET6), and the request/dump
// helpers fdb.cc shares for the AF_BRIDGE family.
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

namespace internal {

Status SendNeigh(nl_sock* sock, int type, int flags, const NeighReq& n, const std::string& what) {
  ndmsg ndm{};
  ndm.ndm_family = n.family;
  ndm.ndm_ifindex = n.ifindex;
  ndm.ndm_state = n.state;
  ndm.ndm_flags = n.flags;
  internal::MsgPtr msg = internal::NewMsg(type, flags, &ndm, sizeof(ndm));
  if (!msg) return internal::BuildError(what);
  if (n.dst && internal::PutAddr(msg.get(), NDA_DST, *n.dst) < 0) {
    return internal::BuildError(what);
  }
  if (!n.lladdr.empty()) {
    auto mac = ParseMac(n.lladdr);
    if (!mac) {
      return Error(Code::kInvalidNetworkConfig, what + ": malformed MAC address " + n.lladdr);
    }
    if (nla_put(msg.get(), NDA_LLADDR, static_cast<int>(mac->size()), mac->data()) < 0) {
      return internal::BuildError(what);
    }
  }
  return internal::Transact(sock, msg.get(), what);
}

Status DumpNeigh(nl_sock* sock, uint8_t family, int index, const std::string& what,
                 const std::function<void(const ndmsg*, nlattr**)>& each,
                 const std::function<void()>& restart) {
  // The kernel filters by device (strict checking), so the reply does not grow with
  // what else the node holds: a node with many pods has an FDB entry for every port
  // and, once the node talks to its pods, an ARP entry for each of them. AF_BRIDGE
  // takes the device in the header, the other families only as NDA_IFINDEX.
  ndmsg req{};
  req.ndm_family = family;
  internal::DumpFilter filter;
  if (index != 0 && family == AF_BRIDGE) {
    req.ndm_ifindex = index;
  } else if (index != 0) {
    filter = {NDA_IFINDEX, static_cast<uint32_t>(index)};
  }
  internal::StrictDump strict(sock);
  return internal::Dump(
      sock, RTM_GETNEIGH, &req, sizeof(req), what,
      [&](nlmsghdr* hdr) {
        if (hdr->nlmsg_type != RTM_NEWNEIGH) return;
        const auto* ndm = static_cast<const ndmsg*>(nlmsg_data(hdr));
        if (ndm->ndm_family != family) return;
        if (index != 0 && ndm->ndm_ifindex != index) return;
        nlattr* tb[NDA_MAX + 1] = {};
        if (nlmsg_parse(hdr, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return;
        each(ndm, tb);
      },
      restart, filter);
}

}  // namespace internal

using internal::DumpNeigh;
using internal::NeighReq;
using internal::OnLink;
using internal::SendNeigh;

Status Handle::ReplaceNeigh(const NeighInfo& n) {
  NeighReq req{static_cast<uint8_t>(internal::FamilyToAf(n.dst.family())), n.ifindex, n.state, 0,
               n.dst, n.lladdr};
  return SendNeigh(sock_, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, req,
                   "replace neighbour " + n.dst.ToString() + " lladdr " + n.lladdr + OnLink(n.ifindex));
}

Status Handle::DeleteNeigh(const NeighInfo& n) {
  NeighReq req{static_cast<uint8_t>(internal::FamilyToAf(n.dst.family())), n.ifindex, 0, 0,
               n.dst, ""};
  auto s = SendNeigh(sock_, RTM_DELNEIGH, 0, req,
                     "delete neighbour " + n.dst.ToString() + OnLink(n.ifindex));
  if (!s && s.error().IsNotFound()) return OkStatus();  // already gone
  return s;
}

Result<std::vector<NeighInfo>> Handle::ListNeighs(int index, Family family) {
  std::vector<NeighInfo> out;
  auto s = DumpNeigh(
      sock_, static_cast<uint8_t>(internal::FamilyToAf(family)), index,
      "list neighbours" + OnLink(index),
      [&](const ndmsg* ndm, nlattr** tb) {
        auto dst = internal::GetAddr(tb[NDA_DST]);
        if (!dst) return;
        NeighInfo n;
        n.ifindex = ndm->ndm_ifindex;
        n.dst = *dst;
        n.lladdr = internal::MacToString(tb[NDA_LLADDR]);
        n.state = ndm->ndm_state;
        out.push_back(std::move(n));
      },
      [&] { out.clear(); });
  if (!s) return s.error();
  return out;
}

}  // namespace cni::nl
