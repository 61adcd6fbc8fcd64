#include "overlay/registry/etcd/etcd_test_fixture.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

namespace linen::etcd::testing {

cni::Result<std::unique_ptr<EtcdServer>> EtcdServer::Start(const cni::NetNs& ns,
                                                            std::string data_dir,
                                                            std::string listen_ip, int port) {
  std::unique_ptr<EtcdServer> s(new EtcdServer(ns, std::move(data_dir), std::move(listen_ip), port));
  if (auto st = s->MakeStoreDir(); !st) return st.error();
  if (auto st = s->Spawn(); !st) return st.error();
  if (auto st = s->WaitReady(); !st) return st.error();
  return s;
}

std::string EtcdServer::endpoint() const {
  return "http://" + ip_ + ":" + std::to_string(port_);
}

cni::Status EtcdServer::MakeStoreDir() {
  // etcd fsyncs its WAL on every write; on a disk shared with parallel builds that
  // can stall for seconds. Tests need no durability beyond a restart, so tmpfs.
  char tmpl[] = "/dev/shm/linen-etcd-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return cni::ErrnoError("mkdtemp /dev/shm", errno);
  store_dir_ = tmpl;
  return cni::OkStatus();
}

cni::Status EtcdServer::Spawn() {
  const std::string client = endpoint();
  const std::string peer = "http://" + ip_ + ":" + std::to_string(port_ + 1);
  std::vector<std::string> args = {
      "etcd",
      "--name", "default",
      "--data-dir", store_dir_,
      "--listen-client-urls", client,
      "--advertise-client-urls", client,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", "default=" + peer,
      "--heartbeat-interval", "10",
      "--election-timeout", "100",
      "--logger", "zap",
      "--log-level", "warn",
      "--log-outputs", data_dir_ + "/etcd.log",
  };
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return cni::ErrnoError("fork etcd", errno);
  if (pid == 0) {
    // Child: into the test namespace, then exec. Only async-signal-safe calls here.
    if (setns(ns_.fd(), CLONE_NEWNET) != 0) _exit(126);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    // Die with the test process, even if it is killed before its destructors run.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv("/usr/bin/etcd", argv.data());
    _exit(127);
  }
  pid_ = pid;
  return cni::OkStatus();
}

cni::Status EtcdServer::WaitReady() {
  ClientOptions opts;
  opts.endpoints = {endpoint()};
  opts.request_timeout = std::chrono::milliseconds(500);
  opts.connect_timeout = std::chrono::milliseconds(200);
  auto client = Client::Create(opts);
  if (!client) return client.error();
  // Readiness, not synchronisation: a bounded number of health probes, each of which
  // fails fast (connection refused) until etcd listens and has elected itself.
  cni::Error last(cni::Code::kTryAgainLater, "etcd did not start");
  for (int i = 0; i < 500; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return cni::Error(cni::Code::kInternal,
                        "etcd exited during start-up; see " + data_dir_ + "/etcd.log");
    }
    auto h = RunInNetns(ns_, [&] { return (*client)->Health(); });
    if (h) return cni::OkStatus();
    last = h.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return last.Context("etcd not ready after 5 s");
}

void EtcdServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

cni::Status EtcdServer::Restart() {
  Stop();
  if (auto s = Spawn(); !s) return s;
  return WaitReady();
}

EtcdServer::~EtcdServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!store_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(store_dir_, ec);
  }
}

void EtcdTest::SetUp() {
  auto ns = linen::test::TempNetns::Create("etcd");
  ASSERT_TRUE(ns) << ns.error().msg();
  ns_.emplace(std::move(*ns));
  dir_.emplace();
  auto etcd = EtcdServer::Start(ns_->ns(), dir_->path());
  ASSERT_TRUE(etcd) << etcd.error().msg();
  etcd_ = std::move(*etcd);
  auto sw = cni::ScopedNetnsSwitch::Enter(ns_->ns());
  ASSERT_TRUE(sw) << sw.error().msg();
  inside_.emplace(std::move(*sw));
}

void EtcdTest::TearDown() {
  inside_.reset();
  etcd_.reset();
  dir_.reset();
  ns_.reset();
}

ClientOptions EtcdTest::client_options() const {
  ClientOptions o;
  o.endpoints = {etcd_->endpoint()};
  o.request_timeout = std::chrono::milliseconds(2000);
  o.connect_timeout = std::chrono::milliseconds(500);
  return o;
}

std::unique_ptr<Client> EtcdTest::NewClient() {
  auto c = Client::Create(client_options());
  EXPECT_TRUE(c) << c.error().msg();
  return c ? *std::move(c) : nullptr;
}

std::string EtcdTest::UniquePrefix() {
  static std::atomic<int> n{0};
  return "/linen-test/" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

}  // namespace linen::etcd::testing
