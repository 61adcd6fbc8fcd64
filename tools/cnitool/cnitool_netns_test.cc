// cnitool "on a node": the node is a namespace this test creates, cnitool runs in it
// (ip netns exec), and drives bridge + host-local + tuning into pod namespaces. The
// same tests run with the reference plugins (/usr/lib/cni) and with ours
// (<build>/cni-bin first on CNI_PATH; tuning still comes from /usr/lib/cni).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "libcni/types.h"
#include "netns/netns.h"
#include "test/support/test_support.h"
#include "tools/cnitool/tool_env.h"

namespace cnitool {
namespace {

namespace fs = std::filesystem;
using cni::json;
using linen::test::ProcResult;
using linen::test::Sh;
using linen::test::TempDir;
using linen::test::TempNetns;

constexpr const char* kReferenceDir = "/usr/lib/cni";
constexpr const char* kIp = "/usr/sbin/ip";

std::string ConfList(const std::string& data_dir) {
  return R"({"cniVersion":"1.0.0","name":"podnet","plugins":[
    {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,
     "ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.0.0/24"}]],
             "routes":[{"dst":"0.0.0.0/0"}],"dataDir":")" + data_dir + R"("}},
    {"type":"tuning","promisc":true,"capabilities":{"mac":true}}]})";
}

bool OursBuilt() {
  return fs::exists(linen::test::CniBin("bridge")) && fs::exists(linen::test::CniBin("host-local"));
}

// Everything one cnitool "node" needs: its namespace, config dir, cache, IPAM data.
struct Node {
  explicit Node(std::string plugin_path) : cni_path(std::move(plugin_path)) {
    auto n = TempNetns::Create("cnod");
    EXPECT_TRUE(n) << n.error().msg();
    if (n) ns.emplace(std::move(*n));
    std::ofstream(conf.path() + "/10-podnet.conflist") << ConfList(ipam.path());
  }
  // Runs cnitool in the node namespace through `ip netns exec`, which also gives it a
  // private mount namespace (and a /sys of the node).
  ProcResult Cnitool(const std::vector<std::string>& args,
                     std::map<std::string, std::string> env = {}) const {
    std::vector<std::string> argv = {kIp, "netns", "exec", ns->name()};
    return RunCnitool(std::move(argv), args, std::move(env));
  }
  // Runs cnitool as a child of this thread switched into the node namespace: same
  // mount namespace as the test, so named netns that cnitool creates are visible here.
  ProcResult CnitoolSwitched(const std::vector<std::string>& args) const {
    auto sw = cni::ScopedNetnsSwitch::Enter(ns->ns());
    EXPECT_TRUE(sw) << sw.error().msg();
    return RunCnitool({}, args, {});
  }
  ProcResult RunCnitool(std::vector<std::string> argv, const std::vector<std::string>& args,
                        std::map<std::string, std::string> env) const {
    argv.push_back(linen::test::CniBin("cnitool"));
    argv.push_back("--cache-dir");
    argv.push_back(cache.path());
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace("NETCONFPATH", conf.path());
    env.emplace("CNI_PATH", cni_path);
    env.emplace("CNI_ARGS", "");
    env.emplace("CAP_ARGS", "");
    env.emplace("CNI_IFNAME", "");
    env.emplace("CNI_CONTAINERID", "");
    return linen::test::Run(argv, env);
  }
  std::string CacheFile(const TempNetns& pod) const {
    return cache.path() + "/results/podnet-" + ContainerIdFor(pod.path()) + "-eth0";
  }
  // host-local keeps one file per reserved address, named after it.
  bool Reserved(const std::string& ip) const { return fs::exists(ipam.path() + "/podnet/" + ip); }

  std::string cni_path;
  TempDir conf, cache, ipam;
  std::optional<TempNetns> ns;
};

std::string Ip4Of(const json& result) {
  std::string cidr = result.at("ips").at(0).at("address");
  return cidr.substr(0, cidr.find('/'));
}

