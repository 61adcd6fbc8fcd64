// Small helpers shared by host-local's unit tests.
#ifndef LINEN_IPAM_HOST_LOCAL_TEST_UTIL_H_
#define LINEN_IPAM_HOST_LOCAL_TEST_UTIL_H_

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ipam/host-local/range_set.h"
#include "libcni/ip_net.h"

namespace host_local::testing {

inline cni::IpAddr Ip(const std::string& s) {
  auto ip = cni::IpAddr::Parse(s);
  EXPECT_TRUE(ip.has_value()) << s;
  return ip.value_or(cni::IpAddr());
}

inline Range MustRange(const std::string& subnet, std::optional<std::string> start = {},
                       std::optional<std::string> end = {},
                       std::optional<std::string> gw = {}) {
  auto r = MakeRange(RangeSpec{subnet, start, end, gw});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().msg());
  return r.ok() ? *r : Range{};
}

inline RangeSet MustSet(std::vector<Range> ranges) {
  auto s = RangeSet::Make(std::move(ranges));
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().msg());
  return std::move(s).value();
}

}  // namespace host_local::testing

#endif  // LINEN_IPAM_HOST_LOCAL_TEST_UTIL_H_
