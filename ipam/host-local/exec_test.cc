// Runs the built host-local binary (and the reference /usr/lib/cni/host-local) the
// way a runtime does: CNI_* environment, config on stdin, JSON on stdout. IPAM needs
// no namespace of its own, but CNI_NETNS must name one: a TempNetns.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/support/test_support.h"

namespace host_local {
namespace {

using nlohmann::json;
using linen::test::ProcResult;

constexpr const char* kReference = "/usr/lib/cni/host-local";

class HostLocalExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = linen::test::TempNetns::Create("hl");
    ASSERT_TRUE(ns.ok()) << ns.error().msg();
    ns_.emplace(std::move(*ns));
    bin_ = linen::test::CniBin("host-local");
    ASSERT_EQ(access(bin_.c_str(), X_OK), 0) << bin_;
  }

  std::string DataDir() const { return dir_.path() + "/data"; }
  std::string NetDir(const std::string& net = "net1") const { return DataDir() + "/" + net; }

  // A config in `version` with the given ipam body merged in.
  std::string Conf(const std::string& version, json ipam, const std::string& net = "net1",
                   json extra = json::object()) {
    json c = {{"cniVersion", version}, {"name", net}, {"type", "bridge"}};
    ipam["type"] = "host-local";
    if (!ipam.contains("dataDir")) ipam["dataDir"] = DataDir();
    c["ipam"] = ipam;
    c.update(extra);
    return c.dump();
  }

  ProcResult Exec(const std::string& bin, const std::string& cmd, const std::string& id,
                  const std::string& conf, std::map<std::string, std::string> env = {}) {
    env.emplace("CNI_COMMAND", cmd);
    env.emplace("CNI_CONTAINERID", id);
    env.emplace("CNI_NETNS", ns_->path());
    env.emplace("CNI_IFNAME", "eth0");
    env.emplace("CNI_PATH", "/usr/lib/cni");
    env.emplace("CNI_ARGS", "");
    return linen::test::Run({bin}, env, conf);
  }
  ProcResult Ours(const std::string& cmd, const std::string& id, const std::string& conf,
                  std::map<std::string, std::string> env = {}) {
    return Exec(bin_, cmd, id, conf, std::move(env));
  }
  // The test-only build with the fault switches (LINEN_TEST_CRASH_AT,
  // LINEN_TEST_NO_TMPFILE); the shipped binary ignores them.
  ProcResult WithFaults(const std::string& cmd, const std::string& id, const std::string& conf,
                        std::map<std::string, std::string> env) {
    return Exec(LINEN_HOST_LOCAL_FAULTS_BIN, cmd, id, conf, std::move(env));
  }

  // Name -> content of every file in a network directory.
  std::map<std::string, std::string> Files(const std::string& net = "net1") {
    std::map<std::string, std::string> out;
    DIR* d = opendir(NetDir(net).c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::ifstream in(NetDir(net) + "/" + name, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out[name] = ss.str();
    }
    closedir(d);
    return out;
  }
  std::set<std::string> AddressFiles(const std::string& net = "net1") {
    std::set<std::string> out;
    for (const auto& [name, content] : Files(net)) {
      if (name != "lock" && name.rfind("last_reserved_ip.", 0) != 0) out.insert(name);
    }
    return out;
  }

  linen::test::TempDir dir_;
  std::optional<linen::test::TempNetns> ns_;
  std::string bin_;
};

json Parse(const ProcResult& r) {
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout: " << r.out << "\nstderr: " << r.err;
  return j;
}

// Error JSON with the given code whose msg contains `needle`.
void ExpectError(const ProcResult& r, int code, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0) << r.out;
  json j = Parse(r);
  EXPECT_EQ(j.value("code", -1), code) << r.out;
  EXPECT_NE(j.value("msg", std::string()).find(needle), std::string::npos) << r.out;
}

// The reference prints "dns":{} when it has none; the spec says omit it.
json Normalize(json j) {
  if (j.contains("dns") && j["dns"].empty()) j.erase("dns");
  return j;
}

