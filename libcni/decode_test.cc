#include "libcni/decode.h"

#include <gtest/gtest.h>

namespace cni {
namespace {

json Parse(const char* text) { return json::parse(text); }

TEST(DecoderTest, ErrorsNameThePathAndBothTypes) {
  json j = Parse(R"({"ipam":{"ranges":[[{"subnet":7}]]}})");
  Decoder subnet = Decoder(j)["ipam"]["ranges"][0][0]["subnet"];
  auto s = subnet.As<std::string>();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kDecodingFailure);
  EXPECT_EQ(s.error().msg(), "ipam.ranges[0][0].subnet: expected string, got number");
}

TEST(DecoderTest, AbsentAndNullAreUnset) {
  json j = Parse(R"({"a":null,"n":3})");
  Decoder d(j, "conf");
  std::string out = "kept";
  ASSERT_TRUE(d.Get("a", &out));
  ASSERT_TRUE(d.Get("missing", &out));
  EXPECT_EQ(out, "kept");
  auto opt = d.Optional<int>("a");
  ASSERT_TRUE(opt);
  EXPECT_FALSE(*opt);
  auto n = d.Optional<int>("n");
  ASSERT_TRUE(n && *n);
  EXPECT_EQ(**n, 3);
  // Required values: unset is a type error with the path.
  auto req = d["missing"].As<std::string>();
  ASSERT_FALSE(req);
  EXPECT_EQ(req.error().msg(), "conf.missing: expected string, got null");
}

TEST(DecoderTest, IntegersAreExactAndMustFit) {
  json j = Parse(R"({"f":1.5,"big":1e30,"neg":-1,"port":70000,"b":true,"ok":65535})");
  Decoder d(j);
  uint16_t port = 0;
  EXPECT_EQ(d.Get("f", &port).error().msg(), "f: expected integer, got 1.5");
  EXPECT_EQ(d.Get("big", &port).error().code(), Code::kDecodingFailure);
  EXPECT_EQ(d.Get("neg", &port).error().msg(), "neg: expected integer between 0 and 65535, got -1");
  EXPECT_FALSE(d.Get("port", &port));
  EXPECT_EQ(d.Get("b", &port).error().msg(), "b: expected integer, got boolean");
  ASSERT_TRUE(d.Get("ok", &port));
  EXPECT_EQ(port, 65535);
}

TEST(DecoderTest, ContainersAndLists) {
  json j = Parse(R"({"list":["a","b"],"mixed":["a",1],"obj":"x"})");
  Decoder d(j, "top");
  std::vector<std::string> list;
  ASSERT_TRUE(d.Get("list", &list));
  EXPECT_EQ(list, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.Get("mixed", &list).error().msg(), "top.mixed[1]: expected string, got number");
  EXPECT_EQ(d["obj"].ObjectOrUnset().error().msg(), "top.obj: expected object, got string");
  EXPECT_TRUE(d["nothing"].ObjectOrUnset());
  // Members of a non-object: the parent's type is what is wrong.
  EXPECT_EQ(d["obj"].Optional<int>("k").error().msg(), "top.obj: expected object, got string");
}

}  // namespace
}  // namespace cni
