#include "netns/netns.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "test/support/test_support.h"

namespace cni {
namespace {

using linen::test::Sh;
using linen::test::TempDir;
using linen::test::TempNetns;

TEST(NetNsTest, OpenMissingPathIsCode3NotFound) {
  auto ns = NetNs::Open("/run/netns/linen-definitely-missing-" + std::to_string(getpid()));
  ASSERT_FALSE(ns);
  EXPECT_EQ(ns.error().code(), Code::kUnknownContainer);
  EXPECT_TRUE(ns.error().IsNotFound());
  EXPECT_NE(ns.error().msg().find("does not exist"), std::string::npos) << ns.error().msg();
}

TEST(NetNsTest, OpenRegularFileIsCode8) {
  TempDir dir;
  std::string file = dir.path() + "/notans";
  ASSERT_EQ(Sh("echo x > " + file).exit_code, 0);
  auto ns = NetNs::Open(file);
  ASSERT_FALSE(ns);
  EXPECT_EQ(ns.error().code(), Code::kInvalidNetns);
  EXPECT_NE(ns.error().msg().find("is not a network namespace"), std::string::npos)
      << ns.error().msg();
}

TEST(NetNsTest, OpenOtherNamespaceTypeIsCode8) {
  // An nsfs file, but of the UTS namespace: still not a network namespace.
  auto ns = NetNs::Open("/proc/self/ns/uts");
  ASSERT_FALSE(ns);
  EXPECT_EQ(ns.error().code(), Code::kInvalidNetns);
}

TEST(NetNsTest, CurrentIsSameAsProcSelf) {
  auto a = NetNs::Current();
  ASSERT_TRUE(a) << a.error().msg();
  auto b = NetNs::Open("/proc/self/ns/net");
  ASSERT_TRUE(b) << b.error().msg();
  EXPECT_TRUE(a->SameAs(*b));
}

TEST(NetNsTest, NamedCreateDeleteVisibleInRunNetns) {
  std::string name = linen::test::UniqueName("nst");
  auto ns = CreateNamedNetns(name);
  ASSERT_TRUE(ns) << ns.error().msg();
  EXPECT_EQ(ns->path(), "/run/netns/" + name);
  auto listed = Sh("ip netns list | grep -qw " + name);
  EXPECT_EQ(listed.exit_code, 0) << "ip netns list does not show " << name;
  // iproute2 can enter it, and it is a different namespace from ours.
  auto cur = NetNs::Current();
  ASSERT_TRUE(cur);
  EXPECT_FALSE(ns->SameAs(*cur));
  EXPECT_EQ(Sh("ip netns exec " + name + " true").exit_code, 0);

  EXPECT_TRUE(DeleteNamedNetns(name));
  struct stat st {};
  EXPECT_NE(stat(("/run/netns/" + name).c_str(), &st), 0);
  EXPECT_NE(Sh("ip netns list | grep -qw " + name).exit_code, 0);
  // Absent is success.
  EXPECT_TRUE(DeleteNamedNetns(name));
}

TEST(NetNsTest, CreateExistingNameFails) {
  auto t = TempNetns::Create("nsx");
  ASSERT_TRUE(t) << t.error().msg();
  auto again = CreateNamedNetns(t->name());
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsExists()) << again.error().msg();
  // The failed attempt must not have removed the original.
  EXPECT_TRUE(NetNs::Open(t->path()));
}

TEST(NetNsTest, SwitchEntersAndRestores) {
  auto t = TempNetns::Create("nss");
  ASSERT_TRUE(t) << t.error().msg();
  auto before = NetNs::Current();
  ASSERT_TRUE(before);
  {
    auto sw = ScopedNetnsSwitch::Enter(t->ns());
    ASSERT_TRUE(sw) << sw.error().msg();
    auto inside = NetNs::Current();
    ASSERT_TRUE(inside);
    EXPECT_TRUE(inside->SameAs(t->ns()));
    EXPECT_FALSE(inside->SameAs(*before));
  }
  auto after = NetNs::Current();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->SameAs(*before));
}

