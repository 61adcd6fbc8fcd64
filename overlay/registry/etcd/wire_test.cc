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
