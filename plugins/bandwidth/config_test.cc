// Reading the bandwidth keys and the TBF parameters derived from them.
#include "plugins/bandwidth/config.h"

#include <gtest/gtest.h>

namespace bandwidth {
namespace {

using cni::json;

cni::Result<BandwidthConf> Parse(json extra) {
  json j = {{"cniVersion", "1.0.0"}, {"name", "mynet"}, {"type", "bandwidth"}};
  j.update(extra);
  auto net = cni::ParseNetConf(j.dump());
  if (!net) return net.error();
  return ParseBandwidthConf(*net);
}

// The error's code and whether its message names `key`.
void ExpectError(const json& extra, cni::Code code, const std::string& key) {
  auto c = Parse(extra);
  ASSERT_FALSE(c) << extra.dump();
  EXPECT_EQ(c.error().code(), code) << c.error().msg();
  EXPECT_NE(c.error().msg().find(key), std::string::npos) << c.error().msg();
}

TEST(BandwidthConfig, ReferenceArithmetic) {
  // 20 Mbit/s with a 200 kbit burst: 2.5 MB/s, a 25 KB bucket = 10 ms = 156250
  // ticks of 64 ns, queue limit 25 ms at the rate (62500) + the burst.
  auto t = TbfFor({.rate = 20'000'000, .burst = 200'000}, "ingress");
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->rate, 2'500'000u);
  EXPECT_EQ(t->buffer, 156'250u);
  EXPECT_EQ(t->limit, 87'500u);
}

TEST(BandwidthConfig, RateAbove32BitsIsKept) {
  auto t = TbfFor({.rate = 100'000'000'000ull, .burst = 8'000'000}, "egress");
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->rate, 12'500'000'000ull);
}

TEST(BandwidthConfig, LongBucketSaturatesNotWraps) {
  // containerd's bandwidth annotation sends burst = 2^32-1 bits: at 1 Mbit/s that
  // is ~4295 s of bucket, past the 32-bit tick field, which the reference's
  // arithmetic wraps around.
  auto t = TbfFor({.rate = 1'000'000, .burst = 4'294'967'295ull}, "ingress");
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->buffer, cni::nl::kTbfMaxBufferTicks);
  EXPECT_EQ(t->limit, 3'125u + 536'870'911u);  // as the reference: it fits
  // At 1 Gbit/s the same burst is 4.3 s: it fits, and the number is the reference's.
  t = TbfFor({.rate = 1'000'000'000, .burst = 4'294'967'295ull}, "ingress");
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->buffer, static_cast<uint32_t>(4'294'967u * 15.625));
  // CRI-O sends 2^35-9 bits (just under the 4 GB bound): the reference's 32-bit
  // queue limit wraps around to a few bytes; ours saturates.
  t = TbfFor({.rate = 10'000'000, .burst = 34'359'738'359ull}, "egress");
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->buffer, cni::nl::kTbfMaxBufferTicks);
  EXPECT_EQ(t->limit, 0xffffffffu);
}

TEST(BandwidthConfig, QueueLimitIsClampedTo32Bits) {
  // 2 Tbit/s: 25 ms of queue alone is 6.25 GB.
  auto t = TbfFor({.rate = 2'000'000'000'000ull, .burst = 800}, "egress");
  ASSERT_TRUE(t) << t.error().msg();
  EXPECT_EQ(t->limit, 0xffffffffu);
}

TEST(BandwidthConfig, TopLevelKeys) {
  auto c = Parse({{"ingressRate", 8000}, {"ingressBurst", 800}, {"egressRate", 0}});
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_TRUE(c->ingress.on());
  EXPECT_FALSE(c->egress.on());
  EXPECT_EQ(c->source, "");
}

TEST(BandwidthConfig, CapabilityUsedWhenNoTopLevelKey) {
  auto c = Parse({{"runtimeConfig", {{"bandwidth", {{"egressRate", 16000}, {"egressBurst", 1600}}}}}});
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_FALSE(c->ingress.on());
  EXPECT_EQ(c->egress.rate, 16000u);
  EXPECT_EQ(c->egress.burst, 1600u);
  EXPECT_EQ(c->source, "runtimeConfig.bandwidth.");
}

TEST(BandwidthConfig, TopLevelKeyWinsOverCapabilityAsInTheReference) {
  // Any of the four keys at the top level, even null, makes the top level the
  // entry and the capability is not looked at (the reference's getBandwidth).
  auto c = Parse({{"ingressRate", nullptr},
                  {"runtimeConfig", {{"bandwidth", {{"egressRate", 16000}, {"egressBurst", 1600}}}}}});
  ASSERT_TRUE(c) << c.error().msg();
  EXPECT_FALSE(c->any());
}

TEST(BandwidthConfig, BadValuesNameTheKey) {
  using cni::Code;
  ExpectError({{"ingressBurst", 800}}, Code::kInvalidNetworkConfig, "ingressRate");
  ExpectError({{"egressRate", 8000}}, Code::kInvalidNetworkConfig, "egressBurst");
  ExpectError({{"egressRate", 8000}, {"egressBurst", 34'359'738'360ull}},
              Code::kInvalidNetworkConfig, "egressBurst");
  ExpectError({{"ingressRate", 7}, {"ingressBurst", 800}}, Code::kInvalidNetworkConfig,
              "ingressRate");
  ExpectError({{"ingressRate", 8000}, {"ingressBurst", 7}}, Code::kInvalidNetworkConfig,
              "ingressBurst");
  ExpectError({{"ingressRate", -8000}, {"ingressBurst", 800}}, Code::kInvalidNetworkConfig,
              "ingressRate");
  ExpectError({{"egressRate", 1e20}, {"egressBurst", 800}}, Code::kInvalidNetworkConfig,
              "egressRate");
  ExpectError({{"egressRate", 1e6}, {"egressBurst", 800}}, Code::kDecodingFailure, "egressRate");
  ExpectError({{"ingressRate", "8000"}, {"ingressBurst", 800}}, Code::kDecodingFailure,
              "ingressRate");
  ExpectError({{"ingressRate", 8000}, {"ingressBurst", 800.5}}, Code::kDecodingFailure,
              "ingressBurst");
  ExpectError({{"egressBurst", true}}, Code::kDecodingFailure, "egressBurst");
  ExpectError({{"runtimeConfig", {{"bandwidth", "fast"}}}}, Code::kDecodingFailure,
              "runtimeConfig.bandwidth");
  ExpectError({{"runtimeConfig", {{"bandwidth", {{"egressRate", 8000}}}}}},
              Code::kInvalidNetworkConfig, "runtimeConfig.bandwidth.egressBurst");
  // A wrong type is refused even where the other place wins.
  ExpectError({{"ingressRate", 0}, {"runtimeConfig", {{"bandwidth", {{"egressRate", "x"}}}}}},
              Code::kDecodingFailure, "runtimeConfig.bandwidth.egressRate");
}

TEST(BandwidthConfig, IfbNameAsTheReference) {
  // "bwp" + the first 12 hex digits of sha512("mynet" + "abc123").
  EXPECT_EQ(IfbName("mynet", "abc123"), "bwp70a29d9dc18b");
  EXPECT_EQ(IfbAlias("mynet", "abc123").rfind(IfbAliasPrefix("mynet"), 0), 0u);
}

}  // namespace
}  // namespace bandwidth