TEST(NetNsTest, SwitchOnlyMovesCallingThread) {
  auto t = TempNetns::Create("nsth");
  ASSERT_TRUE(t) << t.error().msg();
  auto root = NetNs::Current();
  ASSERT_TRUE(root);
  // Another thread switches and holds the switch while this one looks at itself.
  std::promise<void> entered, release;
  bool other_inside = false;
  std::thread th([&] {
    auto sw = ScopedNetnsSwitch::Enter(t->ns());
    auto cur = NetNs::Current();
    other_inside = sw && cur && cur->SameAs(t->ns());
    entered.set_value();
    release.get_future().wait();
  });
  entered.get_future().wait();
  auto mine = NetNs::Current();
  release.set_value();
  th.join();
  EXPECT_TRUE(other_inside);
  ASSERT_TRUE(mine);
  EXPECT_TRUE(mine->SameAs(*root));
}

TEST(NetNsTest, RunInNetnsReturnsValueAndRestores) {
  auto t = TempNetns::Create("nsr");
  ASSERT_TRUE(t) << t.error().msg();
  auto before = NetNs::Current();
  ASSERT_TRUE(before);
  Result<bool> inside = RunInNetns(t->ns(), [&]() -> Result<bool> {
    auto cur = NetNs::Current();
    if (!cur) return cur.error();
    return cur->SameAs(t->ns());
  });
  ASSERT_TRUE(inside);
  EXPECT_TRUE(*inside);
  auto after = NetNs::Current();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->SameAs(*before));
}

TEST(NetNsTest, RunInNetnsRestoresWhenFunctionThrows) {
  auto t = TempNetns::Create("nse");
  ASSERT_TRUE(t) << t.error().msg();
  auto before = NetNs::Current();
  ASSERT_TRUE(before);
  bool was_inside = false;
  EXPECT_THROW((void)RunInNetns(t->ns(),
                          [&]() -> Status {
                            auto cur = NetNs::Current();
                            was_inside = cur && cur->SameAs(t->ns());
                            throw std::runtime_error("boom");
                          }),
               std::runtime_error);
  EXPECT_TRUE(was_inside);
  auto after = NetNs::Current();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->SameAs(*before));
}

TEST(NetNsTest, RunInNetnsPropagatesError) {
  auto t = TempNetns::Create("nsp");
  ASSERT_TRUE(t) << t.error().msg();
  Status s = RunInNetns(t->ns(), [] () -> Status {
    return Error(Code::kIoFailure, "inner failure");
  });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().msg(), "inner failure");
}

TEST(NetNsTest, SysctlInNetnsDoesNotChangeRoot) {
  auto t = TempNetns::Create("nsc");
  ASSERT_TRUE(t) << t.error().msg();
  const std::string key = "net/ipv4/ip_forward";
  auto root_before = ReadSysctl(key);
  ASSERT_TRUE(root_before) << root_before.error().msg();
  // A fresh namespace starts with forwarding off; turn it on in there only.
  std::string want = "1";
  Status w = RunInNetns(t->ns(), [&] { return WriteSysctl(key, want); });
  ASSERT_TRUE(w) << w.error().msg();
  Result<std::string> inside = RunInNetns(t->ns(), [&] { return ReadSysctl(key); });
  ASSERT_TRUE(inside) << inside.error().msg();
  EXPECT_EQ(*inside, "1");
  // Read back through another tool, from inside the namespace.
  auto via_sh = Sh("ip netns exec " + t->name() + " cat /proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(via_sh.out, "1\n");
  auto root_after = ReadSysctl(key);
  ASSERT_TRUE(root_after);
  EXPECT_EQ(*root_after, *root_before);
}

TEST(NetNsTest, SysctlMissingKeyIsNotFound) {
  auto r = ReadSysctl("net/ipv4/linen_no_such_key");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsNotFound());
  EXPECT_FALSE(WriteSysctl("net/ipv4/linen_no_such_key", "1"));
}

TEST(NetNsTest, RunDirIsASharedMount) {
  // As `ip netns add` leaves it, so namespaces mounted there are visible in
  // mount namespaces cloned later (e.g. a runtime's) and unmounts propagate.
  auto t = TempNetns::Create("nsm");
  ASSERT_TRUE(t) << t.error().msg();
  auto r = Sh("findmnt -n -o PROPAGATION /run/netns");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("shared"), std::string::npos) << r.out;
}

