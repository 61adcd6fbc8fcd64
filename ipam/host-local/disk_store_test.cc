#include "ipam/host-local/disk_store.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "ipam/host-local/allocator.h"
#include "ipam/host-local/test_util.h"

namespace host_local {
namespace {

using testing::Ip;

class HostLocalDiskStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    umask(022);
    char tmpl[] = "/tmp/linen-hl-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto s = DiskStore::Open(root_ + "/data", "net1");
    ASSERT_TRUE(s.ok()) << s.error().msg();
    store_ = std::move(*s);
    dir_ = root_ + "/data/net1";
  }
  void TearDown() override {
    store_.reset();
    nftw(root_.c_str(), [](const char* p, const struct stat*, int, FTW*) { return remove(p); }, 16,
         FTW_DEPTH | FTW_PHYS);
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << content;
  }
  bool Exists(const std::string& name) { return access((dir_ + "/" + name).c_str(), F_OK) == 0; }
  unsigned Mode(const std::string& name) {
    struct stat st;
    EXPECT_EQ(stat((dir_ + (name.empty() ? "" : "/" + name)).c_str(), &st), 0) << name;
    return st.st_mode & 07777;
  }
  std::vector<std::string> Names() {
    std::vector<std::string> out;
    auto list = store_->List();
    EXPECT_TRUE(list.ok());
    for (const auto& r : *list) out.push_back(r.ip.ToString() + "=" + r.owner);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string root_, dir_;
  std::unique_ptr<DiskStore> store_;
};

TEST_F(HostLocalDiskStoreTest, LayoutMatchesTheReference) {
  EXPECT_EQ(Mode(""), 0755u);
  EXPECT_EQ(Mode("lock"), 0750u);
  auto r = store_->Reserve("c1", "eth0", Ip("10.0.0.2"), 0);
  ASSERT_TRUE(r.ok()) << r.error().msg();
  EXPECT_TRUE(*r);
  EXPECT_EQ(Read("10.0.0.2"), "c1\r\neth0");
  EXPECT_EQ(Mode("10.0.0.2"), 0600u);
  EXPECT_EQ(Read("last_reserved_ip.0"), "10.0.0.2");
  EXPECT_EQ(Mode("last_reserved_ip.0"), 0600u);
  ASSERT_TRUE(store_->Reserve(" c2 ", "eth1", Ip("fd00::a:2"), 3).ok());
  EXPECT_EQ(Read("fd00::a:2"), "c2\r\neth1");  // ID trimmed, as the reference
  EXPECT_EQ(Read("last_reserved_ip.3"), "fd00::a:2");
  EXPECT_EQ(store_->LastReservedIp(3), Ip("fd00::a:2"));
  EXPECT_EQ(store_->LastReservedIp(7), std::nullopt);
}

TEST_F(HostLocalDiskStoreTest, CursorIsRewrittenExactlyWhenItShrinks) {
  ASSERT_TRUE(*store_->Reserve("c1", "eth0", Ip("10.0.0.100"), 0));
  ASSERT_TRUE(*store_->Reserve("c2", "eth0", Ip("10.0.0.9"), 0));
  EXPECT_EQ(Read("last_reserved_ip.0"), "10.0.0.9");  // no stale tail: the reference parses it raw
  ASSERT_TRUE(*store_->Reserve("c3", "eth0", Ip("10.0.0.10"), 0));
  EXPECT_EQ(Read("last_reserved_ip.0"), "10.0.0.10");
}

TEST_F(HostLocalDiskStoreTest, FailedCursorWriteLeavesTheAddressFree) {
  ASSERT_EQ(mkdir((dir_ + "/last_reserved_ip.0").c_str(), 0755), 0);  // unwritable cursor
  auto r = store_->Reserve("c1", "eth0", Ip("10.0.0.2"), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), cni::Code::kIoFailure);
  EXPECT_NE(r.error().msg().find("last_reserved_ip.0"), std::string::npos) << r.error().msg();
  EXPECT_FALSE(Exists("10.0.0.2"));
}