json LinkJson(const TempNetns& ns, const std::string& dev) {
  ProcResult r = Sh(std::string(kIp) + " -n " + ns.name() + " -j addr show dev " + dev);
  if (r.exit_code != 0) return json();
  json j = json::parse(r.out, nullptr, false);
  return j.is_array() && !j.empty() ? j[0] : json();
}

bool HasAddress(const json& link, const std::string& ip) {
  if (!link.is_object()) return false;
  for (const auto& a : link["addr_info"]) {
    if (a.value("local", "") == ip) return true;
  }
  return false;
}

class CnitoolNetnsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "linen") {
      if (!OursBuilt()) GTEST_SKIP() << "linen bridge/host-local not built in " << linen::test::CniBinDir();
      cni_path_ = linen::test::CniBinDir() + ":" + kReferenceDir;
    } else {
      cni_path_ = kReferenceDir;
    }
    ASSERT_TRUE(fs::exists(linen::test::CniBin("cnitool")));
  }
  std::string cni_path_;
};

TEST_P(CnitoolNetnsTest, AddCheckDelThroughTheChain) {
  Node node(cni_path_);
  ASSERT_TRUE(node.ns);
  auto pod = TempNetns::Create("cpod");
  ASSERT_TRUE(pod) << pod.error().msg();

  const std::string mac = "0a:58:0a:63:00:42";
  ProcResult add = node.Cnitool({"add", "podnet", pod->path()}, {{"CAP_ARGS", R"({"mac":")" + mac + R"("})"}});
  ASSERT_EQ(add.exit_code, 0) << add.err << add.out;
  json result = json::parse(add.out);
  EXPECT_EQ(result["cniVersion"], "1.0.0");
  const std::string ip = Ip4Of(result);
  EXPECT_EQ(result["ips"][0]["gateway"], "10.99.0.1");
  EXPECT_EQ(ip.rfind("10.99.0.", 0), 0u) << ip;

  // Kernel state: pod eth0 has the address, tuning's promisc and the capability MAC;
  // the node's bridge has the gateway; and the pod reaches it.
  json eth0 = LinkJson(*pod, "eth0");
  EXPECT_TRUE(HasAddress(eth0, ip)) << eth0.dump();
  EXPECT_EQ(eth0.value("address", ""), mac);
  bool promisc = false;
  for (const auto& f : eth0.value("flags", json::array())) promisc |= f == "PROMISC";
  EXPECT_TRUE(promisc) << eth0.dump();
  EXPECT_TRUE(HasAddress(LinkJson(*node.ns, "cni0"), "10.99.0.1"));
  EXPECT_EQ(Sh(std::string(kIp) + " netns exec " + pod->name() + " ping -c 1 -W 5 10.99.0.1").exit_code, 0);
  EXPECT_TRUE(node.Reserved(ip));

  // The cache holds the final result (tuning's MAC included) in the reference format.
  std::ifstream in(node.CacheFile(*pod));
  json cached = json::parse(in);
  EXPECT_EQ(cached["kind"], "cniCacheV1");
  EXPECT_EQ(cached["netns"], pod->path());
  EXPECT_EQ(cached["capabilityArgs"]["mac"], mac);
  EXPECT_EQ(cached["result"], result);

  ProcResult check = node.Cnitool({"check", "podnet", pod->path()});
  EXPECT_EQ(check.exit_code, 0) << check.err;

  // CHECK compares the kernel with the cached result: take the address away and it
  // must fail, naming the problem.
  ASSERT_EQ(Sh(std::string(kIp) + " -n " + pod->name() + " addr flush dev eth0").exit_code, 0);
  check = node.Cnitool({"check", "podnet", pod->path()});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.err.find("CNI error code"), std::string::npos) << check.err;

  ProcResult del = node.Cnitool({"del", "podnet", pod->path()});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_TRUE(LinkJson(*pod, "eth0").is_null());
  EXPECT_FALSE(node.Reserved(ip));
  EXPECT_FALSE(fs::exists(node.CacheFile(*pod)));
  // DEL again is fine (nothing left, no cache).
  del = node.Cnitool({"del", "podnet", pod->path()});
  EXPECT_EQ(del.exit_code, 0) << del.err;
}

