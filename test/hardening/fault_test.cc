// Fault injection: ADD and DEL killed with SIGKILL at random points (a random delay in
// [0, 5 ms] after exec; this is fault injection, not synchronisation), then every
// attachment is deleted normally and GC runs. Afterwards: no IP file, veth, address,
// route or masquerade rule is left behind, and at no point did two live interfaces
// hold one address or an interface hold an address without a reservation.
// Rounds: 40 by default (CI), LINEN_FAULT_ROUNDS=200 for the long run. 200 rounds
// in CI (four plugins at once under ASan) loaded the machine enough to starve the
// etcd-backed agent tests running beside them.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/hardening/node.h"

extern char** environ;

namespace linen::hardening {
namespace {

using nlohmann::json;

int Rounds() {
  const char* v = std::getenv("LINEN_FAULT_ROUNDS");
  int n = v != nullptr ? std::atoi(v) : 0;
  return n > 0 ? n : 40;
}

// Starts `ip netns exec <ns> <plugin>` with env and stdin; returns the pid (the plugin
// itself: ip execs it in place).
pid_t Spawn(const Node& n, const std::map<std::string, std::string>& env,
            const std::string& stdin_data) {
  std::vector<std::string> argv_s = {"/usr/sbin/ip", "netns", "exec", n.ns_name(),
                                     test::CniBin(n.plugin())};
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "CNI_", 4) != 0) env_s.push_back(*e);
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  for (auto& s : env_s) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) return -1;
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(devnull);
  // Configs are far below the pipe buffer, so this never blocks on the child.
  (void)!write(in[1], stdin_data.data(), stdin_data.size());
  close(in[1]);
  return pid;
}

class FaultTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // Orphaned delegates (host-local under a killed bridge) are re-parented to us,
    // so "everything has finished" is a waitpid, never a sleep.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  }
  // Reaps every child, including orphaned grandchildren.
  static void ReapAll() {
    while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
  }
};

std::string Cid(int i) { return "fault" + std::to_string(i); }
std::string Ifname(int i) { return "e" + std::to_string(i); }

TEST_P(FaultTest, KilledAddAndDelLeaveNothingBehind) {
  std::string err;
  auto n = Node::Create(GetParam(), &err);
  ASSERT_NE(n, nullptr) << err;
  json conf = n->Config();
  conf["cniVersion"] = "1.1.0";
  const std::string conf_text = conf.dump();

  // Warm up: one complete ADD + DEL creates what stays by design (the bridge and its
  // gateway address, forwarding, the masquerade table, node-level overlay state).
  auto env = n->Env("ADD", "warm");
  ASSERT_EQ(n->Exec(env, conf_text).exit_code, 0);
  env["CNI_COMMAND"] = "DEL";
  ASSERT_EQ(n->Exec(env, conf_text).exit_code, 0);
  const std::string baseline = n->KernelSnapshot();

  const int rounds = Rounds();
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed() + rounds);
  std::uniform_int_distribution<int> delay_us(0, 5000);
  constexpr int kParallel = 4;
  // Starts `verb` for attachments [base, base + kParallel) at once (they contend for
  // the store lock) and SIGKILLs each after a random delay.
  auto spawn_and_kill = [&](const char* verb, int base) {
    std::vector<pid_t> pids;
    for (int i = base; i < std::min(rounds, base + kParallel); ++i) {
      auto e = n->Env(verb, Cid(i));
      e["CNI_IFNAME"] = Ifname(i);
      pids.push_back(Spawn(*n, e, conf_text));
    }
    for (pid_t p : pids) {
      usleep(delay_us(rng) / kParallel);
      kill(p, SIGKILL);
    }
    ReapAll();
  };
  for (int base = 0; base < rounds; base += kParallel) {
    spawn_and_kill("ADD", base);
    // Every other round, the DELs are killed at random points too.
    if ((base / kParallel) % 2 == 1) spawn_and_kill("DEL", base);
  }

  // No duplicate: every address on a live container interface is reserved for that
  // very (container, interface), and no address is on two interfaces.
  auto addrs = test::Sh("ip -n " + n->ctr_name() + " -j -4 addr show");
  ASSERT_EQ(addrs.exit_code, 0) << addrs.err;
  std::set<std::string> seen;
  for (const auto& link : json::parse(addrs.out)) {
    std::string ifname = link["ifname"];
    if (ifname == "lo") continue;
    for (const auto& a : link["addr_info"]) {
      std::string ip = a["local"];
      EXPECT_TRUE(seen.insert(ip).second) << ip << " on two interfaces";
      if (GetParam() == "host-local") continue;  // host-local configures no interface
      std::ifstream f(n->data_dir() + "/hnet/" + ip);
      std::string owner((std::istreambuf_iterator<char>(f)), {});
      EXPECT_EQ(owner.substr(owner.find('\n') + 1), ifname)
          << ip << " on " << ifname << " is not reserved for it (file: '" << owner << "')";
    }
  }

  // Normal DEL of every attachment, then GC with nothing valid.
  for (int i = 0; i < rounds; ++i) {
    auto e = n->Env("DEL", Cid(i));
    e["CNI_IFNAME"] = Ifname(i);
    auto r = n->Exec(e, conf_text);
    EXPECT_EQ(r.exit_code, 0) << Cid(i) << ": " << r.out;
  }
  std::vector<std::string> leaked_after_del = n->IpFiles();
  EXPECT_TRUE(leaked_after_del.empty()) << leaked_after_del.size() << " IP files left after DEL";
  json gc = conf;
  gc["cni.dev/valid-attachments"] = json::array();
  auto g = n->Exec({{"CNI_COMMAND", "GC"}, {"CNI_PATH", test::CniBinDir()}}, gc.dump());
  EXPECT_EQ(g.exit_code, 0) << g.out;
  EXPECT_TRUE(n->IpFiles().empty());
  const std::string after = n->KernelSnapshot();
  EXPECT_TRUE(baseline == after) << DiffSnapshots(baseline, after);
  // No stray temp files in the state directories either.
  std::string tree = ListTree(n->dir());
  EXPECT_EQ(tree.find("tmp"), std::string::npos) << tree;
}

INSTANTIATE_TEST_SUITE_P(Plugins, FaultTest,
                         ::testing::Values("host-local", "bridge", "host-gw", "vxlan"),
                         [](const auto& info) { return TestName(info.param); });

}  // namespace
}  // namespace linen::hardening
