// Bridge FDB entries: RTM_*NEIGH in the AF_BRIDGE family. On a vxlan device
// (NTF_SELF) an entry maps a MAC to the remote VTEP in NDA_DST.
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

using internal::DumpNeigh;
using internal::NeighReq;
using internal::OnLink;
using internal::SendNeigh;

Status Handle::ReplaceFdb(const FdbInfo& f) {
  NeighReq req{AF_BRIDGE, f.ifindex, f.state, static_cast<uint8_t>(f.self ? NTF_SELF : NTF_MASTER),
               f.dst, f.lladdr};
  std::string what = "replace fdb " + f.lladdr;
  if (f.dst) what += " dst " + f.dst->ToString();
  return SendNeigh(sock_, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, req, what + OnLink(f.ifindex));
}

Status Handle::DeleteFdb(const FdbInfo& f) {
  NeighReq req{AF_BRIDGE, f.ifindex, 0, static_cast<uint8_t>(f.self ? NTF_SELF : NTF_MASTER),
               f.dst, f.lladdr};
  std::string what = "delete fdb " + f.lladdr;
  if (f.dst) what += " dst " + f.dst->ToString();
  auto s = SendNeigh(sock_, RTM_DELNEIGH, 0, req, what + OnLink(f.ifindex));
  if (!s && s.error().IsNotFound()) return OkStatus();  // already gone
  return s;
}

Result<std::vector<FdbInfo>> Handle::ListFdb(int index) {
  std::vector<FdbInfo> out;
  auto s = DumpNeigh(
      sock_, AF_BRIDGE, index, "list fdb" + OnLink(index),
      [&](const ndmsg* ndm, nlattr** tb) {
        FdbInfo f;
        f.ifindex = ndm->ndm_ifindex;
        f.lladdr = internal::MacToString(tb[NDA_LLADDR]);
        f.dst = internal::GetAddr(tb[NDA_DST]);
        f.state = ndm->ndm_state;
        f.self = (ndm->ndm_flags & NTF_SELF) != 0;
        out.push_back(std::move(f));
      },
      [&] { out.clear(); });
  if (!s) return s.error();
  return out;
}

}  // namespace cni::nl
