// Disk full, no inodes, read-only: the state directory is a tiny tmpfs mounted in a
// private mount namespace (unshare -m, so nothing leaks to the host and it vanishes
// with the namespace). The plugin must fail with code 5 (I/O), leave no reservation
// or temp file on the filesystem, and leave the node's kernel state unchanged.
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/hardening/node.h"

namespace linen::hardening {
namespace {

using nlohmann::json;

struct Param {
  std::string plugin;
  std::string mode;  // ro | full | inodes
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.plugin << "/" << p.mode; }

class DiskFaultTest : public ::testing::TestWithParam<Param> {};

TEST_P(DiskFaultTest, FailsWithIoErrorAndNothingHalfWritten) {
  const Param& p = GetParam();
  std::string err;
  auto n = Node::Create(p.plugin, &err);
  ASSERT_NE(n, nullptr) << err;
  const std::string before = n->KernelSnapshot();
  const std::string d = n->dir();
  std::string opts = p.mode == "ro" ? "ro,size=64k" : p.mode == "full" ? "size=4k" : "nr_inodes=3";
  // Everything below runs in the private mount namespace; the plugin's stdin is the
  // script's stdin (only the plugin reads it).
  std::string script =
      "mount -t tmpfs -o " + opts + ",mode=0755 linen-fault " + d + " || exit 90\n" +
      (p.mode == "ro" ? "" : "mkdir -p " + d + "/run\n") +
      (p.mode == "full" ? "head -c 1048576 /dev/zero > " + d + "/fill 2>/dev/null\n" : "") +
      "ip netns exec " + n->ns_name() + " " + test::CniBin(p.plugin) + " > " + d +
      "/../out." + n->ns_name() + " 2>/dev/null; echo \"exit=$?\"\n" +
      "echo '# tree'; find " + d + " -mindepth 1 ! -name fill -printf '%P %y %s\\n' | sort\n";
  auto r = test::Run({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script},
                     n->Env("ADD"), n->Config().dump());
  std::string out_path = d + "/../out." + n->ns_name();
  auto plugin_out = test::Sh("cat " + out_path + "; rm -f " + out_path).out;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("exit=1\n"), std::string::npos) << r.out << plugin_out;
  int code = -1;
  try {
    code = json::parse(plugin_out).value("code", -1);
  } catch (const json::exception&) {
  }
  EXPECT_EQ(code, 5) << plugin_out;
  // On the filesystem: at most directories and the (empty) lock file; no reservation,
  // no cursor, no temp file, no delegate config.
  std::string tree = r.out.substr(r.out.find("# tree\n") + 7);
  std::istringstream lines(tree);
  for (std::string line; std::getline(lines, line);) {
    bool ok = line.find(" d ") != std::string::npos ||
              (line.find("lock f 0") != std::string::npos) ||
              line.find(".lock f 0") != std::string::npos;
    EXPECT_TRUE(ok) << "half-written state: " << line << "\n" << tree;
  }
  const std::string after = n->KernelSnapshot();
  EXPECT_TRUE(before == after) << DiffSnapshots(before, after);
}

std::vector<Param> Params() {
  std::vector<Param> out;
  for (const char* p : {"host-local", "bridge", "vxlan"}) {
    for (const char* m : {"ro", "full", "inodes"}) out.push_back({p, m});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Modes, DiskFaultTest, ::testing::ValuesIn(Params()),
                         [](const auto& info) {
                           return TestName(info.param.plugin) + "_" + info.param.mode;
                         });

}  // namespace
}  // namespace linen::hardening
