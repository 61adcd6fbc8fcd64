// Delegation against real child processes: tiny /bin/sh plugins in a temp dir.
#include "libcni/invoke.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "test/support/test_support.h"

namespace cni {
namespace {

class InvokeTest : public ::testing::Test {
 protected:
  // Writes dir/name with `body` after a #!/bin/sh line, mode 0755.
  std::string Script(const std::string& name, const std::string& body,
                     const std::string& dir = "") {
    std::string d = dir.empty() ? tmp_.path() : dir;
    std::string path = d + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }
  std::string Read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  CmdArgs Args() {
    CmdArgs a;
    a.command = "ADD";
    a.container_id = "ctr-1";
    a.netns = "/run/netns/some-ns";
    a.ifname = "eth0";
    a.args = "IgnoreUnknown=1;K8S_POD_NAME=p";
    a.path = "/nonexistent-linen:" + tmp_.path();
    return a;
  }
  linen::test::TempDir tmp_;
};

TEST_F(InvokeTest, FindInPathFirstRegularFileWins) {
  linen::test::TempDir a, b;
  Script("plug", "exit 0", b.path());
  std::string in_a = Script("plug", "exit 0", a.path());
  auto found = FindInPath("plug", {"/nonexistent-linen", a.path(), b.path()});
  ASSERT_TRUE(found) << found.error().msg();
  EXPECT_EQ(*found, in_a);
}

TEST_F(InvokeTest, FindInPathSkipsDirectoriesAndFollowsSymlinks) {
  linen::test::TempDir a, b;
  mkdir((a.path() + "/plug").c_str(), 0755);  // a directory is not a plugin
  std::string target = Script("real", "exit 0", b.path());
  ASSERT_EQ(symlink(target.c_str(), (b.path() + "/plug").c_str()), 0);
  symlink("/nonexistent-target", (a.path() + "/dangling").c_str());
  auto found = FindInPath("plug", {a.path(), b.path()});
  ASSERT_TRUE(found) << found.error().msg();
  EXPECT_EQ(*found, b.path() + "/plug");
  EXPECT_FALSE(FindInPath("dangling", {a.path()}));
}

TEST_F(InvokeTest, FindInPathErrors) {
  auto missing = FindInPath("nope", {tmp_.path(), "/nonexistent-linen"});
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_NE(missing.error().msg().find("\"nope\""), std::string::npos);
  EXPECT_NE(missing.error().msg().find(tmp_.path()), std::string::npos);
  EXPECT_NE(missing.error().msg().find("/nonexistent-linen"), std::string::npos);
  EXPECT_FALSE(FindInPath("../bin/sh", {tmp_.path()}));
  EXPECT_FALSE(FindInPath("sh", {}));
  EXPECT_FALSE(FindInPath("", {tmp_.path()}));
}

TEST_F(InvokeTest, DelegateAddPassesEnvAndStdinAndParsesResult) {
  setenv("LINEN_INVOKE_INHERITED", "yes", 1);
  setenv("CNI_COMMAND", "STALE", 1);  // ours must win over the inherited one
  std::string dir = tmp_.path();
  Script("ipam", "cat > " + dir + "/stdin.txt\n"
                 "env | grep -E '^(CNI_|LINEN_INVOKE_)' | sort > " + dir + "/env.txt\n"
                 "echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.2/24\","
                 "\"gateway\":\"10.1.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}'");
  std::string conf = R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"ipam"}})";
  auto r = DelegateAdd("ipam", Args(), conf);
  unsetenv("CNI_COMMAND");
  unsetenv("LINEN_INVOKE_INHERITED");
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_EQ(r->cni_version, "1.0.0");
  ASSERT_EQ(r->ips.size(), 1u);
  EXPECT_EQ(r->ips[0].address.ToString(), "10.1.0.2/24");
  EXPECT_EQ(r->ips[0].gateway->ToString(), "10.1.0.1");
  EXPECT_EQ(r->routes.at(0).dst.ToString(), "0.0.0.0/0");
  EXPECT_EQ(Read(dir + "/stdin.txt"), conf);
  EXPECT_EQ(Read(dir + "/env.txt"),
            "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=p\n"
            "CNI_COMMAND=ADD\n"
            "CNI_CONTAINERID=ctr-1\n"
            "CNI_IFNAME=eth0\n"
            "CNI_NETNS=/run/netns/some-ns\n"
            "CNI_PATH=/nonexistent-linen:" + dir + "\n"
            "LINEN_INVOKE_INHERITED=yes\n");
}

