#include "libcni/sys/number.h"

#include <gtest/gtest.h>

namespace cni {
namespace {

TEST(ParseDecimalTest, WholeStringInRange) {
  EXPECT_EQ(ParseDecimal("1450", 68, 65535), 1450);
  EXPECT_EQ(ParseDecimal("68", 68, 65535), 68);
  EXPECT_EQ(ParseDecimal("65535", 68, 65535), 65535);
  EXPECT_EQ(ParseDecimal("-1", -5, 5), -1);
  EXPECT_EQ(ParseDecimal("9223372036854775807", 0, INT64_MAX), INT64_MAX);
}

TEST(ParseDecimalTest, RefusesWhatStoiWouldTake) {
  for (const char* bad : {"", "-", "1450abc", " 1450", "1450 ", "+1450", "0x10", "14.5", "abc",
                          "9223372036854775808"}) {
    EXPECT_EQ(ParseDecimal(bad, INT64_MIN, INT64_MAX), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseDecimal("67", 68, 65535), std::nullopt);
  EXPECT_EQ(ParseDecimal("65536", 68, 65535), std::nullopt);
}

}  // namespace
}  // namespace cni
