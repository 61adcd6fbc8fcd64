#include "overlay/registry/etcd/base64.h"

#include <gtest/gtest.h>

namespace linen::etcd {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [raw, enc] : cases) {
    EXPECT_EQ(Base64Encode(raw), enc);
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, raw);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  auto dec = Base64Decode(Base64Encode(all));
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(*dec, all);
}

TEST(Base64, RejectsMalformed) {
  EXPECT_FALSE(Base64Decode("Zm9").has_value());     // length
  EXPECT_FALSE(Base64Decode("Zm!v").has_value());    // alphabet
  EXPECT_FALSE(Base64Decode("Z===").has_value());    // too much padding
  EXPECT_FALSE(Base64Decode("Zg==Zm9v").has_value());  // padding mid-stream
  EXPECT_FALSE(Base64Decode("Zg=v").has_value());    // data after padding
}

}  // namespace
}  // namespace linen::etcd
