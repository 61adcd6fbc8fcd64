#include "libcni/mac.h"

#include <gtest/gtest.h>

namespace cni {
namespace {

TEST(MacTest, ParsesBothSeparatorsAndAnyCase) {
  const MacBytes want{0x02, 0xab, 0xcd, 0x00, 0x00, 0x01};
  EXPECT_EQ(ParseMac("02:ab:cd:00:00:01"), want);
  EXPECT_EQ(ParseMac("02-AB-cd-00-00-01"), want);
}

TEST(MacTest, RefusesMalformed) {
  for (const char* bad : {"", "02:ab:cd:00:00", "02:ab:cd:00:00:01:ff", "02:ab:cd:00:00:0g",
                          "02ab:cd:00:00:01:", "02:ab-cd:00:00:01", "02.ab.cd.00.00.01"}) {
    EXPECT_FALSE(ParseMac(bad)) << bad;
  }
}

TEST(MacTest, FormatsLowerCaseWithColons) {
  const uint8_t six[] = {0x02, 0xAB, 0xcd, 0x00, 0x00, 0x01};
  EXPECT_EQ(FormatMac(six), "02:ab:cd:00:00:01");
  EXPECT_EQ(FormatMac(*ParseMac("02-AB-CD-00-00-01")), "02:ab:cd:00:00:01");
  EXPECT_EQ(FormatMac({}), "");
}

}  // namespace
}  // namespace cni