json DualStack() {
  return {{"ranges", {{{{"subnet", "10.1.2.0/24"}}}, {{{"subnet", "fd00:1::/64"}}}}},
          {"routes", {{{"dst", "0.0.0.0/0"}}, {{"dst", "192.168.0.0/16"}, {"gw", "10.1.2.1"}}}}};
}

class HostLocalVersionTest : public HostLocalExecTest,
                    public ::testing::WithParamInterface<const char*> {};

TEST_P(HostLocalVersionTest, AddCheckDelFieldByField) {
  const std::string version = GetParam();
  const std::string resolv = dir_.path() + "/resolv.conf";
  std::ofstream(resolv) << "nameserver 10.96.0.10\nsearch svc.cluster.local cluster.local\n"
                           "options ndots:5\ndomain cluster.local\n";
  json ipam = DualStack();
  ipam["resolvConf"] = resolv;
  const std::string conf = Conf(version, ipam);

  ProcResult add = Ours("ADD", "c1", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  json r = Parse(add);
  EXPECT_EQ(r["cniVersion"], version);
  EXPECT_FALSE(r.contains("interfaces"));
  ASSERT_EQ(r["ips"].size(), 2u) << r;
  EXPECT_EQ(r["ips"][0]["address"], "10.1.2.2/24");
  EXPECT_EQ(r["ips"][0]["gateway"], "10.1.2.1");
  EXPECT_EQ(r["ips"][1]["address"], "fd00:1::2/64");
  EXPECT_EQ(r["ips"][1]["gateway"], "fd00:1::1");
  EXPECT_FALSE(r["ips"][0].contains("interface"));
  if (version == "0.3.1" || version == "0.4.0") {
    EXPECT_EQ(r["ips"][0]["version"], "4");
    EXPECT_EQ(r["ips"][1]["version"], "6");
  } else {
    EXPECT_FALSE(r["ips"][0].contains("version"));
  }
  EXPECT_EQ(r["routes"], json::parse(R"([{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.1.2.1"}])"));
  EXPECT_EQ(r["dns"]["nameservers"], json::parse(R"(["10.96.0.10"])"));
  EXPECT_EQ(r["dns"]["domain"], "cluster.local");
  EXPECT_EQ(r["dns"]["search"], json::parse(R"(["svc.cluster.local","cluster.local"])"));
  EXPECT_EQ(r["dns"]["options"], json::parse(R"(["ndots:5"])"));

  auto files = Files();
  EXPECT_EQ(files["10.1.2.2"], "c1\r\neth0");
  EXPECT_EQ(files["fd00:1::2"], "c1\r\neth0");
  EXPECT_EQ(files["last_reserved_ip.0"], "10.1.2.2");
  EXPECT_EQ(files["last_reserved_ip.1"], "fd00:1::2");
  EXPECT_TRUE(files.count("lock"));

  ProcResult check = Ours("CHECK", "c1", conf);
  if (version == "0.3.1") {
    ExpectError(check, 1, "");  // CHECK exists from 0.4.0 on
  } else {
    EXPECT_EQ(check.exit_code, 0) << check.out;
    ExpectError(Ours("CHECK", "other", conf), 999, "failed to find address");
  }

  ProcResult del = Ours("DEL", "c1", conf);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(del.out, "");
  EXPECT_TRUE(AddressFiles().empty());
  EXPECT_EQ(Ours("DEL", "c1", conf).exit_code, 0);  // idempotent

  // Round robin: the next container does not get the freed addresses back.
  ProcResult add2 = Ours("ADD", "c2", conf);
  ASSERT_EQ(add2.exit_code, 0) << add2.out;
  EXPECT_EQ(Parse(add2)["ips"][0]["address"], "10.1.2.3/24");
}

INSTANTIATE_TEST_SUITE_P(HostLocal, HostLocalVersionTest,
                         ::testing::Values("0.3.1", "0.4.0", "1.0.0", "1.1.0"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) if (c == '.') c = '_';
                           return "v" + s;
                         });