TEST_P(CnitoolNetnsTest, CheckWithoutCachedResultFails) {
  Node node(cni_path_);
  ASSERT_TRUE(node.ns);
  auto pod = TempNetns::Create("cpod");
  ASSERT_TRUE(pod) << pod.error().msg();
  ASSERT_EQ(node.Cnitool({"add", "podnet", pod->path()}).exit_code, 0);
  ASSERT_TRUE(fs::remove(node.CacheFile(*pod)));
  // Without the cache there is no prevResult, which bridge's CHECK requires.
  ProcResult check = node.Cnitool({"check", "podnet", pod->path()});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.err.find("prevResult"), std::string::npos) << check.err;
  EXPECT_EQ(node.Cnitool({"del", "podnet", pod->path()}).exit_code, 0);
}

TEST_P(CnitoolNetnsTest, GcReleasesAttachmentsNotKept) {
  Node node(cni_path_);
  ASSERT_TRUE(node.ns);
  auto a = TempNetns::Create("cpoda");
  auto b = TempNetns::Create("cpodb");
  ASSERT_TRUE(a && b);
  ProcResult add_a = node.Cnitool({"add", "podnet", a->path()});
  ProcResult add_b = node.Cnitool({"add", "podnet", b->path()});
  ASSERT_EQ(add_a.exit_code, 0) << add_a.err;
  ASSERT_EQ(add_b.exit_code, 0) << add_b.err;
  const std::string ip_a = Ip4Of(json::parse(add_a.out)), ip_b = Ip4Of(json::parse(add_b.out));
  ASSERT_NE(ip_a, ip_b);

  ProcResult gc = node.Cnitool({"gc", "podnet", "--keep", ContainerIdFor(b->path())});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_FALSE(node.Reserved(ip_a));
  EXPECT_TRUE(LinkJson(*a, "eth0").is_null());
  EXPECT_FALSE(fs::exists(node.CacheFile(*a)));
  EXPECT_TRUE(node.Reserved(ip_b));
  EXPECT_TRUE(HasAddress(LinkJson(*b, "eth0"), ip_b));
  EXPECT_TRUE(fs::exists(node.CacheFile(*b)));

  // The reference tool's behaviour: gc without a keep list collects everything.
  gc = node.Cnitool({"gc", "podnet"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_FALSE(node.Reserved(ip_b));
  EXPECT_TRUE(LinkJson(*b, "eth0").is_null());
}

TEST_P(CnitoolNetnsTest, NetnsNameCreatesAndRemovesNamedNamespace) {
  Node node(cni_path_);
  ASSERT_TRUE(node.ns);
  const std::string name = linen::test::UniqueName("cnn");
  struct Guard {
    std::string n;
    ~Guard() { (void)cni::DeleteNamedNetns(n); }
  } guard{name};
  // Not under `ip netns exec`: its private mount namespace would hide the new mount.
  ProcResult add = node.CnitoolSwitched({"add", "--netns-name", name, "podnet"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  ASSERT_TRUE(fs::exists(cni::NamedNetnsPath(name)));
  EXPECT_EQ(Sh(std::string(kIp) + " -n " + name + " link show eth0").exit_code, 0);
  ProcResult del = node.CnitoolSwitched({"del", "--netns-name", name, "--rm-netns", "podnet"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_FALSE(fs::exists(cni::NamedNetnsPath(name)));
}

TEST_P(CnitoolNetnsTest, FailedAddLeavesNothingBehind) {
  Node node(cni_path_);
  ASSERT_TRUE(node.ns);
  auto pod = TempNetns::Create("cpod");
  ASSERT_TRUE(pod) << pod.error().msg();
  // tuning rejects a MAC that is not one: bridge and host-local have already done
  // their part, so cnitool's cleanup DEL must undo it.
  ProcResult add = node.Cnitool({"add", "podnet", pod->path()}, {{"CAP_ARGS", R"({"mac":"not-a-mac"})"}});
  ASSERT_EQ(add.exit_code, 1) << add.out;
  EXPECT_NE(add.err.find("type=\"tuning\" failed (add)"), std::string::npos) << add.err;
  EXPECT_NE(add.err.find("ran DEL to undo"), std::string::npos) << add.err;
  EXPECT_TRUE(LinkJson(*pod, "eth0").is_null());
  int reserved = 0;
  if (fs::exists(node.ipam.path() + "/podnet")) {
    for (const auto& f : fs::directory_iterator(node.ipam.path() + "/podnet")) {
      reserved += f.path().filename().string().rfind("10.", 0) == 0;
    }
  }
  EXPECT_EQ(reserved, 0);
  EXPECT_FALSE(fs::exists(node.CacheFile(*pod)));
}

// CNI 1.1 verbs need plugins that speak 1.1.0, which the reference 1.1.1 plugins in
// /usr/lib/cni do not: these run with ours only.
class CnitoolLinen11Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!OursBuilt()) GTEST_SKIP() << "linen bridge/host-local not built in " << linen::test::CniBinDir();
    node_.emplace(linen::test::CniBinDir());
    ASSERT_TRUE(node_->ns);
    std::ofstream(node_->conf.path() + "/10-podnet.conflist")
        << R"({"cniVersion":"1.1.0","name":"podnet","plugins":[
          {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,
           "ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.0.0/24"}]],
                   "dataDir":")" << node_->ipam.path() << R"("}}]})";
  }
  std::optional<Node> node_;
};

