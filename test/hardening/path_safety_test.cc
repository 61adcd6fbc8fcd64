// Path safety: nothing from input makes a plugin read or write outside its state
// directories, state files get safe modes whatever the umask, planted symlinks are
// never written through, and concurrent ADDs never hand out one address twice.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/hardening/node.h"

namespace linen::hardening {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::unique_ptr<Node> MakeNode(const std::string& plugin) {
  std::string err;
  auto n = Node::Create(plugin, &err);
  EXPECT_NE(n, nullptr) << err;
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// The "code" of an error JSON on stdout; -1 if there is none.
int CodeOf(const std::string& out) {
  try {
    auto j = json::parse(out);
    if (j.is_object() && j.contains("code") && j["code"].is_number_integer()) return j["code"];
  } catch (const json::exception&) {
  }
  return -1;
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return 0xffffffff;
  return st.st_mode & 07777;
}

// A network name that climbs out of dataDir is refused before any file is made.
TEST(PathSafety, NetworkNameTraversalRefused) {
  auto n = MakeNode("host-local");
  ASSERT_NE(n, nullptr);
  json conf = n->Config();
  conf["name"] = "../../x";
  conf["ipam"]["dataDir"] = n->dir() + "/a/b/data";
  auto r = n->Exec(n->Env("ADD"), conf.dump());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(CodeOf(r.out), 7) << r.out;
  EXPECT_FALSE(fs::exists(n->dir() + "/a/x")) << "wrote outside dataDir";
  EXPECT_FALSE(fs::exists(n->dir() + "/a/b/data")) << "made dataDir for a refused config";
}

// Container IDs with path separators never reach the store (the skeleton refuses them
// before the verb), for ADD and for DEL (DEL walks and removes files).
TEST(PathSafety, ContainerIdWithSlashRefused) {
  auto n = MakeNode("host-local");
  ASSERT_NE(n, nullptr);
  for (const char* verb : {"ADD", "DEL", "CHECK"}) {
    auto env = n->Env(verb, "x/../../../y");
    auto r = n->Exec(env, n->Config().dump());
    EXPECT_NE(r.exit_code, 0) << verb;
    EXPECT_EQ(CodeOf(r.out), 4) << verb << ": " << r.out;
  }
  EXPECT_EQ(ListTree(n->dir()), "run d 0755\n");
}

// IP files are 0600 and the network directory is not group/world-writable even when
// the runtime's umask is 0 (modes come from the plugin, not the environment).
TEST(PathSafety, StateFileModesUnderUmaskZero) {
  auto n = MakeNode("host-local");
  ASSERT_NE(n, nullptr);
  mode_t old = umask(0);
  auto r = n->Exec(n->Env("ADD"), n->Config().dump());
  umask(old);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto files = n->IpFiles();
  ASSERT_EQ(files.size(), 1u);
  const std::string net_dir = n->data_dir() + "/hnet";
  EXPECT_EQ(Mode(net_dir + "/" + files[0]), 0600u);
  EXPECT_EQ(Mode(net_dir + "/last_reserved_ip.0"), 0600u);
  EXPECT_EQ(Mode(net_dir) & 022, 0u) << std::oct << Mode(net_dir);
  EXPECT_EQ(Mode(n->data_dir()) & 022, 0u) << std::oct << Mode(n->data_dir());
  EXPECT_EQ(Mode(net_dir + "/lock") & 022, 0u) << std::oct << Mode(net_dir + "/lock");
  EXPECT_EQ(ReadFile(net_dir + "/" + files[0]), "hcid1\r\neth0");
}

// A symlink planted where the store writes its cursor must not be written through.
TEST(PathSafety, CursorSymlinkNotFollowed) {
  auto n = MakeNode("host-local");
  ASSERT_NE(n, nullptr);
  const std::string net_dir = n->data_dir() + "/hnet";
  fs::create_directories(net_dir);
  const std::string victim = n->dir() + "/victim";
  { std::ofstream(victim) << "precious"; }
  fs::create_symlink(victim, net_dir + "/last_reserved_ip.0");
  auto r = n->Exec(n->Env("ADD"), n->Config().dump());
  EXPECT_EQ(ReadFile(victim), "precious") << "wrote through a symlink; " << r.out;
}

// A symlink planted under an IP's file name: that address counts as taken (O_EXCL),
// and the file it points to is untouched.
TEST(PathSafety, IpFileSymlinkNotFollowed) {
  auto n = MakeNode("host-local");
  ASSERT_NE(n, nullptr);
  const std::string net_dir = n->data_dir() + "/hnet";
  fs::create_directories(net_dir);
  const std::string victim = n->dir() + "/victim";
  { std::ofstream(victim) << "precious"; }
  // 10.77.0.1 is the gateway; the first address handed out is 10.77.0.2.
  fs::create_symlink(victim, net_dir + "/10.77.0.2");
  auto r = n->Exec(n->Env("ADD"), n->Config().dump());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadFile(victim), "precious");
  EXPECT_EQ(r.out.find("10.77.0.2/"), std::string::npos) << r.out;
  // DEL of another container must not remove (or follow) the planted link either.
  auto del = n->Exec(n->Env("DEL"), n->Config().dump());
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_TRUE(fs::is_symlink(net_dir + "/10.77.0.2"));
  EXPECT_EQ(ReadFile(victim), "precious");
}

// Decision: dataDir itself may be a symlink (operators relocate /var/lib/cni); it is
// followed, as by the reference, and the state lands in its target.
TEST(PathSafety, DataDirThroughSymlinkFollowed) {
  auto n = MakeNode("host-local");
  ASSERT_NE(n, nullptr);
  fs::create_directories(n->dir() + "/real");
  fs::create_directory_symlink(n->dir() + "/real", n->data_dir());
  auto r = n->Exec(n->Env("ADD"), n->Config().dump());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(fs::directory_iterator(n->dir() + "/real/hnet") != fs::directory_iterator(), true);
  EXPECT_TRUE(fs::is_symlink(n->data_dir()));
}

// The overlay plugins' own state (rendered delegate configs) is 0600 in a directory
// that is not group/world-writable.
TEST(PathSafety, OverlayStateModes) {
  auto n = MakeNode("vxlan");
  ASSERT_NE(n, nullptr);
  mode_t old = umask(0);
  auto r = n->Exec(n->Env("ADD"), n->Config().dump());
  umask(old);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  int files = 0;
  for (auto& e : fs::recursive_directory_iterator(n->dir() + "/linen")) {
    if (e.is_regular_file()) {
      ++files;
      EXPECT_EQ(Mode(e.path()) & 077, 0u) << e.path() << " " << std::oct << Mode(e.path());
    } else {
      EXPECT_EQ(Mode(e.path()) & 022, 0u) << e.path();
    }
  }
  EXPECT_EQ(Mode(n->dir() + "/linen") & 022, 0u);
  EXPECT_GE(files, 1);
  auto del = n->Exec(n->Env("DEL"), n->Config().dump());
  EXPECT_EQ(del.exit_code, 0) << del.out;
}

// The store has no check-then-create window: 24 concurrent ADDs for different
// containers get 24 different addresses, one file each.
TEST(PathSafety, ConcurrentAddsNeverShareAnAddress) {
  auto n = MakeNode("host-local");
  ASSERT_NE(n, nullptr);
  constexpr int kWorkers = 6, kPer = 4;
  std::vector<std::string> outs(kWorkers * kPer);
  std::vector<int> codes(kWorkers * kPer);
  std::vector<std::thread> threads;
  const std::string conf = n->Config().dump();
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPer; ++i) {
        int k = w * kPer + i;
        auto r = n->Exec(n->Env("ADD", "cc" + std::to_string(k)), conf);
        codes[k] = r.exit_code;
        outs[k] = r.out;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ips;
  for (size_t k = 0; k < outs.size(); ++k) {
    ASSERT_EQ(codes[k], 0) << outs[k];
    auto j = json::parse(outs[k]);
    ips.insert(j["ips"][0]["address"].get<std::string>());
  }
  EXPECT_EQ(ips.size(), outs.size());
  EXPECT_EQ(n->IpFiles().size(), outs.size());
}

}  // namespace
}  // namespace linen::hardening
