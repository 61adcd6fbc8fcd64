// CNI 1.1 GC and STATUS for host-local (the reference has neither yet).
#ifndef LINEN_IPAM_HOST_LOCAL_GC_H_
#define LINEN_IPAM_HOST_LOCAL_GC_H_

#include <string_view>
#include <vector>

#include "ipam/host-local/config.h"
#include "ipam/host-local/range_set.h"
#include "ipam/host-local/store.h"
#include "libcni/error.h"

namespace host_local {

// Frees every reservation whose owner is not a valid attachment. A legacy ID-only
// file stays if any valid attachment has that container ID; an empty list frees
// everything. Continues past failures and reports them together (code 5). Takes
// the store lock. Returns the number of addresses freed.
cni::Result<size_t> CollectGarbage(Store& store, const std::vector<Attachment>& valid);

// Ready unless some range set has no address left to hand out; then code 50 naming
// each exhausted set (an ADD needs one address from every set, so one exhausted
// set is enough to make ADD fail). Cost is O(reservations).
cni::Status CheckStatus(Store& store, const std::vector<RangeSet>& sets, std::string_view network);

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_GC_H_
