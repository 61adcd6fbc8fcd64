#include "libcni/sys/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "libcni/sys/fd.h"
#include "libcni/sys/sysctl.h"

namespace cni {
namespace {

class SysFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/linen-sys-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::set<std::string> Names(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      out.insert(e.path().filename());
    }
    return out;
  }
  std::string dir_;
};

TEST(SysPathTest, DirNameAndBaseName) {
  EXPECT_EQ(DirName("/a/b/c"), "/a/b");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
  EXPECT_EQ(DirName("a/b"), "a");
  EXPECT_EQ(BaseName("/a/b/c"), "c");
  EXPECT_EQ(BaseName("c"), "c");
  EXPECT_EQ(AtomicTempPath("/x/y/subnet.env"), "/x/y/.subnet.env.tmp");
}

TEST_F(SysFileTest, MakeDirsCreatesParentsWithModeAndAcceptsExisting) {
  const std::string deep = dir_ + "/a/b//c/";
  ASSERT_TRUE(MakeDirs(deep, 0700));
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir_ + "/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(MakeDirs(deep));
  EXPECT_TRUE(MakeDirs(dir_ + "/rel-does-not-matter/.."));
}

TEST_F(SysFileTest, MakeDirsRefusesAFileInTheWay) {
  std::ofstream(dir_ + "/f") << "x";
  auto s = MakeDirs(dir_ + "/f");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kIoFailure);
  EXPECT_NE(s.error().msg().find(dir_ + "/f"), std::string::npos) << s.error().msg();
  s = MakeDirs(dir_ + "/f/g");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().msg().find(dir_ + "/f/g"), std::string::npos) << s.error().msg();
}

TEST_F(SysFileTest, WriteAllWritesEverything) {
  const std::string path = dir_ + "/big";
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd);
  const std::string data(1 << 20, 'z');
  ASSERT_TRUE(WriteAll(fd.get(), data, path));
  fd.reset();
  EXPECT_EQ(Read(path), data);
  auto bad = WriteAll(-1, "x", "nowhere");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().msg().find("write nowhere"), std::string::npos);
}

TEST_F(SysFileTest, WriteFileAtomicCreatesReplacesAndLeavesNoTemp) {
  const std::string path = dir_ + "/sub/state";
  mode_t old = umask(022);
  ASSERT_TRUE(WriteFileAtomic(path, "one", 0640));
  EXPECT_EQ(Read(path), "one");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // A temp file a killed writer left is replaced, not an obstacle.
  std::ofstream(AtomicTempPath(path)) << "stale";
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0640));
  EXPECT_EQ(Read(path), "two");
  EXPECT_EQ(Names(dir_ + "/sub"), std::set<std::string>{"state"});
  umask(old);
}

TEST_F(SysFileTest, WriteFileAtomicReportsTheFile) {
  std::ofstream(dir_ + "/notadir") << "x";
  auto s = WriteFileAtomic(dir_ + "/notadir/f", "data", 0600);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kIoFailure);
  EXPECT_NE(s.error().msg().find(dir_ + "/notadir"), std::string::npos) << s.error().msg();
}

TEST_F(SysFileTest, ReadWholeFileReadsPastOneBufferAndNamesWhatFails) {
  const std::string path = dir_ + "/data";
  std::string data(20000, 'a');  // more than one read(2) of the helper's buffer
  data[0] = '\0';
  data.back() = 'z';
  std::ofstream(path, std::ios::binary) << data;
  auto got = ReadWholeFile(path);
  ASSERT_TRUE(got) << got.error().msg();
  EXPECT_EQ(*got, data);
  std::ofstream(dir_ + "/empty").flush();
  EXPECT_EQ(ReadWholeFile(dir_ + "/empty").value(), "");

  auto missing = ReadWholeFile(dir_ + "/nope", Code::kInvalidNetworkConfig);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_EQ(missing.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_NE(missing.error().msg().find("read " + dir_ + "/nope"), std::string::npos);
  auto dir = ReadWholeFile(dir_);
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().msg().find("Is a directory"), std::string::npos) << dir.error().msg();
}

TEST(SysFdTest, UniqueFdClosesAndMoves) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]);
  {
    UniqueFd w(p[1]);
    UniqueFd moved(std::move(w));
    EXPECT_FALSE(w);
    EXPECT_TRUE(moved);
  }
  // The write end is closed, so the reader sees EOF rather than blocking.
  char c;
  EXPECT_EQ(read(r.get(), &c, 1), 0);
  int raw = r.release();
  EXPECT_FALSE(r);
  close(raw);
}

TEST(SysSysctlTest, ReadsTrimmedAndNamesMissingKey) {
  auto v = ReadSysctl("kernel/ostype");
  ASSERT_TRUE(v) << v.error().msg();
  EXPECT_EQ(*v, "Linux");
  auto missing = ReadSysctl("net/ipv4/no_such_key");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_NE(missing.error().msg().find("net/ipv4/no_such_key"), std::string::npos);
  EXPECT_FALSE(WriteSysctl("net/ipv4/no_such_key", "1"));
}

}  // namespace
}  // namespace cni
