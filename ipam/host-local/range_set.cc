#include "ipam/host-local/range_set.h"

#include <algorithm>

namespace host_local {

bool RangesOverlap(const Range& a, const Range& b) {
  if (a.family() != b.family()) return false;
  return std::max(a.start, b.start) <= std::min(a.end, b.end);
}

cni::Result<RangeSet> RangeSet::Make(std::vector<Range> ranges) {
  if (ranges.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "empty range set");
  }
  for (const Range& r : ranges) {
    if (r.family() != ranges.front().family()) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "mixed address families in one range set: " +
                            ranges.front().subnet.ToString() + " and " + r.subnet.ToString());
    }
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    for (size_t j = i + 1; j < ranges.size(); ++j) {
      if (RangesOverlap(ranges[i], ranges[j])) {
        return cni::Error(cni::Code::kInvalidNetworkConfig,
                          "subnets " + ranges[i].ToString() + " and " + ranges[j].ToString() +
                              " overlap");
      }
    }
  }
  return RangeSet(std::move(ranges));
}

const Range* RangeSet::RangeFor(const cni::IpAddr& ip) const {
  for (const Range& r : ranges_) {
    if (r.Contains(ip)) return &r;
  }
  return nullptr;
}

bool RangeSet::Overlaps(const RangeSet& other) const {
  for (const Range& a : ranges_) {
    for (const Range& b : other.ranges_) {
      if (RangesOverlap(a, b)) return true;
    }
  }
  return false;
}

unsigned __int128 RangeSet::Capacity() const {
  unsigned __int128 n = 0;
  for (const Range& r : ranges_) {
    const unsigned __int128 c = r.Capacity();
    n = (n + c < n) ? ~static_cast<unsigned __int128>(0) : n + c;  // saturate (huge v6 sets)
  }
  return n;
}

std::string RangeSet::ToString() const {
  std::string out;
  for (const Range& r : ranges_) {
    if (!out.empty()) out += ',';
    out += r.ToString();
  }
  return out;
}

}  // namespace host_local