TEST_F(HostLocalExecTest, LegacySingleRangeKeys) {
  const std::string conf =
      Conf("0.4.0", {{"subnet", "10.5.0.0/16"}, {"rangeStart", "10.5.1.10"},
                     {"rangeEnd", "10.5.1.11"}, {"gateway", "10.5.0.1"}});
  json r = Parse(Ours("ADD", "a", conf));
  EXPECT_EQ(r["ips"][0]["address"], "10.5.1.10/16");
  EXPECT_EQ(r["ips"][0]["gateway"], "10.5.0.1");
  EXPECT_EQ(Parse(Ours("ADD", "b", conf))["ips"][0]["address"], "10.5.1.11/16");
  ProcResult full = Ours("ADD", "c", conf);
  ExpectError(full, 100, "no IP addresses available in range set: 10.5.1.10-10.5.1.11");
  ExpectError(full, 100, "network \"net1\"");
  EXPECT_EQ(AddressFiles().size(), 2u);
}

TEST_F(HostLocalExecTest, RequestedAddressesFromEverySource) {
  const std::string base = Conf("1.0.0", {{"subnet", "10.7.0.0/24"}});
  json r = Parse(Ours("ADD", "a", base, {{"CNI_ARGS", "IgnoreUnknown=1;IP=10.7.0.50"}}));
  EXPECT_EQ(r["ips"][0]["address"], "10.7.0.50/24");

  const std::string with_args = Conf("1.0.0", {{"subnet", "10.7.0.0/24"}}, "net1",
                                     {{"args", {{"cni", {{"ips", {"10.7.0.60"}}}}}}});
  EXPECT_EQ(Parse(Ours("ADD", "b", with_args))["ips"][0]["address"], "10.7.0.60/24");

  const std::string with_rt = Conf("1.0.0", {{"subnet", "10.7.0.0/24"}}, "net1",
                                   {{"runtimeConfig", {{"ips", {"10.7.0.70/24"}}}}});
  EXPECT_EQ(Parse(Ours("ADD", "c", with_rt))["ips"][0]["address"], "10.7.0.70/24");

  ExpectError(Ours("ADD", "d", base, {{"CNI_ARGS", "IP=10.7.0.50"}}), 100,
              "10.7.0.50 is not available");
  ExpectError(Ours("ADD", "e", base, {{"CNI_ARGS", "IP=10.8.0.5"}}), 7,
              "failed to allocate all requested IPs (not in any range set): 10.8.0.5");
  ExpectError(Ours("ADD", "f", base, {{"CNI_ARGS", "IP=10.7.0.1"}}), 7, "gateway");
  EXPECT_EQ(AddressFiles(), (std::set<std::string>{"10.7.0.50", "10.7.0.60", "10.7.0.70"}));
}

TEST_F(HostLocalExecTest, BadConfigIsCode7AndTouchesNothing) {
  ProcResult r = Ours("ADD", "a",
                      Conf("1.0.0", {{"ranges", {{{{"subnet", "10.0.0.0/24"}}},
                                                 {{{"subnet", "10.0.0.128/25"}}}}}}));
  ExpectError(r, 7, "overlaps");
  ExpectError(Ours("ADD", "a", Conf("1.0.0", {{"subnet", "10.0.0.0/31"}})), 7, "too small");
  ExpectError(Ours("ADD", "a", Conf("1.0.0", {{"subnet", "10.0.0.0/24"},
                                              {"rangeStart", "10.1.0.5"}})),
              7, "rangeStart 10.1.0.5 not in network 10.0.0.0/24");
  ExpectError(Ours("ADD", "a", Conf("1.0.0", {{"subnet", "10.0.0.300/24"}})), 7, "10.0.0.300/24");
  ExpectError(Ours("ADD", "a",
                   Conf("1.0.0", {{"subnet", "10.0.0.0/24"}, {"resolvConf", "/nonexistent/r"}})),
              5, "/nonexistent/r");
  EXPECT_EQ(access(DataDir().c_str(), F_OK), -1);  // not even the directory
}