TEST(NetNsTest, CreateRejectsBadNames) {
  for (const char* bad : {"", ".", "..", "a/b"}) {
    auto ns = CreateNamedNetns(bad);
    ASSERT_FALSE(ns) << bad;
    EXPECT_EQ(ns.error().code(), Code::kInvalidNetworkConfig);
  }
}

// Delete checks the name as Create does: "../../<path>" would unlink <path>.
TEST(NetNsTest, DeleteRejectsBadNamesAndTouchesNothing) {
  linen::test::TempDir dir;
  const std::string victim = dir.path() + "/victim";
  { UniqueFd fd(open(victim.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)); }
  for (const std::string& bad : {"../.." + victim, std::string(""), std::string(".."), std::string("a/b")}) {
    auto s = DeleteNamedNetns(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), Code::kInvalidNetworkConfig);
  }
  EXPECT_EQ(access(victim.c_str(), F_OK), 0);
}

TEST(NetNsTest, SwitchSurvivesDeletedNamedNetns) {
  // An open NetNs keeps the namespace alive after its name is removed, and
  // entering it still works (a runtime may delete the name during DEL).
  std::string name = linen::test::UniqueName("nsd");
  auto ns = CreateNamedNetns(name);
  ASSERT_TRUE(ns) << ns.error().msg();
  ASSERT_TRUE(DeleteNamedNetns(name));
  auto before = NetNs::Current();
  ASSERT_TRUE(before);
  Result<bool> inside = RunInNetns(*ns, [&]() -> Result<bool> {
    auto cur = NetNs::Current();
    if (!cur) return cur.error();
    return cur->SameAs(*ns) && !cur->SameAs(*before);
  });
  ASSERT_TRUE(inside) << inside.error().msg();
  EXPECT_TRUE(*inside);
  // And opening the removed name is code 3.
  auto gone = NetNs::Open(NamedNetnsPath(name));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), Code::kUnknownContainer);
}

TEST(TestSupportTest, UniqueNamesDifferAndFitIfnamsiz) {
  std::string a = linen::test::UniqueName("abcde");
  std::string b = linen::test::UniqueName("abcde");
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 15u);
  EXPECT_EQ(a.rfind("abcde", 0), 0u);
}

TEST(TestSupportTest, TempNetnsHasLoopbackUpAndIsRemoved) {
  std::string path;
  {
    auto t = TempNetns::Create("tsn");
    ASSERT_TRUE(t) << t.error().msg();
    path = t->path();
    auto lo = Sh("ip -n " + t->name() + " -j link show lo");
    EXPECT_NE(lo.out.find("\"UP\""), std::string::npos) << lo.out;
    // Loopback works: ping 127.0.0.1 inside the namespace only.
    EXPECT_EQ(Sh("ip netns exec " + t->name() + " ping -c1 -W1 127.0.0.1 >/dev/null").exit_code, 0);
  }
  struct stat st {};
  EXPECT_NE(stat(path.c_str(), &st), 0) << path << " still exists";
}

TEST(TestSupportTest, RunPassesEnvStdinAndExitCode) {
  auto r = linen::test::Run({"/bin/sh", "-c", "cat; echo \"$LINEN_X\" >&2; exit 3"},
                            {{"LINEN_X", "hello"}}, "from-stdin");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "from-stdin");
  EXPECT_EQ(r.err, "hello\n");
}

TEST(TestSupportTest, RunHandlesLargeOutputBothStreams) {
  // More than a pipe buffer on both streams at once must not deadlock.
  auto r = Sh("head -c 200000 /dev/zero | tr '\\0' a; head -c 200000 /dev/zero | tr '\\0' b >&2");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 200000u);
  EXPECT_EQ(r.err.size(), 200000u);
}

TEST(TestSupportTest, RunReportsSignal) {
  auto r = Sh("kill -9 $$");
  EXPECT_EQ(r.exit_code, -9);
}

TEST(TestSupportTest, TempDirIsRemoved) {
  std::string p;
  {
    TempDir d;
    p = d.path();
    ASSERT_EQ(Sh("mkdir -p " + p + "/a/b && touch " + p + "/a/b/f").exit_code, 0);
  }
  struct stat st {};
  EXPECT_NE(stat(p.c_str(), &st), 0);
}

}  // namespace
}  // namespace cni
