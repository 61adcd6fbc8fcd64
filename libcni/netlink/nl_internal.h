// Private helpers of the netlink layer: RAII for libnl objects, the request/
// reply loop over one socket, and attribute packing/unpacking. Only .cc files in
// libcni/netlink include this.
#ifndef LINEN_LIBCNI_NETLINK_NL_INTERNAL_H_
#define LINEN_LIBCNI_NETLINK_NL_INTERNAL_H_

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "libcni/mac.h"
#include "libcni/netlink/handle.h"

namespace cni::nl::internal {

template <auto Fn>
struct NlDeleter {
  template <class T>
  void operator()(T* p) const {
    if (p != nullptr) Fn(p);
  }
};
using MsgPtr = std::unique_ptr<nl_msg, NlDeleter<nlmsg_free>>;
using LinkPtr = std::unique_ptr<rtnl_link, NlDeleter<rtnl_link_put>>;
using AddrPtr = std::unique_ptr<nl_addr, NlDeleter<nl_addr_put>>;

// The datagram nl_recv() mallocs for each read.
struct FreeDeleter {
  void operator()(unsigned char* p) const { std::free(p); }
};
using RecvBuf = std::unique_ptr<unsigned char, FreeDeleter>;

// The error for a message that could not be built (allocation or attribute space).
inline Error BuildError(std::string_view what) {
  return Error(Code::kInternal, std::string(what) + ": cannot build netlink message");
}

// A message of `type` with `flags` and a fixed family header copied in.
// Allocation failure is not recoverable in a plugin; callers check for null.
MsgPtr NewMsg(int type, int flags, const void* hdr, size_t hdr_len);

// Called for each reply message that is not an ack/error/done.
using ReplyFn = std::function<void(nlmsghdr*)>;

// Sends `msg` with NLM_F_ACK and reads until its ack or error, handing data
// replies (e.g. to a GET) to `on_reply`. Messages for other sequence numbers
// (link events during WaitOperUp) are skipped. Errors carry `what`.
// `*kernel_errno`, when given, receives the kernel's positive errno on failure
// (0 otherwise) for callers that tolerate a specific one.
Status Transact(nl_sock* sock, nl_msg* msg, std::string_view what,
                const ReplyFn& on_reply = nullptr, int* kernel_errno = nullptr);

// A dump of `type` for `family`, retried when the kernel flags it interrupted
// (NLM_F_DUMP_INTR: the table changed mid-dump) up to 5 times, then code 11.
// `on_reply` may be called for a partial dump before a retry: it must be reset
// by `on_restart`.
// `filter`, when its attribute is set, is sent as one u32 attribute after the
// header (e.g. NDA_IFINDEX, RTA_TABLE): with StrictDump the kernel then filters.
struct DumpFilter {
  int attr = 0;  // 0 = none
  uint32_t value = 0;
};
Status Dump(nl_sock* sock, int type, const void* hdr, size_t hdr_len, std::string_view what,
            const ReplyFn& on_reply, const std::function<void()>& on_restart,
            DumpFilter filter = {});

// While alive, the kernel checks dump requests strictly and honours their
// filters (e.g. one link's addresses). Off otherwise: some of our dumps put
// fields in the header that strict checking refuses.
class StrictDump {
 public:
  explicit StrictDump(nl_sock* sock);
  ~StrictDump();
  StrictDump(const StrictDump&) = delete;
  StrictDump& operator=(const StrictDump&) = delete;

 private:
  nl_sock* sock_;
};

// Attribute helpers.
int PutAddr(nl_msg* msg, int attrtype, const IpAddr& a);
std::optional<IpAddr> GetAddr(const nlattr* attr);
// An address attribute as text (libcni/mac.h's form); "" when absent or empty.
std::string MacToString(const nlattr* attr);
int FamilyToAf(Family f);

// One neighbour request (ARP/NDP or, with AF_BRIDGE, an FDB entry).
struct NeighReq {
  uint8_t family = 0;  // AF_UNSPEC
  int ifindex = 0;
  uint16_t state = 0;
  uint8_t flags = 0;   // NTF_*
  std::optional<IpAddr> dst;
  std::string lladdr;  // "" = none
};
Status SendNeigh(nl_sock* sock, int type, int flags, const NeighReq& n, const std::string& what);
// Dumps `family` neighbours of link `index` (0 = all), calling `each` with the
// header and the parsed NDA_* table.
Status DumpNeigh(nl_sock* sock, uint8_t family, int index, const std::string& what,
                 const std::function<void(const ndmsg*, nlattr**)>& each,
                 const std::function<void()>& restart);

// How messages name a link known only by its index: "link #N".
inline std::string LinkRef(int index) { return "link #" + std::to_string(index); }
inline std::string OnLink(int index) { return " on " + LinkRef(index); }

// Decodes an RTM_NEWLINK message; false if it is not one.
bool ParseLinkMsg(nlmsghdr* hdr, LinkInfo* out);

}  // namespace cni::nl::internal

#endif  // LINEN_LIBCNI_NETLINK_NL_INTERNAL_H_