TEST_F(HostLocalExecTest, GcFreesWhatIsNotValid) {
  const std::string conf = Conf("1.1.0", DualStack());
  for (const char* id : {"a", "b", "c"}) ASSERT_EQ(Ours("ADD", id, conf).exit_code, 0);
  json gc = json::parse(conf);
  gc["cni.dev/valid-attachments"] = {{{"containerID", "b"}, {"ifname", "eth0"}}};
  ProcResult r = Ours("GC", "", gc.dump());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(AddressFiles(), (std::set<std::string>{"10.1.2.3", "fd00:1::3"}));
  EXPECT_TRUE(Files().count("last_reserved_ip.0"));

  // The older key name from cni#1101 is honoured too; an empty list frees all.
  json old = json::parse(conf);
  old["cni.dev/attachments"] = json::array();
  EXPECT_EQ(Ours("GC", "", old.dump()).exit_code, 0);
  EXPECT_TRUE(AddressFiles().empty());
}

TEST_F(HostLocalExecTest, StatusReportsExhaustion) {
  const std::string conf = Conf("1.1.0", {{"ranges", {{{{"subnet", "10.3.0.0/30"}}},
                                                      {{{"subnet", "fd00:3::/64"}}}}}});
  EXPECT_EQ(Ours("STATUS", "", conf).exit_code, 0);
  ASSERT_EQ(Ours("ADD", "a", conf).exit_code, 0);
  ExpectError(Ours("STATUS", "", conf), 50, "range set 0 (10.3.0.1-10.3.0.2)");
  ASSERT_EQ(Ours("DEL", "a", conf).exit_code, 0);
  EXPECT_EQ(Ours("STATUS", "", conf).exit_code, 0);
}


// Same inputs through ours and the reference (1.1.1 speaks up to 1.0.0): same JSON
// result and the same files, each in its own dataDir.
class HostLocalInteropTest : public HostLocalExecTest,
                    public ::testing::WithParamInterface<const char*> {};

TEST_P(HostLocalInteropTest, SameResultAndSameFiles) {
  if (access(kReference, X_OK) != 0) GTEST_SKIP() << "no reference plugin at " << kReference;
  const std::string version = GetParam();
  json ipam = DualStack();
  ipam["ranges"][0][0]["rangeStart"] = "10.1.2.100";
  const std::string ours_conf = Conf(version, ipam, "ours");
  const std::string ref_conf = Conf(version, ipam, "ref");
  for (const char* id : {"a", "b", "c"}) {
    ProcResult mine = Ours("ADD", id, ours_conf);
    ProcResult theirs = Exec(kReference, "ADD", id, ref_conf);
    ASSERT_EQ(mine.exit_code, 0) << mine.out;
    ASSERT_EQ(theirs.exit_code, 0) << theirs.out;
    EXPECT_EQ(Normalize(Parse(mine)), Normalize(Parse(theirs)));
  }
  ASSERT_EQ(Ours("DEL", "b", ours_conf).exit_code, 0);
  ASSERT_EQ(Exec(kReference, "DEL", "b", ref_conf).exit_code, 0);
  EXPECT_EQ(Normalize(Parse(Ours("ADD", "d", ours_conf))),
            Normalize(Parse(Exec(kReference, "ADD", "d", ref_conf))));
  EXPECT_EQ(Files("ours"), Files("ref"));
  EXPECT_EQ(AddressFiles("ours").size(), 6u);
}

INSTANTIATE_TEST_SUITE_P(HostLocal, HostLocalInteropTest,
                         ::testing::Values("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) if (c == '.') c = '_';
                           return "v" + s;
                         });