TEST_F(InvokeTest, DelegateAddConvertsOtherVersions) {
  // A result without cniVersion is read in the config's version...
  Script("nover", "echo '{\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.2/24\"}]}'");
  auto r = DelegateAdd("nover", Args(), R"({"cniVersion":"0.4.0","name":"n"})");
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_EQ(r->cni_version, "0.4.0");
  EXPECT_EQ(r->ips.at(0).address.ToString(), "10.1.0.2/24");
  // ...and one in an older shape is read in its own and reported in the config's.
  Script("old", "echo '{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.1.0.3/24\","
                "\"gateway\":\"10.1.0.1\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}}'");
  auto o = DelegateAdd("old", Args(), R"({"cniVersion":"1.1.0","name":"n"})");
  ASSERT_TRUE(o) << o.error().msg();
  EXPECT_EQ(o->cni_version, "1.1.0");
  EXPECT_EQ(o->ips.at(0).address.ToString(), "10.1.0.3/24");
  EXPECT_EQ(o->routes.size(), 1u);
}

TEST_F(InvokeTest, DelegateErrorJsonKeepsCodeMsgDetails) {
  Script("fail", "cat >/dev/null\n"
                 "echo '{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"no IP addresses "
                 "available\",\"details\":\"10.0.0.0/30\"}'\nexit 1");
  auto r = DelegateAdd("fail", Args(), R"({"cniVersion":"1.0.0","name":"n"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kNoAddressAvailable);
  EXPECT_EQ(r.error().msg(), "no IP addresses available");
  EXPECT_EQ(r.error().details(), "10.0.0.0/30");
}

TEST_F(InvokeTest, ErrorJsonOnStderrIsUsedAsFallback) {
  Script("errout", "echo '{\"code\":7,\"msg\":\"bad subnet\"}' >&2\nexit 1");
  auto s = DelegateCommand("DEL", "errout", Args(), R"({"cniVersion":"1.0.0","name":"n"})");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_EQ(s.error().msg(), "bad subnet");
}

TEST_F(InvokeTest, GarbageAndCrashesAreCode999QuotingOutput) {
  Script("garbage", "echo 'panic: runtime error'\nexit 2");
  auto g = DelegateCommand("CHECK", "garbage", Args(), "{}");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), Code::kInternal);
  EXPECT_NE(g.error().msg().find("garbage"), std::string::npos);
  EXPECT_NE(g.error().msg().find("exit status 2"), std::string::npos);
  EXPECT_NE(g.error().msg().find("panic: runtime error"), std::string::npos);

  Script("crash", "kill -KILL $$");
  auto c = DelegateCommand("DEL", "crash", Args(), "{}");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), Code::kInternal);
  EXPECT_NE(c.error().msg().find("killed by signal 9"), std::string::npos) << c.error().msg();

  Script("silent", "exit 1");
  auto s = DelegateCommand("DEL", "silent", Args(), "{}");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().msg().find("no error message"), std::string::npos);
}

TEST_F(InvokeTest, SuccessWithUnparsableResultIsCode6) {
  Script("junk", "echo 'this is not json'");
  auto r = DelegateAdd("junk", Args(), R"({"cniVersion":"1.0.0","name":"n"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDecodingFailure);
  EXPECT_NE(r.error().msg().find("junk"), std::string::npos);
  Script("badip", "echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"300.1.1.1/24\"}]}'");
  auto b = DelegateAdd("badip", Args(), R"({"cniVersion":"1.0.0","name":"n"})");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), Code::kDecodingFailure);
}

