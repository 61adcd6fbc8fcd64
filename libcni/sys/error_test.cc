#include "libcni/sys/error.h"

#include <cerrno>
#include <cstring>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cni {
namespace {

using nlohmann::json;

TEST(ErrorTest, ToJsonHasSpecFieldsAndOmitsEmptyDetails) {
  Error e(Code::kInvalidEnv, "required env variables [CNI_NETNS] missing");
  json j = json::parse(e.ToJson("1.0.0"));
  EXPECT_EQ(j, json::parse(R"({"cniVersion":"1.0.0","code":4,
                              "msg":"required env variables [CNI_NETNS] missing"})"));
  EXPECT_FALSE(j.contains("details"));
}

TEST(ErrorTest, ToJsonKeepsDetailsAndLinenCodes) {
  Error e(Code::kNoAddressAvailable, "no IP addresses available in range set", "10.1.0.0/30");
  json j = json::parse(e.ToJson("0.4.0"));
  EXPECT_EQ(j["code"], 100);
  EXPECT_EQ(j["details"], "10.1.0.0/30");
  EXPECT_EQ(j["cniVersion"], "0.4.0");
}

TEST(ErrorTest, ToJsonFieldOrderMatchesSpec) {
  std::string text = Error(Code::kInternal, "boom", "d").ToJson("1.1.0");
  auto pos = [&](const char* k) { return text.find(k); };
  EXPECT_LT(pos("\"cniVersion\""), pos("\"code\""));
  EXPECT_LT(pos("\"code\""), pos("\"msg\""));
  EXPECT_LT(pos("\"msg\""), pos("\"details\""));
}

TEST(ErrorTest, ToJsonSurvivesInvalidUtf8) {
  std::string bad = "bad \xff\xfe name";
  std::string text = Error(Code::kInvalidEnv, bad).ToJson("1.1.0");
  json j = json::parse(text);  // must be valid JSON
  EXPECT_EQ(j["code"], 4);
}

// The error object is written without a JSON library (libcni/sys depends on libc
// only); it must stay byte-identical to nlohmann's dump, which wrote it before.
std::string NlohmannErrorJson(const Error& e, const std::string& version) {
  nlohmann::ordered_json j;
  j["cniVersion"] = version;
  j["code"] = e.code_number();
  j["msg"] = e.msg();
  if (!e.details().empty()) j["details"] = e.details();
  return j.dump(4, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

TEST(ErrorTest, ToJsonMatchesNlohmannByteForByte) {
  const std::string tricky[] = {
      "plain", "quote \" back\\slash", "ctl \x01\x1f\x7f \b\f\n\r\t", "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "bad \xff\xfe", "trunc \xe2\x82", "overlong \xc0\xaf \xe0\x80\xaf", "surrogate \xed\xa0\x80",
      "big \xf4\x90\x80\x80", "lead then ascii \xe2" "A", std::string("nul \0 x", 7)};
  for (const auto& s : tricky) {
    Error e(Code::kInvalidEnv, s, s);
    EXPECT_EQ(e.ToJson("1.1.0"), NlohmannErrorJson(e, "1.1.0")) << s;
  }
  std::mt19937 rng(14);
  for (int n = 0; n < 2000; ++n) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 2 ? rng() % 256 : 0x80 + rng() % 0x78);
    Error e(Code::kInternal, s);
    ASSERT_EQ(e.ToJson("0.4.0"), NlohmannErrorJson(e, "0.4.0")) << testing::PrintToString(s);
  }
}

TEST(ErrorTest, ContextPrefixesAndKeepsCodeAndCause) {
  Error e = ErrnoError("open /run/netns/x", ENOENT);
  Error c = e.Context("enter container");
  EXPECT_EQ(c.code(), Code::kIoFailure);
  EXPECT_TRUE(c.IsNotFound());
  EXPECT_EQ(c.msg().rfind("enter container: open /run/netns/x: ", 0), 0u) << c.msg();
}

TEST(ErrorTest, WithCodeKeepsMessage) {
  Error e = Error(Code::kIoFailure, "m", "d").WithCode(Code::kUnknownContainer);
  EXPECT_EQ(e.code(), Code::kUnknownContainer);
  EXPECT_EQ(e.code_number(), 3u);
  EXPECT_EQ(e.msg(), "m");
  EXPECT_EQ(e.details(), "d");
}

TEST(ErrnoErrorTest, NotFoundFamily) {
  for (int err : {ENOENT, ENODEV, ESRCH}) {
    Error e = ErrnoError("x", err);
    EXPECT_TRUE(e.IsNotFound()) << err;
    EXPECT_FALSE(e.IsExists());
    EXPECT_EQ(e.code(), Code::kIoFailure);
    EXPECT_NE(e.msg().find(std::strerror(err)), std::string::npos);
  }
}

TEST(ErrnoErrorTest, ExistsKeepsGivenCode) {
  Error e = ErrnoError("create veth", EEXIST, Code::kInternal);
  EXPECT_TRUE(e.IsExists());
  EXPECT_EQ(e.code(), Code::kInternal);
}

TEST(ErrnoErrorTest, BusyIsTryAgainLater) {
  EXPECT_EQ(ErrnoError("lock", EAGAIN).code(), Code::kTryAgainLater);
  EXPECT_EQ(ErrnoError("lock", EBUSY).code(), Code::kTryAgainLater);
}

TEST(ErrnoErrorTest, OtherErrnoUsesDefault) {
  Error e = ErrnoError("write", EACCES, Code::kInvalidNetworkConfig);
  EXPECT_EQ(e.code(), Code::kInvalidNetworkConfig);
  EXPECT_FALSE(e.IsNotFound());
  EXPECT_FALSE(e.IsExists());
  EXPECT_EQ(ErrnoError("write", EIO).code(), Code::kIoFailure);
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 5);
  Result<int> bad = Error(Code::kInvalidEnv, "no");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::kInvalidEnv);
  Status s = OkStatus();
  EXPECT_TRUE(s.ok());
}

}  // namespace
}  // namespace cni