TEST_F(HostLocalDiskStoreTest, ReserveIsExclusive) {
  ASSERT_TRUE(*store_->Reserve("c1", "eth0", Ip("10.0.0.2"), 0));
  auto again = store_->Reserve("c2", "eth0", Ip("10.0.0.2"), 0);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(Read("10.0.0.2"), "c1\r\neth0");
}

TEST_F(HostLocalDiskStoreTest, ListReadsOnlyAddressFiles) {
  ASSERT_TRUE(*store_->Reserve("c1", "eth0", Ip("10.0.0.2"), 0));
  Write("10.0.0.9", "legacy-id\n");
  Write("not-an-ip", "c9\r\neth0");
  Write("010.0.0.3", "c9\r\neth0");  // not canonical text: not ours to touch
  ASSERT_EQ(mkdir((dir_ + "/10.0.0.4").c_str(), 0755), 0);
  EXPECT_EQ(Names(), (std::vector<std::string>{"10.0.0.2=c1\r\neth0", "10.0.0.9=legacy-id"}));
}

TEST_F(HostLocalDiskStoreTest, ReleaseAndReleaseById) {
  ASSERT_TRUE(*store_->Reserve("c1", "eth0", Ip("10.0.0.2"), 0));
  ASSERT_TRUE(*store_->Reserve("c1", "eth1", Ip("10.0.0.3"), 0));
  ASSERT_TRUE(ReleaseById(*store_, "c1", "eth0").ok());
  EXPECT_FALSE(Exists("10.0.0.2"));
  EXPECT_TRUE(Exists("10.0.0.3"));
  EXPECT_TRUE(ReleaseById(*store_, "c1", "eth0").ok());  // idempotent
  EXPECT_TRUE(store_->Release(Ip("10.0.0.77")).ok());     // free already
  EXPECT_TRUE(Exists("last_reserved_ip.0"));
  EXPECT_TRUE(Exists("lock"));
}

TEST_F(HostLocalDiskStoreTest, ReleaseByIdPrescanFreesOnlyTheOwnersFiles) {
  ASSERT_TRUE(*store_->Reserve("c1", "eth0", Ip("10.0.0.2"), 0));
  ASSERT_TRUE(*store_->Reserve("c2", "eth0", Ip("10.0.0.3"), 0));
  auto owner = store_->Owner(Ip("10.0.0.3"));
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->value_or("<free>"), "c2\r\neth0");
  ASSERT_TRUE(ReleaseByIdPrescan(*store_, "c1", "eth0").ok());
  EXPECT_FALSE(Exists("10.0.0.2"));
  EXPECT_TRUE(Exists("10.0.0.3"));
  owner = store_->Owner(Ip("10.0.0.2"));
  ASSERT_TRUE(owner.ok());
  EXPECT_FALSE(owner->has_value());
  EXPECT_TRUE(ReleaseByIdPrescan(*store_, "c1", "eth0").ok());  // idempotent
}

TEST_F(HostLocalDiskStoreTest, UnlockedScanLeavesTempFilesAlone) {
  // Without the lock a temp file may belong to a live writer: Scan must not remove it.
  Write(std::string(kTempPrefix) + "10.0.0.2.12345", "live\r\neth0");
  auto scan = store_->Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_TRUE(scan->empty());
  EXPECT_TRUE(Exists(std::string(kTempPrefix) + "10.0.0.2.12345"));
}

TEST_F(HostLocalDiskStoreTest, StaleTempFilesAreCleanedUnderTheLock) {
  Write(std::string(kTempPrefix) + "10.0.0.2.12345", "dead\r\neth0");
  EXPECT_TRUE(Names().empty());
  EXPECT_FALSE(Exists(std::string(kTempPrefix) + "10.0.0.2.12345"));
}

