#include "overlay/registry/etcd/wire.h"

#include <gtest/gtest.h>

namespace linen::etcd::wire {
namespace {

using nlohmann::json;

TEST(Wire, KvWithStringIntsAndOmittedDefaults) {
  auto kv = ParseKv(json::parse(
      R"({"key":"L3QvYQ==","create_revision":"2","mod_revision":"5","version":"3","value":"aGVsbG8=","lease":"2324035518290325005"})"));
  ASSERT_TRUE(kv) << kv.error().msg();
  EXPECT_EQ(kv->key, "/t/a");
  EXPECT_EQ(kv->value, "hello");
  EXPECT_EQ(kv->mod_revision, 5);
  EXPECT_EQ(kv->lease, 2324035518290325005);
  auto del = ParseKv(json::parse(R"({"key":"L3QvYQ==","mod_revision":"6"})"));
  ASSERT_TRUE(del);
  EXPECT_EQ(del->value, "");
  EXPECT_EQ(del->lease, 0);
  EXPECT_FALSE(ParseKv(json::parse(R"({"key":"!!"})")));
}

// int64 fields arrive as strings; one that is not a whole decimal int64 is a
// decoding error naming the field, not a silent 0 or a prefix.
TEST(Wire, MalformedIntegersAreDecodingErrors) {
  for (const char* v : {R"("5x")", R"("")", R"(" 5")", R"("99999999999999999999")", R"("0x5")",
                        "true", "1.5", "18446744073709551615"}) {
    auto kv = ParseKv(json::parse(std::string(R"({"key":"L3QvYQ==","mod_revision":)") + v + "}"));
    ASSERT_FALSE(kv) << v;
    EXPECT_EQ(kv.error().code(), cni::Code::kDecodingFailure) << v;
    EXPECT_NE(kv.error().msg().find("mod_revision"), std::string::npos) << kv.error().msg();
  }
  auto range = ParseRange(json::parse(R"({"header":{"revision":"12abc"},"kvs":[]})"));
  ASSERT_FALSE(range);
  EXPECT_NE(range.error().msg().find("revision"), std::string::npos) << range.error().msg();
  auto status = StatusError(json::parse(R"({"error":"boom","code":"14z"})"), "x");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), cni::Code::kDecodingFailure);
  EXPECT_NE(status->msg().find("code"), std::string::npos) << status->msg();
}

TEST(Wire, StatusErrorsMapToCodes) {
  EXPECT_FALSE(StatusError(json::parse(R"({"header":{}})"), "x").has_value());
  auto nf = StatusError(
      json::parse(R"({"error":"etcdserver: requested lease not found","code":5})"), "revoke");
  ASSERT_TRUE(nf.has_value());
  EXPECT_TRUE(nf->IsNotFound());
  EXPECT_EQ(nf->code(), cni::Code::kIoFailure);
  EXPECT_NE(nf->msg().find("revoke: etcd refused"), std::string::npos);
  auto unavailable = StatusError(json::parse(R"({"error":"etcdserver: leader changed","code":14})"), "x");
  ASSERT_TRUE(unavailable.has_value());
  EXPECT_EQ(unavailable->code(), cni::Code::kTryAgainLater);
  auto streamed = StatusError(
      json::parse(R"({"error":{"grpc_code":14,"http_code":503,"message":"no leader"}})"), "watch");
  ASSERT_TRUE(streamed.has_value());
  EXPECT_EQ(streamed->code(), cni::Code::kTryAgainLater);
  EXPECT_NE(streamed->msg().find("no leader"), std::string::npos);
}

}  // namespace
}  // namespace linen::etcd::wire
