// The built bandwidth executable chained after linen's bridge and after the
// reference bridge, in a node namespace the test creates: what lands in the kernel
// (read back with tc -j / ip -j), CHECK, DEL in every state, GC, bad input, and
// iperf3 through a shaped pod.
#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "plugins/bandwidth/config.h"
#include "plugins/bridge/bridge_test_env.h"

namespace bandwidth {
namespace {

using bridge::testing::BridgeEnv;
using bridge::testing::kRefBridge;
using cni::json;
using linen::test::ProcResult;
using linen::test::TempNetns;

// 20 Mbit/s both ways with a 200 kbit (25 KB) bucket.
const json kLimits = {{"ingressRate", 20'000'000},
                      {"ingressBurst", 200'000},
                      {"egressRate", 20'000'000},
                      {"egressBurst", 200'000}};

class BandwidthTest : public BridgeEnv {
 protected:
  // A pod attached by `bridge_bin` ("" = linen's); returns its ADD result.
  json AddPod(const TempNetns& pod, const std::string& cid, const std::string& bridge_bin = "") {
    auto r = Exec("ADD", pod.path(), cid, Conf(R"("isGateway":true)"), bridge_bin);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return Json(r);
  }
  static json BwConf(const json& prev, const json& extra = kLimits,
                     const std::string& version = "1.0.0") {
    json j = {{"cniVersion", version}, {"name", "bnet"}, {"type", "bandwidth"}};
    j.update(extra);
    if (!prev.is_null()) j["prevResult"] = prev;
    return j;
  }
  ProcResult Bw(const std::string& cmd, const std::string& netns, const std::string& cid,
                const json& conf) {
    return Exec(cmd, netns, cid, conf.dump(), linen::test::CniBin("bandwidth"));
  }
  // The host end of the pod's veth: the result's host-side interface other than the bridge.
  // prevResult as a chained plugin hands it on: the skeleton leaves out an empty
  // "dns" (the reference bridge prints one).
  static json HandedOn(json prev) {
    if (prev.contains("dns") && prev["dns"].empty()) prev.erase("dns");
    return prev;
  }
  static std::string HostVeth(const json& result) {
    for (const json& i : result["interfaces"]) {
      if (!i.contains("sandbox") && i["name"] != "cni0") return i["name"];
    }
    return "";
  }
  json NodeJson(const std::string& cmd) {
    auto r = Node(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    if (r.out.find_first_not_of(" \n") == std::string::npos) return json::array();
    return json::parse(r.out);
  }
  json Qdisc(const std::string& dev, const std::string& kind) {
    for (const json& q : NodeJson("tc -j qdisc show dev " + dev)) {
      if (q.value("kind", "") == kind) return q;
    }
    return nullptr;
  }
  std::vector<std::string> Ifbs() {
    std::vector<std::string> out;
    for (const json& l : NodeJson("ip -j link show type ifb")) out.push_back(l["ifname"]);
    return out;
  }
  // The target of the mirred redirect under dev's ingress qdisc, "" if none.
  std::string RedirectTarget(const std::string& dev) {
    for (const json& f : NodeJson("tc -j filter show dev " + dev + " ingress")) {
      if (!f.contains("options") || !f["options"].contains("actions")) continue;
      for (const json& a : f["options"]["actions"]) {
        if (a.value("mirred_action", "") == "redirect") return a.value("to_dev", "");
      }
    }
    return "";
  }
  // Everything of the node a bandwidth ADD could change.
  std::string NodeState() {
    // (Not ip -d on every link: the bridge's timers tick.)
    return Node("ip -br link show; ip -j -d link show type ifb; tc -j qdisc show; "
                "for d in $(ls /sys/class/net); do tc -j filter show dev $d ingress; done")
        .out;
  }
  // The shaping of one pod as the kernel has it.
  void ExpectShaped(const std::string& veth, const std::string& cid) {
    json tbf = Qdisc(veth, "tbf");
    ASSERT_FALSE(tbf.is_null()) << NodeJson("tc -j qdisc show dev " + veth).dump();
    EXPECT_EQ(tbf["handle"], "1:");
    EXPECT_TRUE(tbf.value("root", false));
    EXPECT_EQ(tbf["options"]["rate"], 2'500'000);
    EXPECT_EQ(tbf["options"]["burst"], 25'000);
    EXPECT_FALSE(Qdisc(veth, "ingress").is_null());
    const std::string ifb = IfbName("bnet", cid);
    EXPECT_EQ(RedirectTarget(veth), ifb);
    json link = NodeJson("ip -j -d link show dev " + ifb);
    ASSERT_EQ(link.size(), 1u);
    EXPECT_EQ(link[0]["linkinfo"]["info_kind"], "ifb");
    if (link[0].contains("ifalias")) EXPECT_EQ(link[0]["ifalias"], IfbAlias("bnet", cid));
    EXPECT_EQ(link[0]["mtu"], NodeJson("ip -j link show dev " + veth)[0]["mtu"]);
    json ifb_tbf = Qdisc(ifb, "tbf");
    ASSERT_FALSE(ifb_tbf.is_null());
    EXPECT_EQ(ifb_tbf["options"]["rate"], 2'500'000);
  }
  void ExpectUnshaped(const std::string& veth, const std::string& cid) {
    if (Node("ip link show dev " + veth + " >/dev/null 2>&1").exit_code == 0) {
      EXPECT_TRUE(Qdisc(veth, "tbf").is_null());
      EXPECT_TRUE(Qdisc(veth, "ingress").is_null());
    }
    EXPECT_EQ(Node("ip link show dev " + IfbName("bnet", cid) + " 2>/dev/null").out, "");
  }
};

TEST_F(BandwidthTest, AfterLinenBridgeShapesChecksAndDeletes) {
  TempNetns pod = NewPod();
  json prev = AddPod(pod, "bw1");
  const std::string veth = HostVeth(prev);
  ASSERT_FALSE(veth.empty()) << prev.dump();

  auto add = Bw("ADD", pod.path(), "bw1", BwConf(prev));
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_EQ(Json(add), HandedOn(prev));  // prevResult handed on unchanged
  ExpectShaped(veth, "bw1");
  EXPECT_EQ(NodeJson("ip -j link show dev " + IfbName("bnet", "bw1"))[0]["ifalias"],
            IfbAlias("bnet", "bw1"));

  auto check = Bw("CHECK", pod.path(), "bw1", BwConf(prev));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // CHECK sees a qdisc gone.
  ASSERT_EQ(Node("tc qdisc del dev " + veth + " root").exit_code, 0);
  check = Bw("CHECK", pod.path(), "bw1", BwConf(prev));
  EXPECT_NE(check.exit_code, 0);
  EXPECT_NE(check.out.find("tbf"), std::string::npos) << check.out;
  ASSERT_EQ(Node("tc qdisc del dev " + veth + " ingress").exit_code, 0);
  check = Bw("CHECK", pod.path(), "bw1", BwConf(prev, {{"egressRate", 20'000'000},
                                                        {"egressBurst", 200'000}}));
  EXPECT_NE(check.exit_code, 0);
  EXPECT_NE(check.out.find("redirect"), std::string::npos) << check.out;

  auto del = Bw("DEL", pod.path(), "bw1", BwConf(prev));
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  ExpectUnshaped(veth, "bw1");
  del = Bw("DEL", pod.path(), "bw1", BwConf(prev));
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
}

TEST_F(BandwidthTest, AfterReferenceBridge) {
  if (!std::filesystem::exists(kRefBridge)) GTEST_SKIP() << kRefBridge << " not installed";
  TempNetns pod = NewPod();
  json prev = AddPod(pod, "bwref", kRefBridge);
  const std::string veth = HostVeth(prev);
  ASSERT_FALSE(veth.empty()) << prev.dump();
  auto add = Bw("ADD", pod.path(), "bwref", BwConf(prev));
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_EQ(Json(add), HandedOn(prev));
  ExpectShaped(veth, "bwref");
  auto del = Bw("DEL", pod.path(), "bwref", BwConf(prev));
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  ExpectUnshaped(veth, "bwref");
}

// A node switching binaries: each plugin's CHECK accepts the other's qdiscs (same
// numbers), and each one's DEL finds the other's IFB by its name.
TEST_F(BandwidthTest, InteropWithReferenceBandwidth) {
  const std::string ref = "/usr/lib/cni/bandwidth";
  if (!std::filesystem::exists(ref)) GTEST_SKIP() << ref << " not installed";
  TempNetns pod = NewPod();
  json prev = AddPod(pod, "bwint");
  const std::string veth = HostVeth(prev);
  auto add = Exec("ADD", pod.path(), "bwint", BwConf(prev).dump(), ref);
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  ExpectShaped(veth, "bwint");  // the reference's IFB has the same name (alias aside)
  auto check = Bw("CHECK", pod.path(), "bwint", BwConf(prev));
  EXPECT_EQ(check.exit_code, 0) << check.out;
  auto del = Bw("DEL", pod.path(), "bwint", BwConf(prev));
  EXPECT_EQ(del.exit_code, 0) << del.out;
  ExpectUnshaped(veth, "bwint");

  add = Bw("ADD", pod.path(), "bwint", BwConf(prev));
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  check = Exec("CHECK", pod.path(), "bwint", BwConf(prev).dump(), ref);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  del = Exec("DEL", pod.path(), "bwint", BwConf(prev).dump(), ref);
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_TRUE(Ifbs().empty());
}

TEST_F(BandwidthTest, CapabilityAndOlderResultVersion) {
  TempNetns pod = NewPod();
  json prev = AddPod(pod, "bwcap");
  const std::string veth = HostVeth(prev);
  // A 0.4.0 conflist: prevResult in that shape, handed back in it.
  json prev04 = prev;
  for (json& ip : prev04["ips"]) ip["version"] = ip["address"].get<std::string>().find(':') ==
                                                         std::string::npos
                                                     ? "4"
                                                     : "6";
  prev04["cniVersion"] = "0.4.0";
  // containerd's burst for an annotated pod: 537 s at this rate, past the 32-bit
  // tick field (the reference wraps it around; linen saturates).
  json conf = BwConf(prev04, {{"runtimeConfig", {{"bandwidth", {{"ingressRate", 8'000'000},
                                                                {"ingressBurst", 4'294'967'295ull}}}}}},
                     "0.4.0");
  auto add = Bw("ADD", pod.path(), "bwcap", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  json out = Json(add);
  EXPECT_EQ(out["cniVersion"], "0.4.0");
  EXPECT_EQ(out["ips"], prev04["ips"]);
  EXPECT_EQ(Qdisc(veth, "tbf")["options"]["rate"], 1'000'000);
  EXPECT_TRUE(Qdisc(veth, "ingress").is_null());  // no egress limit: no IFB either
  EXPECT_TRUE(Ifbs().empty());
  // What was sent reads back unchanged.
  auto check = Bw("CHECK", pod.path(), "bwcap", conf);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(Bw("DEL", pod.path(), "bwcap", conf).exit_code, 0);
  EXPECT_TRUE(Qdisc(veth, "tbf").is_null());
}

TEST_F(BandwidthTest, DelWithNetnsGoneAndWithoutPrevResult) {
  std::string veth;
  json prev;
  {
    TempNetns pod = NewPod();
    prev = AddPod(pod, "bwgone");
    veth = HostVeth(prev);
    auto add = Bw("ADD", pod.path(), "bwgone", BwConf(prev));
    ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
    ExpectShaped(veth, "bwgone");
    // The namespace goes here, and with it the veth pair.
  }
  auto del = Bw("DEL", "/run/netns/linen-gone-ns", "bwgone", BwConf(prev));
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_TRUE(Ifbs().empty());
  // The kernel dismantles a namespace asynchronously; the veth and its qdiscs go then.
  bool veth_gone = false;
  for (int i = 0; i < 100 && !veth_gone; ++i) {
    veth_gone = Node("ip link show dev " + veth + " >/dev/null 2>&1").exit_code != 0;
    if (!veth_gone) usleep(50'000);
  }
  EXPECT_TRUE(veth_gone);
  ExpectUnshaped(veth, "bwgone");

  TempNetns pod = NewPod();
  prev = AddPod(pod, "bwnoprev");
  veth = HostVeth(prev);
  ASSERT_EQ(Bw("ADD", pod.path(), "bwnoprev", BwConf(prev)).exit_code, 0);
  del = Bw("DEL", pod.path(), "bwnoprev", BwConf(nullptr));
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  ExpectUnshaped(veth, "bwnoprev");
  // Nor a netns at all.
  del = Bw("DEL", "", "bwnoprev", BwConf(nullptr));
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
}

TEST_F(BandwidthTest, FailedAddLeavesNothingOfItsOwn) {
  TempNetns pod = NewPod();
  json prev = AddPod(pod, "bwrb");
  const std::string veth = HostVeth(prev);
  // Someone else's ingress qdisc: the egress half cannot be set up.
  ASSERT_EQ(Node("tc qdisc add dev " + veth + " ingress").exit_code, 0);
  const std::string before = NodeState();
  auto add = Bw("ADD", pod.path(), "bwrb", BwConf(prev));
  EXPECT_NE(add.exit_code, 0) << add.out;
  EXPECT_NE(add.out.find("ingress qdisc"), std::string::npos) << add.out;
  EXPECT_EQ(NodeState(), before);  // TBF and IFB rolled back, their ingress qdisc kept
  EXPECT_TRUE(Ifbs().empty());

  // A device already holding the IFB's name: the veth's TBF made before is undone,
  // the device is left alone.
  ASSERT_EQ(Node("tc qdisc del dev " + veth + " ingress && ip link add " +
                 IfbName("bnet", "bwrb") + " type bridge")
                .exit_code,
            0);
  const std::string before2 = NodeState();
  add = Bw("ADD", pod.path(), "bwrb", BwConf(prev));
  EXPECT_NE(add.exit_code, 0) << add.out;
  EXPECT_NE(add.out.find("create ifb"), std::string::npos) << add.out;
  EXPECT_EQ(NodeState(), before2);
  // Nor does DEL take it for its IFB.
  auto del = Bw("DEL", pod.path(), "bwrb", BwConf(prev));
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(Node("ip link show dev " + IfbName("bnet", "bwrb") + " >/dev/null").exit_code, 0);
}

TEST_F(BandwidthTest, GcRemovesOnlyThisNetworksStaleIfbs) {
  TempNetns a = NewPod(), b = NewPod();
  json pa = AddPod(a, "gcA"), pb = AddPod(b, "gcB");
  ASSERT_EQ(Bw("ADD", a.path(), "gcA", BwConf(pa)).exit_code, 0);
  ASSERT_EQ(Bw("ADD", b.path(), "gcB", BwConf(pb)).exit_code, 0);
  // An IFB linen did not make (the reference's carry no alias) and one of another network.
  ASSERT_EQ(Node("ip link add bwp000000000000 type ifb && ip link add bwpother00000 type ifb && "
                 "ip link set bwpother00000 alias \"" + IfbAlias("othernet", "gcB") + "\"")
                .exit_code,
            0);
  json gc = {{"cniVersion", "1.1.0"}, {"name", "bnet"}, {"type", "bandwidth"},
             {"cni.dev/valid-attachments", {{{"containerID", "gcA"}, {"ifname", "eth0"}}}}};
  auto r = Bw("GC", "", "", gc);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto ifbs = Ifbs();
  std::sort(ifbs.begin(), ifbs.end());
  std::vector<std::string> want = {"bwp000000000000", IfbName("bnet", "gcA"), "bwpother00000"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ifbs, want);

  json status = {{"cniVersion", "1.1.0"}, {"name", "bnet"}, {"type", "bandwidth"}};
  r = Bw("STATUS", "", "", status);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// Bad input: the right code, the key named, the node unchanged.
TEST_F(BandwidthTest, BadInputChangesNothing) {
  TempNetns pod = NewPod();
  json prev = AddPod(pod, "bwbad");
  struct Case {
    json conf;
    int code;
    std::string names;
  };
  json no_host_if = prev;
  no_host_if["interfaces"] = json::array({prev["interfaces"].back()});  // only the pod's
  const std::vector<Case> cases = {
      {BwConf(prev, {{"ingressBurst", 800}}), 7, "ingressRate"},
      {BwConf(prev, {{"ingressRate", 8000}}), 7, "ingressBurst"},
      {BwConf(prev, {{"egressBurst", 800}}), 7, "egressRate"},
      {BwConf(prev, {{"egressRate", 8000}}), 7, "egressBurst"},
      {BwConf(prev, {{"egressRate", 8000}, {"egressBurst", 34'359'738'360ull}}), 7, "egressBurst"},
      {BwConf(prev, {{"ingressRate", 4}, {"ingressBurst", 800}}), 7, "ingressRate"},
      {BwConf(prev, {{"ingressRate", -8000}, {"ingressBurst", 800}}), 7, "ingressRate"},
      {BwConf(prev, {{"egressRate", 1e20}, {"egressBurst", 800}}), 7, "egressRate"},
      {BwConf(prev, {{"ingressRate", "8000"}, {"ingressBurst", 800}}), 6, "ingressRate"},
      {BwConf(prev, {{"egressRate", 8000}, {"egressBurst", 1.5}}), 6, "egressBurst"},
      {BwConf(prev, {{"egressRate", true}}), 6, "egressRate"},
      {BwConf(prev, {{"runtimeConfig", {{"bandwidth", 5}}}}), 6, "runtimeConfig.bandwidth"},
      {BwConf(prev, {{"runtimeConfig", {{"bandwidth", {{"ingressBurst", 800}}}}}}), 7,
       "runtimeConfig.bandwidth.ingressRate"},
      {BwConf(nullptr), 7, "prevResult"},
      {BwConf(no_host_if), 7, "prevResult"},
      {BwConf(prev, kLimits, "0.2.0"), 1, "0.2.0"},
  };
  const std::string before = NodeState();
  for (const Case& c : cases) {
    auto r = Bw("ADD", pod.path(), "bwbad", c.conf);
    EXPECT_NE(r.exit_code, 0) << c.conf.dump();
    json j = Json(r);
    EXPECT_EQ(j.value("code", 0), c.code) << c.conf.dump() << " -> " << r.out;
    EXPECT_NE((j.value("msg", "") + j.value("details", "")).find(c.names), std::string::npos)
        << r.out;
  }
  EXPECT_EQ(NodeState(), before);
}

// iperf3 from a shaped pod to a peer pod on the same bridge, both ways.
TEST_F(BandwidthTest, ThroughputFollowsTheRateBothWays) {
  TempNetns shaped = NewPod(), peer = NewPod();
  json ps = AddPod(shaped, "bwtp1"), pp = AddPod(peer, "bwtp2");
  ASSERT_EQ(Bw("ADD", shaped.path(), "bwtp1", BwConf(ps)).exit_code, 0);
  const std::string peer_ip = bridge::testing::AddrOf(pp);
  const std::string pidfile = dir_.path() + "/iperf3.pid";
  ASSERT_EQ(In(peer, "iperf3 -s -D -B " + peer_ip + " -I " + pidfile).exit_code, 0);
  struct Killer {
    std::string pidfile;
    ~Killer() {
      std::ifstream f(pidfile);
      int pid = 0;
      if (f >> pid && pid > 0) kill(pid, SIGTERM);
    }
  } killer{pidfile};
  auto measure = [&](const std::string& extra) -> double {
    // The server may take a moment to listen or to be free again: retry, bounded.
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto r = In(shaped, "iperf3 -J -t 3 -O 1 -i 0.5 -c " + peer_ip + " " + extra);
      if (r.exit_code == 0) {
        // The median half-second: a loaded machine (the suite runs tests in parallel
        // beside a compiler) can starve iperf3 for a moment, and a TBF does not give
        // back the time it sat idle, so one slow interval must not decide.
        const json report = json::parse(r.out);
        std::vector<double> rates;
        for (const json& iv : report["intervals"]) {
          if (!iv["sum"].value("omitted", false)) {
            rates.push_back(iv["sum"]["bits_per_second"].get<double>());
          }
        }
        if (rates.empty()) {
          ADD_FAILURE() << r.out;
          return 0;
        }
        std::sort(rates.begin(), rates.end());
        return rates[rates.size() / 2];
      }
      // Not listening yet, or still closing the previous test (a client that ends
      // before the server has reset is told "the server is busy"): try again.
      auto said = [&](const char* what) {
        return r.out.find(what) != std::string::npos || r.err.find(what) != std::string::npos;
      };
      if (!said("Connection refused") && !said("server is busy")) {
        ADD_FAILURE() << r.out << r.err;
        return 0;
      }
      usleep(100'000);
    }
    ADD_FAILURE() << "iperf3 server never listened";
    return 0;
  };
  const double egress = measure("");     // pod -> peer: the IFB's TBF
  const double ingress = measure("-R");  // peer -> pod: the veth's TBF
  std::printf("iperf3 through a 20 Mbit/s pod: egress %.2f Mbit/s, ingress %.2f Mbit/s\n",
              egress / 1e6, ingress / 1e6);
  EXPECT_NEAR(egress, 20e6, 3e6) << "egress (from the pod)";
  EXPECT_NEAR(ingress, 20e6, 3e6) << "ingress (to the pod)";
}

}  // namespace
}  // namespace bandwidth
