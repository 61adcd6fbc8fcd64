#include "libcni/base64.h"

#include <gtest/gtest.h>

namespace cni {
namespace {

// RFC 4648 section 10 vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, enc] : cases) {
    EXPECT_EQ(Base64Encode(plain), enc);
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, plain);
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
  EXPECT_FALSE(Base64Decode("Zg="));     // bad length
  EXPECT_FALSE(Base64Decode("Z!=="));    // bad character
  EXPECT_FALSE(Base64Decode("Zg==Zg==")); // padding in the middle
  EXPECT_FALSE(Base64Decode("Z==="));    // too much padding
}

}  // namespace
}  // namespace cni
