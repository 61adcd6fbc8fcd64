// host-local's allocation policy over a Store: round robin through a range set
// starting after the last reserved address, exactly in the reference's order, so
// both implementations hand out the same addresses from a shared dataDir.
#ifndef LINEN_IPAM_HOST_LOCAL_ALLOCATOR_H_
#define LINEN_IPAM_HOST_LOCAL_ALLOCATOR_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipam/host-local/range_set.h"
#include "ipam/host-local/store.h"
#include "libcni/error.h"
#include "libcni/types.h"

namespace host_local {

// The reference's RangeIter: the first candidate is last_reserved+1 (or the first
// range's start when there is no usable last address), then on through the ranges,
// wrapping, until it is back where it started. Gateway, network and broadcast
// addresses are skipped. Each Next() is O(1) apart from those skips.
class RangeIter {
 public:
  RangeIter(const RangeSet& set, const std::optional<cni::IpAddr>& last_reserved);
  struct Candidate {
    size_t range_index;
    cni::IpAddr ip;
  };
  std::optional<Candidate> Next();

 private:
  const RangeSet& set_;
  size_t idx_ = 0;
  std::optional<cni::IpAddr> cur_;
  std::optional<cni::IpAddr> start_;
};

class Allocator {
 public:
  Allocator(const RangeSet& set, Store& store, int range_id)
      : set_(set), store_(store), range_id_(range_id) {}

  // One address from this range set for (id, ifname): `requested` if given, else the
  // next free one in round-robin order. `snapshot` is store.List() taken under the
  // lock the caller holds; taken addresses are skipped without touching the store,
  // so finding a free address costs O(reservations), never O(range size).
  cni::Result<cni::IpConfig> Get(std::string_view id, std::string_view ifname,
                                 const std::optional<cni::IpAddr>& requested,
                                 const std::vector<Reservation>& snapshot);

 private:
  cni::Result<cni::IpConfig> GetRequested(std::string_view id, std::string_view ifname,
                                          const cni::IpAddr& ip);
  const RangeSet& set_;
  Store& store_;
  int range_id_;
};

// ADD: one address per range set under one hold of the store lock. Each requested
// address goes to the first range set containing it; a request no range set takes
// is an error. On any failure the addresses reserved by this call are freed again.
cni::Result<std::vector<cni::IpConfig>> AllocateAll(const std::vector<RangeSet>& sets,
                                                    Store& store, std::string_view network,
                                                    std::string_view id, std::string_view ifname,
                                                    const std::vector<cni::IpAddr>& requested);

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_ALLOCATOR_H_