// One shared dataDir: either side releases what the other reserved, and round robin
// carries on across both.
TEST_F(HostLocalExecTest, SharedDataDirWithTheReference) {
  if (access(kReference, X_OK) != 0) GTEST_SKIP() << "no reference plugin at " << kReference;
  const std::string conf = Conf("1.0.0", DualStack());
  json a = Parse(Ours("ADD", "a", conf));
  json b = Parse(Exec(kReference, "ADD", "b", conf));
  json c = Parse(Ours("ADD", "c", conf));
  EXPECT_EQ(a["ips"][0]["address"], "10.1.2.2/24");
  EXPECT_EQ(b["ips"][0]["address"], "10.1.2.3/24");
  EXPECT_EQ(c["ips"][0]["address"], "10.1.2.4/24");
  EXPECT_EQ(c["ips"][1]["address"], "fd00:1::4/64");

  EXPECT_EQ(Exec(kReference, "CHECK", "a", conf).exit_code, 0);  // sees our files
  EXPECT_EQ(Ours("CHECK", "b", conf).exit_code, 0);              // we see theirs
  ExpectError(Ours("ADD", "b", conf), 999, "duplicate allocation");

  EXPECT_EQ(Exec(kReference, "DEL", "a", conf).exit_code, 0);  // they free ours
  EXPECT_EQ(Ours("DEL", "b", conf).exit_code, 0);              // we free theirs
  EXPECT_EQ(AddressFiles(), (std::set<std::string>{"10.1.2.4", "fd00:1::4"}));
  EXPECT_EQ(Files()["last_reserved_ip.0"], "10.1.2.4");
}

// Files written by old reference versions hold only the container ID.
TEST_F(HostLocalExecTest, LegacyIdOnlyFilesAreReleasedAndChecked) {
  const std::string conf = Conf("1.0.0", {{"subnet", "10.4.0.0/24"}});
  ASSERT_EQ(Ours("ADD", "x", conf).exit_code, 0);
  std::ofstream(NetDir() + "/10.4.0.9") << "old";
  EXPECT_EQ(Ours("CHECK", "old", conf).exit_code, 0);
  EXPECT_EQ(Ours("DEL", "old", conf).exit_code, 0);
  EXPECT_EQ(AddressFiles(), (std::set<std::string>{"10.4.0.2"}));
}

// 100 runtimes adding (then deleting) at once: flock serialises them.
TEST_F(HostLocalExecTest, HundredParallelAddsThenDels) {
  const std::string conf = Conf("1.0.0", {{"subnet", "10.9.0.0/24"}});
  const std::string conf_file = dir_.path() + "/conf.json";
  std::ofstream(conf_file) << conf;
  const std::string out = dir_.path() + "/out";
  ASSERT_EQ(mkdir(out.c_str(), 0755), 0);
  auto run_all = [&](const std::string& cmd) {
    std::string script = "export CNI_COMMAND=" + cmd + " CNI_NETNS=" + ns_->path() +
                         " CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni; i=0; while [ $i -lt 100 ]; do "
                         "CNI_CONTAINERID=ctr$i " + bin_ + " < " + conf_file + " > " + out +
                         "/" + cmd + ".$i 2>&1 & i=$((i+1)); done; wait";
    return linen::test::Sh(script);
  };
  ProcResult adds = run_all("ADD");
  ASSERT_EQ(adds.exit_code, 0) << adds.err;
  std::set<std::string> addrs;
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(out + "/ADD." + std::to_string(i));
    std::stringstream ss;
    ss << in.rdbuf();
    json r = json::parse(ss.str(), nullptr, false);
    ASSERT_FALSE(r.is_discarded()) << ss.str();
    ASSERT_TRUE(r.contains("ips")) << ss.str();
    addrs.insert(r["ips"][0]["address"].get<std::string>());
  }
  EXPECT_EQ(addrs.size(), 100u);
  auto files = Files();
  EXPECT_EQ(AddressFiles().size(), 100u);
  std::set<std::string> owners;
  for (const auto& name : AddressFiles()) owners.insert(files[name]);
  EXPECT_EQ(owners.size(), 100u);

  ProcResult dels = run_all("DEL");
  ASSERT_EQ(dels.exit_code, 0) << dels.err;
  EXPECT_TRUE(AddressFiles().empty());
  files = Files();
  EXPECT_EQ(files.size(), 2u);  // lock and last_reserved_ip.0 only
  EXPECT_TRUE(files.count("lock") && files.count("last_reserved_ip.0"));
}

