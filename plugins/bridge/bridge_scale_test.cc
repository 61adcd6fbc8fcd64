// 50 pods added and deleted concurrently on one bridge (separate processes, as a
// runtime would run them): all reachable, nothing left afterwards.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "plugins/bridge/bridge_test_env.h"
#include "plugins/bridge/masq_nft.h"

namespace bridge::testing {
namespace {

class BridgeScaleTest : public BridgeEnv {};

TEST_F(BridgeScaleTest, FiftyPodsInParallel) {
  constexpr int kPods = 50;
  std::vector<TempNetns> pods;
  for (int i = 0; i < kPods; ++i) pods.push_back(NewPod());
  std::string conf = Conf(R"("isGateway":true,"ipMasq":true)");

  auto run_all = [&](const std::string& cmd) {
    std::vector<ProcResult> res(kPods);
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i) {
      threads.emplace_back([&, i] {
        res[i] = Exec(cmd, pods[i].path(), "scale-" + std::to_string(i), conf);
      });
    }
    for (auto& t : threads) t.join();
    return res;
  };

  std::vector<ProcResult> added = run_all("ADD");
  std::set<std::string> ips;
  for (int i = 0; i < kPods; ++i) {
    ASSERT_EQ(added[i].exit_code, 0) << "pod " << i << ": " << added[i].out << added[i].err;
    ips.insert(AddrOf(Json(added[i])));
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kPods)) << "distinct addresses";
  EXPECT_EQ(IpFiles().size(), static_cast<size_t>(kPods));

  // Every pod answers pod 0 and pod 0 answers... all from one shell loop.
  std::string loop = "for ip in";
  for (const std::string& ip : ips) loop += " " + ip;
  loop += "; do ping -c1 -W2 -q $ip >/dev/null || echo unreachable $ip; done";
  ProcResult pinged = In(pods[0], loop);
  EXPECT_EQ(pinged.out, "") << pinged.out;
  // One base chain for the network and no chain per pod: one pod-address element
  // (and its range and record) per pod.
  EXPECT_EQ(Node("nft list table inet linen_masquerade | grep -c \"hook postrouting\"").out, "1\n");
  EXPECT_EQ(Node("nft list table inet linen_masquerade | grep -cE \"^\\s+chain \"").out, "1\n");
  EXPECT_EQ(Node("nft list table inet linen_masquerade | grep -o \"net: bnet, if: eth0\" | wc -l").out,
            std::to_string(kPods) + "\n");
  EXPECT_EQ(Node("nft list table inet linen_masquerade | grep -c jump").out, "0\n");

  std::vector<ProcResult> deleted = run_all("DEL");
  for (int i = 0; i < kPods; ++i) {
    EXPECT_EQ(deleted[i].exit_code, 0) << "pod " << i << ": " << deleted[i].out;
  }
  EXPECT_EQ(NodeVeths(), "");
  EXPECT_TRUE(IpFiles().empty());
  EXPECT_EQ(Node("nft list table inet linen_masquerade | grep -c elements").out, "0\n");
}

}  // namespace
}  // namespace bridge::testing
