// A range set: disjoint ranges of one address family pooled together. host-local
// hands out one address per range set (two sets = dual stack).
#ifndef LINEN_IPAM_HOST_LOCAL_RANGE_SET_H_
#define LINEN_IPAM_HOST_LOCAL_RANGE_SET_H_

#include <string>
#include <vector>

#include "ipam/host-local/range.h"
#include "libcni/error.h"

namespace host_local {

class RangeSet {
 public:
  // Checks the ranges are non-empty, of one family and do not overlap (code 7).
  static cni::Result<RangeSet> Make(std::vector<Range> ranges);

  const std::vector<Range>& ranges() const { return ranges_; }
  size_t size() const { return ranges_.size(); }
  const Range& operator[](size_t i) const { return ranges_[i]; }
  cni::Family family() const { return ranges_.front().family(); }

  // The first range whose window holds `ip`, or nullptr.
  const Range* RangeFor(const cni::IpAddr& ip) const;
  bool Contains(const cni::IpAddr& ip) const { return RangeFor(ip) != nullptr; }
  bool Overlaps(const RangeSet& other) const;
  unsigned __int128 Capacity() const;
  std::string ToString() const;  // "start-end,start-end"

 private:
  explicit RangeSet(std::vector<Range> ranges) : ranges_(std::move(ranges)) {}
  std::vector<Range> ranges_;
};

// Two windows of the same family share at least one address.
bool RangesOverlap(const Range& a, const Range& b);

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_RANGE_SET_H_