// The GC verb (not only the synthesized DELs) reaches the plugins with the keep list:
// a reservation whose cache entry was lost is freed because it is not listed.
TEST_F(CnitoolLinen11Test, GcVerbFreesReservationsTheCacheForgot) {
  auto a = TempNetns::Create("cpoda");
  auto b = TempNetns::Create("cpodb");
  ASSERT_TRUE(a && b);
  ProcResult add_a = node_->Cnitool({"add", "podnet", a->path()});
  ProcResult add_b = node_->Cnitool({"add", "podnet", b->path()});
  ASSERT_EQ(add_a.exit_code, 0) << add_a.err;
  ASSERT_EQ(add_b.exit_code, 0) << add_b.err;
  const std::string ip_a = Ip4Of(json::parse(add_a.out)), ip_b = Ip4Of(json::parse(add_b.out));
  ASSERT_TRUE(fs::remove(node_->CacheFile(*b)));  // the runtime lost track of b

  ProcResult gc = node_->Cnitool({"gc", "podnet", "--keep", ContainerIdFor(a->path())});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_TRUE(node_->Reserved(ip_a));
  EXPECT_FALSE(node_->Reserved(ip_b));
  EXPECT_EQ(node_->Cnitool({"del", "podnet", a->path()}).exit_code, 0);
}