// Killed mid-ADD (SIGKILL via host-local-faults' LINEN_TEST_CRASH_AT, so the kill
// lands at an exact point): the store stays consistent and the lock is free.
TEST_F(HostLocalExecTest, KilledBeforeLinkLeavesNothing) {
  const std::string conf = Conf("1.0.0", {{"subnet", "10.6.0.0/24"}});
  ProcResult killed = WithFaults("ADD", "a", conf, {{"LINEN_TEST_CRASH_AT", "before-link"}});
  EXPECT_EQ(killed.exit_code, -9);
  auto files = Files();
  EXPECT_EQ(files.size(), 1u);  // only `lock`: no empty, partial or temp file
  EXPECT_TRUE(files.count("lock"));
  json r = Parse(Ours("ADD", "a", conf));
  EXPECT_EQ(r["ips"][0]["address"], "10.6.0.2/24");
}

TEST_F(HostLocalExecTest, KilledAfterReserveLeavesACompleteFileThatDelFrees) {
  const std::string conf = Conf("1.0.0", {{"subnet", "10.6.0.0/24"}});
  ProcResult killed = WithFaults("ADD", "a", conf, {{"LINEN_TEST_CRASH_AT", "after-reserve"}});
  EXPECT_EQ(killed.exit_code, -9);
  EXPECT_EQ(killed.out, "");
  EXPECT_EQ(Files()["10.6.0.2"], "a\r\neth0");
  // The runtime follows a failed ADD with DEL; another ADD meanwhile is not blocked.
  json b = Parse(Ours("ADD", "b", conf));
  EXPECT_EQ(b["ips"][0]["address"], "10.6.0.3/24");
  EXPECT_EQ(Ours("DEL", "a", conf).exit_code, 0);
  EXPECT_EQ(AddressFiles(), (std::set<std::string>{"10.6.0.3"}));
}

// Filesystems without O_TMPFILE get a named temp file linked into place; one left by
// a killed writer is never taken for a reservation and is removed by the next ADD.
TEST_F(HostLocalExecTest, NamedTempFileFallbackIsCrashSafeToo) {
  const std::string conf = Conf("1.0.0", {{"subnet", "10.6.0.0/24"}});
  ProcResult killed = WithFaults("ADD", "a", conf, {{"LINEN_TEST_CRASH_AT", "before-link"},
                                                   {"LINEN_TEST_NO_TMPFILE", "1"}});
  EXPECT_EQ(killed.exit_code, -9);
  EXPECT_TRUE(AddressFiles().size() == 1 && AddressFiles().begin()->rfind(".linen-tmp.", 0) == 0);
  ExpectError(Ours("CHECK", "a", conf), 999, "failed to find address");
  json r = Parse(WithFaults("ADD", "b", conf, {{"LINEN_TEST_NO_TMPFILE", "1"}}));
  EXPECT_EQ(r["ips"][0]["address"], "10.6.0.2/24");
  auto files = Files();
  EXPECT_EQ(files.size(), 3u);  // lock, cursor, 10.6.0.2: the stale temp file is gone
  EXPECT_EQ(files["10.6.0.2"], "b\r\neth0");
}

