// Connection tracking over netlink (ctnetlink, NFNL_SUBSYS_CTNETLINK): deleting the
// entries that would keep steering packets along an old path after a NAT rule
// changed. In-process, no `conntrack` child.
#ifndef LINEN_LIBCNI_NETLINK_CONNTRACK_H_
#define LINEN_LIBCNI_NETLINK_CONNTRACK_H_

#include <cstdint>
#include <optional>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace cni::ct {

// Which entries to delete: those of L4 protocol `proto` (IPPROTO_UDP, ...) in
// `family`, whose original direction went to port `dport` and, when `dst` is
// given, to that address.
struct Match {
  Family family = Family::kV4;
  uint8_t proto = 0;
  uint16_t dport = 0;
  std::optional<IpAddr> dst;
};

// Deletes every matching entry in the calling thread's namespace and returns how
// many went. The kernel's flush-with-filter takes no tuple filter, so the table is
// dumped (one family) and the matches deleted one by one by their original tuple;
// an entry that expired meanwhile is not an error.
Result<int> DeleteEntries(const Match& m);

}  // namespace cni::ct

#endif  // LINEN_LIBCNI_NETLINK_CONNTRACK_H_