TEST_F(CnitoolLinen11Test, StatusReady) {
  ProcResult st = node_->Cnitool({"status", "podnet"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
}

// The `bandwidth` capability as a runtime passes it (CAP_ARGS -> runtimeConfig of
// the plugins that declare it), through bridge + bandwidth: ADD shapes the pod, the
// cached result is the bridge's, CHECK passes, DEL removes the IFB.
TEST(CnitoolBandwidth, CapabilityDrivesTheChain) {
  if (!OursBuilt() || !fs::exists(linen::test::CniBin("bandwidth"))) {
    GTEST_SKIP() << "linen bridge/host-local/bandwidth not built in " << linen::test::CniBinDir();
  }
  Node node(linen::test::CniBinDir());
  ASSERT_TRUE(node.ns);
  std::ofstream(node.conf.path() + "/10-podnet.conflist")
      << R"({"cniVersion":"1.0.0","name":"podnet","plugins":[
        {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,
         "ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.0.0/24"}]],
                 "dataDir":")" << node.ipam.path() << R"("}},
        {"type":"bandwidth","capabilities":{"bandwidth":true}}]})";
  auto pod = TempNetns::Create("cpod");
  ASSERT_TRUE(pod) << pod.error().msg();
  const std::string caps = R"({"bandwidth":{"ingressRate":10000000,"ingressBurst":4294967295,)"
                           R"("egressRate":20000000,"egressBurst":4294967295}})";
  ProcResult add = node.Cnitool({"add", "podnet", pod->path()}, {{"CAP_ARGS", caps}});
  ASSERT_EQ(add.exit_code, 0) << add.err << add.out;
  auto tc = [&](const std::string& args) {
    ProcResult r = Sh("tc -n " + node.ns->name() + " -j " + args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out.empty() ? "[]" : r.out);
  };
  std::string ifb;
  for (const json& l : json::parse(Sh(std::string(kIp) + " -n " + node.ns->name() +
                                      " -j link show type ifb").out)) {
    ifb = l["ifname"];
  }
  ASSERT_EQ(ifb.rfind("bwp", 0), 0u) << ifb;
  int rates = 0;
  for (const json& q : tc("qdisc show")) {
    if (q.value("kind", "") != "tbf") continue;
    rates += q["options"]["rate"] == (q["dev"] == ifb ? 2'500'000 : 1'250'000);
  }
  EXPECT_EQ(rates, 2) << tc("qdisc show").dump();
  EXPECT_EQ(node.Cnitool({"check", "podnet", pod->path()}, {{"CAP_ARGS", caps}}).exit_code, 0);
  ProcResult del = node.Cnitool({"del", "podnet", pod->path()}, {{"CAP_ARGS", caps}});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(Sh(std::string(kIp) + " -n " + node.ns->name() + " link show type ifb").out, "");
}

INSTANTIATE_TEST_SUITE_P(Plugins, CnitoolNetnsTest, ::testing::Values("reference", "linen"),
                         [](const auto& info) { return info.param; });

// Ours and the reference, driven by the same cnitool with the same config, give the
// same result apart from what is random per attachment (MACs, host veth name) and
// the sandbox path.
TEST(CnitoolInterop, ReferenceAndLinenPluginsGiveTheSameResult) {
  if (!OursBuilt()) GTEST_SKIP() << "linen bridge/host-local not built in " << linen::test::CniBinDir();
  auto normalize = [](json r) {
    for (auto& i : r["interfaces"]) {
      i.erase("mac");
      if (i.contains("sandbox")) i["sandbox"] = "<pod>";
      // The host-side veth name is random in both implementations.
      if (i.value("name", "").rfind("veth", 0) == 0) i["name"] = "<veth>";
    }
    return r;
  };
  json results[2];
  const std::string paths[2] = {kReferenceDir, linen::test::CniBinDir() + ":" + kReferenceDir};
  for (int k = 0; k < 2; ++k) {
    Node node(paths[k]);
    ASSERT_TRUE(node.ns);
    auto pod = TempNetns::Create("cpod");
    ASSERT_TRUE(pod) << pod.error().msg();
    ProcResult add = node.Cnitool({"--json", "add", "podnet", pod->path()});
    ASSERT_EQ(add.exit_code, 0) << paths[k] << ": " << add.err;
    results[k] = normalize(json::parse(add.out));
    EXPECT_EQ(node.Cnitool({"del", "podnet", pod->path()}).exit_code, 0);
  }
  EXPECT_EQ(results[0], results[1]) << "reference: " << results[0].dump(2)
                                    << "\nlinen: " << results[1].dump(2);
}

}  // namespace
}  // namespace cnitool
