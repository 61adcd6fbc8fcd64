// Shared fixture for the bridge plugin's namespace tests: a "node" namespace where
// the plugin runs, pods created on demand, a CNI_PATH directory holding host-local
// (ours when built, else the reference) and a failing IPAM, and a private dataDir.
#ifndef LINEN_PLUGINS_BRIDGE_BRIDGE_TEST_ENV_H_
#define LINEN_PLUGINS_BRIDGE_BRIDGE_TEST_ENV_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libcni/types.h"
#include "netns/netns.h"
#include "test/support/test_support.h"

namespace bridge::testing {

using linen::test::ProcResult;
using linen::test::TempDir;
using linen::test::TempNetns;

inline const char* kRefBridge = "/usr/lib/cni/bridge";
inline const char* kRefHostLocal = "/usr/lib/cni/host-local";

class BridgeEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (creates network namespaces)";
    auto n = TempNetns::Create("bnd");
    ASSERT_TRUE(n) << n.error().msg();
    node_.emplace(std::move(*n));
    bin_ = dir_.path() + "/bin";
    data_ = dir_.path() + "/data";
    std::filesystem::create_directories(bin_);
    std::filesystem::create_directories(data_);
    std::string ours = linen::test::CniBin("host-local");
    std::filesystem::create_symlink(
        std::filesystem::exists(ours) ? ours : std::string(kRefHostLocal), bin_ + "/host-local");
    // An IPAM that always fails, for rollback tests.
    {
      std::ofstream f(bin_ + "/failipam");
      f << "#!/bin/sh\ncat >/dev/null\n"
           "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"failipam: no luck\"}'\nexit 1\n";
    }
    std::filesystem::permissions(bin_ + "/failipam", std::filesystem::perms::owner_all);
  }

  TempNetns NewPod() {
    auto p = TempNetns::Create("bpd");
    EXPECT_TRUE(p) << p.error().msg();
    return std::move(*p);
  }

  // A network config for the plugin. `extra` is inserted as top-level keys;
  // `ranges` is the host-local ranges list.
  std::string Conf(const std::string& extra,
                   const std::string& ranges = R"([[{"subnet":"10.77.0.0/24"}]])",
                   const std::string& version = "1.0.0", const std::string& name = "bnet",
                   const std::string& ipam_type = "host-local") const {
    std::string ipam = ipam_type.empty()
                           ? std::string("{}")
                           : R"({"type":")" + ipam_type + R"(","ranges":)" + ranges +
                                 R"(,"dataDir":")" + data_ + R"("})";
    return R"({"cniVersion":")" + version + R"(","name":")" + name +
           R"(","type":"bridge","bridge":"cni0")" + (extra.empty() ? "" : "," + extra) +
           R"(,"ipam":)" + ipam + "}";
  }

  // Runs a plugin executable (ours by default) inside the node namespace.
  ProcResult Exec(const std::string& command, const std::string& netns_path,
                  const std::string& cid, const std::string& conf,
                  const std::string& plugin = "", const std::string& ifname = "eth0",
                  const std::map<std::string, std::string>& extra_env = {}) const {
    std::map<std::string, std::string> env = {
        {"CNI_COMMAND", command}, {"CNI_CONTAINERID", cid},   {"CNI_NETNS", netns_path},
        {"CNI_IFNAME", ifname},   {"CNI_PATH", bin_},         {"CNI_ARGS", ""}};
    for (const auto& [k, v] : extra_env) env[k] = v;
    auto sw = cni::ScopedNetnsSwitch::Enter(node_->ns());
    if (!sw) return ProcResult{127, "", sw.error().msg()};
    return linen::test::Run({plugin.empty() ? linen::test::CniBin("bridge") : plugin}, env, conf);
  }

  // A shell command inside the node namespace.
  ProcResult Node(const std::string& cmd) const {
    return linen::test::Sh("ip netns exec " + node_->name() + " sh -c '" + cmd + "'");
  }
  static ProcResult In(const TempNetns& ns, const std::string& cmd) {
    return linen::test::Sh("ip netns exec " + ns.name() + " sh -c '" + cmd + "'");
  }
  static bool Ping(const TempNetns& from, const std::string& ip) {
    std::string six = ip.find(':') != std::string::npos ? "-6 " : "";
    return In(from, "ping " + six + "-c1 -W2 -q " + ip + " >/dev/null").exit_code == 0;
  }

  // Names of veth devices in the node namespace.
  std::string NodeVeths() const { return Node("ip -o link show type veth | cut -d: -f2").out; }
  // Reserved-IP files in the IPAM dataDir (lock and cursor files excluded).
  std::vector<std::string> IpFiles(const std::string& name = "bnet") const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(data_ + "/" + name, ec)) {
      std::string f = e.path().filename();
      if (f == "lock" || f.rfind("last_reserved_ip", 0) == 0) continue;
      out.push_back(f);
    }
    return out;
  }

  static cni::json Json(const ProcResult& r) {
    try {
      return cni::json::parse(r.out);
    } catch (const cni::json::exception&) {
      ADD_FAILURE() << "not JSON: " << r.out << " / " << r.err;
      return cni::json::object();
    }
  }

  std::optional<TempNetns> node_;
  TempDir dir_;
  std::string bin_, data_;
};

// The container address of a 1.0.0 result: "10.77.0.2" from "10.77.0.2/24".
inline std::string AddrOf(const cni::json& result, size_t i = 0) {
  std::string a = result["ips"][i]["address"];
  return a.substr(0, a.find('/'));
}

}  // namespace bridge::testing

#endif  // LINEN_PLUGINS_BRIDGE_BRIDGE_TEST_ENV_H_