TEST_F(HostLocalDiskStoreTest, LockExcludesOtherOpenersOfTheLockFile) {
  int fd = open((dir_ + "/lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    auto lock = StoreLock::Acquire(*store_);
    ASSERT_TRUE(lock.ok());
    EXPECT_EQ(flock(fd, LOCK_EX | LOCK_NB), -1);
    EXPECT_EQ(errno, EWOULDBLOCK);
  }
  EXPECT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  close(fd);
}

TEST_F(HostLocalDiskStoreTest, GarbageLastReservedIsIgnored) {
  Write("last_reserved_ip.0", "");
  EXPECT_EQ(store_->LastReservedIp(0), std::nullopt);
  Write("last_reserved_ip.0", "10.0.0.5\n");
  EXPECT_EQ(store_->LastReservedIp(0), Ip("10.0.0.5"));
}

TEST(HostLocalDiskStoreOpenTest, RefusesNetworkNamesThatEscapeDataDir) {
  for (const char* bad : {"..", ".", "a/b", ""}) {
    auto s = DiskStore::Open("/tmp", bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code(), cni::Code::kInvalidNetworkConfig);
  }
}

TEST(HostLocalDiskStoreOpenTest, UnusableDataDirIsIoError) {
  auto s = DiskStore::Open("/proc/version", "net1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), cni::Code::kIoFailure);
}

// The owner index: ADD and DEL read one index file instead of every reservation,
// yet a reservation made by a writer without an index (the reference) is still
// found, and a duplicate ADD is still refused, either way.
TEST_F(HostLocalDiskStoreTest, OwnerIndexSparesTheScanAndStaysCorrectBesideTheReference) {
  std::vector<RangeSet> sets = {testing::MustSet({testing::MustRange("10.6.0.0/24")})};
  auto a = AllocateAll(sets, *store_, "net1", "a", "eth0", {});
  ASSERT_TRUE(a.ok()) << a.error().msg();
  EXPECT_TRUE(store_->IndexCurrent());
  auto idx = store_->Indexed("a", "eth0");
  ASSERT_TRUE(idx.has_value());
  EXPECT_EQ(*idx, std::vector<cni::IpAddr>{Ip("10.6.0.2")});

  // While current, an unknown owner holds nothing: the duplicate check asks the index.
  auto dup = AllocateAll(sets, *store_, "net1", "a", "eth0", {});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().msg().find("duplicate allocation"), std::string::npos);

  // A file written behind the index's back (as the reference writes them) makes it
  // stale: the next ADD lists everything, so a duplicate of that owner is refused.
  Write("10.6.0.9", "ref\r\neth0");
  EXPECT_FALSE(store_->IndexCurrent());
  auto ref_dup = AllocateAll(sets, *store_, "net1", "ref", "eth0", {});
  ASSERT_FALSE(ref_dup.ok());
  EXPECT_NE(ref_dup.error().msg().find("duplicate allocation"), std::string::npos);
  auto b = AllocateAll(sets, *store_, "net1", "b", "eth0", {});
  ASSERT_TRUE(b.ok()) << b.error().msg();
  EXPECT_FALSE(store_->IndexCurrent()) << "the reference's file is still not indexed";

  // DEL of the reference's owner finds it by a scan; of ours through the index.
  ASSERT_TRUE(ReleaseByIdPrescan(*store_, "ref", "eth0").ok());
  EXPECT_FALSE(Exists("10.6.0.9"));
  ASSERT_TRUE(ReleaseByIdPrescan(*store_, "a", "eth0").ok());
  EXPECT_FALSE(Exists("10.6.0.2"));
  EXPECT_FALSE(store_->Indexed("a", "eth0").has_value());

  // Everything indexed again: the next ADD marks the index current.
  auto c = AllocateAll(sets, *store_, "net1", "c", "eth0", {});
  ASSERT_TRUE(c.ok()) << c.error().msg();
  EXPECT_TRUE(store_->IndexCurrent());

  // An index entry whose address went to someone else is not believed.
  ASSERT_TRUE(store_->Release(Ip("10.6.0.3")).ok());  // b's, behind the index
  Write("10.6.0.3", "other\r\neth0");
  ASSERT_TRUE(ReleaseByIdPrescan(*store_, "b", "eth0").ok());
  EXPECT_EQ(Read("10.6.0.3"), "other\r\neth0");
}

}  // namespace
}  // namespace host_local