// A /8 with the cursor near its end: allocation starts right after the cursor and
// wraps to the start (the v4 broadcast is never handed out), ours and the reference
// taking turns on one dataDir and agreeing on every step.
TEST_F(HostLocalExecTest, BigRangeWrapsAfterTheCursor) {
  const bool have_ref = access(kReference, X_OK) == 0;
  const std::string conf = Conf("1.0.0", {{"subnet", "10.0.0.0/8"}});
  ASSERT_EQ(Ours("ADD", "seed", conf).exit_code, 0);  // creates the directory
  ASSERT_EQ(Ours("DEL", "seed", conf).exit_code, 0);
  std::ofstream(NetDir() + "/last_reserved_ip.0") << "10.255.255.252";
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    const std::string id = "c" + std::to_string(i);
    ProcResult r = (have_ref && i % 2 == 1) ? Exec(kReference, "ADD", id, conf)
                                            : Ours("ADD", id, conf);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    got.push_back(Parse(r)["ips"][0]["address"]);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.255.255.253/8", "10.255.255.254/8", "10.0.0.2/8",
                                           "10.0.0.3/8"}));
}

// DEL must release even when the runtime has no netns any more (spec: IPAM still
// releases), whether CNI_NETNS is empty or names a namespace that is gone.
TEST_F(HostLocalExecTest, DelReleasesWithoutANetns) {
  const std::string conf = Conf("1.0.0", {{"subnet", "10.8.0.0/24"}});
  ASSERT_EQ(Ours("ADD", "a", conf).exit_code, 0);
  ASSERT_EQ(Ours("ADD", "b", conf).exit_code, 0);
  ProcResult empty = Ours("DEL", "a", conf, {{"CNI_NETNS", ""}});
  EXPECT_EQ(empty.exit_code, 0) << empty.out;
  ProcResult gone = Ours("DEL", "b", conf, {{"CNI_NETNS", "/run/netns/linen-hl-gone-ns"}});
  EXPECT_EQ(gone.exit_code, 0) << gone.out;
  EXPECT_TRUE(AddressFiles().empty());
}

// Only ADD creates the store: DEL, CHECK, GC and STATUS before any ADD leave the
// dataDir absent. DEL and GC succeed (nothing reserved), CHECK fails naming it.
TEST_F(HostLocalExecTest, OnlyAddCreatesTheStore) {
  const std::string conf = Conf("1.1.0", {{"subnet", "10.9.0.0/24"}});
  ProcResult del = Ours("DEL", "a", conf);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  ExpectError(Ours("CHECK", "a", conf), 999, "failed to find address added by container a");
  json gc = json::parse(conf);
  gc["cni.dev/valid-attachments"] = json::array();
  ProcResult gc_run = Ours("GC", "", gc.dump());
  EXPECT_EQ(gc_run.exit_code, 0) << gc_run.out;
  ProcResult status = Ours("STATUS", "", conf);
  EXPECT_EQ(status.exit_code, 0) << status.out;
  struct stat st;
  EXPECT_NE(stat(DataDir().c_str(), &st), 0) << "dataDir was created";

  // A directory without its lock (never used by a writer) is not touched either.
  ASSERT_EQ(mkdir(DataDir().c_str(), 0755), 0);
  ASSERT_EQ(mkdir(NetDir().c_str(), 0755), 0);
  EXPECT_EQ(Ours("DEL", "a", conf).exit_code, 0);
  ExpectError(Ours("CHECK", "a", conf), 999, "failed to find address");
  EXPECT_TRUE(Files().empty());
}

// A requested address outside every range is refused before the store is opened;
// DEL with the same CNI_ARGS (what a runtime sends after the failed ADD) succeeds.
TEST_F(HostLocalExecTest, RequestedIpOutsideRangesTouchesNothing) {
  const std::string conf = Conf("1.0.0", {{"subnet", "10.9.0.0/24"}});
  const std::map<std::string, std::string> env = {{"CNI_ARGS", "IgnoreUnknown=1;IP=10.99.0.5"}};
  ExpectError(Ours("ADD", "a", conf, env), 7, "(not in any range set): 10.99.0.5");
  struct stat st;
  EXPECT_NE(stat(DataDir().c_str(), &st), 0) << "dataDir was created";
  ProcResult del = Ours("DEL", "a", conf, env);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_NE(stat(DataDir().c_str(), &st), 0) << "dataDir was created";
}

}  // namespace
}  // namespace host_local