TEST_F(InvokeTest, DelegateCommandSuccessAndMissingPlugin) {
  Script("ok", "test \"$CNI_COMMAND\" = DEL || exit 3\ncat >/dev/null");
  EXPECT_TRUE(DelegateCommand("DEL", "ok", Args(), "{}"));
  auto m = DelegateCommand("DEL", "not-there", Args(), "{}");
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().IsNotFound());
}

TEST_F(InvokeTest, LargeOutputOnBothStreamsDoesNotDeadlock) {
  // 1 MiB on stderr before 1 MiB on stdout: a naive read-stdout-then-stderr
  // would block forever once the stderr pipe fills.
  std::string path = Script("big", "cat >/dev/null\n"
                                   "head -c 1048576 /dev/zero | tr '\\0' e >&2\n"
                                   "head -c 1048576 /dev/zero | tr '\\0' o");
  std::string big_in(2 << 20, 'i');
  auto out = ExecPlugin({path, {}, big_in});
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ(out->exit_code, 0);
  EXPECT_EQ(out->stdout_text, std::string(1 << 20, 'o'));
  EXPECT_EQ(out->stderr_text, std::string(1 << 20, 'e'));
}

TEST_F(InvokeTest, ChildThatIgnoresStdinDoesNotHurtUs) {
  // The child exits without reading 4 MiB of stdin: no SIGPIPE, no hang.
  std::string path = Script("noread", "echo done");
  auto out = ExecPlugin({path, {}, std::string(4 << 20, 'x')});
  ASSERT_TRUE(out) << out.error().msg();
  EXPECT_EQ(out->exit_code, 0);
  EXPECT_EQ(out->stdout_text, "done\n");
}

TEST_F(InvokeTest, ExecFailuresAreCode5) {
  std::string path = tmp_.path() + "/noexec";
  std::ofstream(path) << "#!/bin/sh\nexit 0\n";
  chmod(path.c_str(), 0644);
  auto out = ExecPlugin({path, {}, ""});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::kIoFailure);
  EXPECT_NE(out.error().msg().find(path), std::string::npos);
  auto gone = ExecPlugin({tmp_.path() + "/missing", {}, ""});
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().IsNotFound());
}

TEST_F(InvokeTest, BusyBinaryGivesUpWithCode5) {
  // Held open for writing, the file is "text file busy" for exec; the bounded
  // retry must end with an error naming the plugin, not hang.
  std::string path = Script("busy", "exit 0");
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto out = ExecPlugin({path, {}, ""});
  close(fd);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::kIoFailure);
  EXPECT_NE(out.error().msg().find(std::strerror(ETXTBSY)), std::string::npos) << out.error().msg();
  EXPECT_NE(out.error().msg().find(path), std::string::npos);
  // Once closed it runs.
  auto again = ExecPlugin({path, {}, ""});
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(again->exit_code, 0);
}

TEST(ParseExecStatusTest, Table) {
  EXPECT_TRUE(ParseExecStatus({0, "anything", ""}, "p"));
  auto e = ParseExecStatus({1, R"({"code":3,"msg":"gone"})", ""}, "p");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), Code::kUnknownContainer);
  // code 0 is not an error object
  auto z = ParseExecStatus({1, R"({"code":0,"msg":"x"})", ""}, "p");
  ASSERT_FALSE(z);
  EXPECT_EQ(z.error().code(), Code::kInternal);
  auto sig = ParseExecStatus({-11, "", ""}, "p");
  ASSERT_FALSE(sig);
  EXPECT_NE(sig.error().msg().find("signal 11"), std::string::npos);
}

}  // namespace
}  // namespace cni
