// Traffic control and IFB devices: what Handle writes, read back through our own
// listing and independently through `tc -j` / `ip -j`.
#include <gtest/gtest.h>

#include <string>

#include "libcni/netlink/netlink_test_fixture.h"

namespace cni::nl {
namespace {

using nlohmann::json;

class TcTest : public NetlinkTest {
 protected:
  json Tc(const std::string& args) {
    auto r = linen::test::Sh("tc -n " + ns_->name() + " -j " + args);
    EXPECT_EQ(r.exit_code, 0) << "tc " << args << ": " << r.err;
    if (r.out.find_first_not_of(" \n") == std::string::npos) return json::array();
    return json::parse(r.out);
  }
  // The qdisc of `kind` in `tc -j qdisc show dev <dev>`, or null.
  json QdiscOf(const std::string& dev, const std::string& kind) {
    for (const json& q : Tc("qdisc show dev " + dev)) {
      if (q.value("kind", "") == kind) return q;
    }
    return nullptr;
  }
};

TEST_F(TcTest, RootTbfReadsBackAsSent) {
  int va = UpVethPair("va", "vb");
  // 20 Mbit/s, a 25 KB bucket (10 ms = 156250 ticks), 25 ms of queue on top.
  const TbfParams tbf{.rate = 2'500'000, .buffer = 156'250, .limit = 62'500 + 25'000};
  ASSERT_TRUE(h_->AddRootTbf(va, 0x10000, tbf));

  json q = QdiscOf("va", "tbf");
  ASSERT_FALSE(q.is_null()) << Tc("qdisc show dev va").dump();
  EXPECT_EQ(q["handle"], "1:");
  EXPECT_TRUE(q.value("root", false));
  EXPECT_EQ(q["options"]["rate"], 2'500'000);  // tc -j prints bytes per second
  EXPECT_EQ(q["options"]["burst"], 25'000);    // the bucket as bytes at that rate
  EXPECT_EQ(q["options"]["lat"], 25'000);  // (limit - burst) / rate, in µs

  auto list = h_->ListQdiscs(va);
  ASSERT_TRUE(list) << list.error().msg();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].kind, "tbf");
  EXPECT_EQ((*list)[0].handle, 0x10000u);
  EXPECT_EQ((*list)[0].parent, kTcRoot);
  ASSERT_TRUE((*list)[0].tbf);
  EXPECT_EQ(*(*list)[0].tbf, tbf);

  // Exclusive: a second one is refused and the first stays.
  auto again = h_->AddRootTbf(va, 0x10000, {.rate = 1000, .buffer = 1000, .limit = 1000});
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsExists()) << again.error().msg();
  EXPECT_EQ(QdiscOf("va", "tbf")["options"]["rate"], 2'500'000);

  auto del = h_->DeleteQdisc(va, kTcRoot, 0x10000);
  ASSERT_TRUE(del) << del.error().msg();
  EXPECT_TRUE(QdiscOf("va", "tbf").is_null());
  // Absent is success: nothing there any more, and no such device.
  EXPECT_TRUE(h_->DeleteQdisc(va, kTcRoot, 0x10000));
  EXPECT_TRUE(h_->DeleteQdisc(4242, kTcRoot, 0x10000));
}

TEST_F(TcTest, DeleteLeavesAnotherHandlesQdisc) {
  int va = UpVethPair("va", "vb");
  ASSERT_TRUE(h_->AddRootTbf(va, 0x20000, {.rate = 1000, .buffer = 100000, .limit = 1000}));
  EXPECT_TRUE(h_->DeleteQdisc(va, kTcRoot, 0x10000));
  EXPECT_EQ(QdiscOf("va", "tbf")["handle"], "2:");
}

TEST_F(TcTest, TbfRateAbove32BitsUsesRate64) {
  int va = UpVethPair("va", "vb");
  const TbfParams tbf{.rate = 12'500'000'000ull, .buffer = 1000, .limit = 400'000'000};
  ASSERT_TRUE(h_->AddRootTbf(va, 0x10000, tbf));
  auto list = h_->ListQdiscs(va);
  ASSERT_TRUE(list && list->size() == 1u && (*list)[0].tbf);
  EXPECT_EQ((*list)[0].tbf->rate, 12'500'000'000ull);
  EXPECT_EQ(QdiscOf("va", "tbf")["options"]["rate"], 12'500'000'000ull);
}

// The whole 32-bit tick field is kept: a bucket of ~275 s reads back as sent.
TEST_F(TcTest, TbfLargestBucketReadsBackAsSent) {
  int va = UpVethPair("va", "vb");
  ASSERT_TRUE(h_->AddRootTbf(va, 0x10000, {.rate = 1000, .buffer = kTbfMaxBufferTicks, .limit = 1000}));
  auto list = h_->ListQdiscs(va);
  ASSERT_TRUE(list && list->size() == 1u && (*list)[0].tbf);
  EXPECT_EQ((*list)[0].tbf->buffer, kTbfMaxBufferTicks);
}

TEST_F(TcTest, TbfOnMissingDeviceIsNotFound) {
  auto s = h_->AddRootTbf(4242, 0x10000, {.rate = 1000, .buffer = 1000, .limit = 1000});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().IsNotFound()) << s.error().msg();
}

TEST_F(TcTest, IfbCreatedUpWithMtuAndAlias) {
  ASSERT_TRUE(h_->CreateIfb({.name = "ifbt0", .mtu = 1400}));
  auto l = h_->LinkByName("ifbt0");
  ASSERT_TRUE(l) << l.error().msg();
  EXPECT_EQ(l->kind, "ifb");
  EXPECT_TRUE(l->admin_up);
  EXPECT_EQ(l->alias, "");
  ASSERT_TRUE(h_->SetAlias(l->index, "linen test alias"));

  json j = Ip("-d link show dev ifbt0");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["linkinfo"]["info_kind"], "ifb");
  EXPECT_EQ(j[0]["mtu"], 1400);
  EXPECT_EQ(j[0]["ifalias"], "linen test alias");
  bool up = false;
  for (const json& f : j[0]["flags"]) up |= f == "UP";
  EXPECT_TRUE(up) << j.dump();
  auto again = h_->LinkByName("ifbt0");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->alias, "linen test alias");

  auto dup = h_->CreateIfb({.name = "ifbt0"});
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().IsExists()) << dup.error().msg();
}

TEST_F(TcTest, IngressRedirectToIfb) {
  int va = UpVethPair("va", "vb");
  ASSERT_TRUE(h_->CreateIfb({.name = "ifbt1"}));
  auto ifb = h_->LinkByName("ifbt1");
  ASSERT_TRUE(ifb);
  ASSERT_TRUE(h_->AddIngressQdisc(va));
  ASSERT_TRUE(h_->AddRedirectFilter(va, kTcIngressHandle, 1, 0x10001, ifb->index));

  EXPECT_FALSE(QdiscOf("va", "ingress").is_null());
  // The filter with its action, as tc sees it.
  bool redirect = false;
  for (const json& f : Tc("filter show dev va ingress")) {
    if (!f.contains("options") || !f["options"].contains("actions")) continue;
    EXPECT_EQ(f["protocol"], "all");
    EXPECT_EQ(f["pref"], 1);
    EXPECT_EQ(f["kind"], "u32");
    EXPECT_EQ(f["options"]["flowid"], "1:1");
    for (const json& a : f["options"]["actions"]) {
      redirect |= a.value("kind", "") == "mirred" && a.value("mirred_action", "") == "redirect" &&
                  a.value("direction", "") == "egress" && a.value("to_dev", "") == "ifbt1";
    }
  }
  EXPECT_TRUE(redirect) << Tc("filter show dev va ingress").dump();

  auto filters = h_->ListFilters(va, kTcIngressHandle);
  ASSERT_TRUE(filters) << filters.error().msg();
  int with_action = 0;
  for (const FilterInfo& f : *filters) {
    EXPECT_EQ(f.kind, "u32");
    EXPECT_EQ(f.priority, 1);
    EXPECT_EQ(f.protocol, kEthPAll);
    if (f.redirect_to.empty()) continue;  // u32's hash table node
    ++with_action;
    EXPECT_EQ(f.redirect_to, std::vector<int>{ifb->index});
    EXPECT_EQ(f.classid, 0x10001u);
  }
  EXPECT_EQ(with_action, 1);

  // A second ingress qdisc is refused; deleting it takes the filter along.
  auto dup = h_->AddIngressQdisc(va);
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().IsExists()) << dup.error().msg();
  ASSERT_TRUE(h_->DeleteQdisc(va, kTcIngress, kTcIngressHandle));
  EXPECT_TRUE(QdiscOf("va", "ingress").is_null());
  EXPECT_TRUE(Tc("filter show dev va ingress").empty());
  EXPECT_TRUE(h_->DeleteQdisc(va, kTcIngress, kTcIngressHandle));
}

}  // namespace
}  // namespace cni::nl
