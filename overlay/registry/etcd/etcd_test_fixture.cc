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
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "libcni/base64.h"

namespace linen::etcd::testing {

namespace {

// The directory TestPki's files live in, removed when the test process exits.
struct PkiHolder {
  std::optional<linen::test::TempDir> dir;
  TestPki pki;
  std::optional<cni::Error> error;
};

}  // namespace

cni::Result<const TestPki*> TestPki::Get() {
  static PkiHolder holder;
  static std::once_flag once;
  std::call_once(once, [] {
    holder.dir.emplace();
    const std::string d = holder.dir->path();
    // A client certificate without a Common Name: etcd refuses one with a CN on its
    // JSON gateway once auth is enabled (docs/etcd.md).
    const std::string script = "set -e; cd " + d + R"(
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout $1.key -out $1.crt -days 1 -subj "/CN=$1" 2>/dev/null; }
cert() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout $1.key -out $1.csr -subj "$3" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$4" > $1.ext
  openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 1 \
  -extfile $1.ext -out $1.crt 2>/dev/null; }
ca ca; ca other-ca
cert server ca /CN=etcd IP:127.0.0.1,IP:10.99.0.1
cert client ca /O=linen DNS:linen
cert cn ca /CN=linen DNS:linen
cert rogue other-ca /O=linen DNS:linen
)";
    auto r = linen::test::Sh(script);
    if (r.exit_code != 0) {
      holder.error = cni::Error(cni::Code::kInternal, "openssl test PKI: " + r.err + r.out);
      return;
    }
    TestPki& p = holder.pki;
    p.ca = d + "/ca.crt";
    p.server_cert = d + "/server.crt";
    p.server_key = d + "/server.key";
    p.client_cert = d + "/client.crt";
    p.client_key = d + "/client.key";
    p.cn_cert = d + "/cn.crt";
    p.cn_key = d + "/cn.key";
    p.other_ca = d + "/other-ca.crt";
    p.rogue_cert = d + "/rogue.crt";
    p.rogue_key = d + "/rogue.key";
  });
  if (holder.error) return *holder.error;
  return &holder.pki;
}

cni::Result<std::unique_ptr<EtcdServer>> EtcdServer::Start(const cni::NetNs& ns,
                                                            std::string data_dir,
                                                            std::string listen_ip, int port) {
  EtcdServerOptions o;
  o.listen_ip = std::move(listen_ip);
  o.port = port;
  return Start(ns, std::move(data_dir), o);
}

cni::Result<std::unique_ptr<EtcdServer>> EtcdServer::Start(const cni::NetNs& ns,
                                                            std::string data_dir,
                                                            const EtcdServerOptions& opts) {
  if (opts.tls) {
    if (auto pki = TestPki::Get(); !pki) return pki.error();
  }
  std::unique_ptr<EtcdServer> s(new EtcdServer(ns, std::move(data_dir), opts));
  if (auto st = s->MakeStoreDir(); !st) return st.error();
  if (auto st = s->Spawn(); !st) return st.error();
  if (auto st = s->WaitReady(); !st) return st.error();
  return s;
}

std::string EtcdServer::endpoint() const {
  return std::string(opts_.tls ? "https://" : "http://") + opts_.listen_ip + ":" +
         std::to_string(opts_.port);
}

ClientOptions EtcdServer::client_options() const {
  ClientOptions o;
  o.endpoints = {endpoint()};
  if (opts_.tls) {
    const TestPki* pki = *TestPki::Get();
    o.ca_file = pki->ca;
    o.cert_file = pki->client_cert;
    o.key_file = pki->client_key;
  }
  if (auth_) {
    o.username = "root";
    o.password = kRootPassword;
  }
  return o;
}

cni::Status EtcdServer::Admin(const std::string& path, const std::string& body) {
  auto client = Client::Create(client_options());
  if (!client) return client.error();
  auto r = RunInNetns(ns_, [&]() -> cni::Result<std::string> { return (*client)->Call(path, body); });
  if (!r) return r.error().Context("etcd admin " + path);
  return cni::OkStatus();
}

cni::Status EtcdServer::EnableAuth(const std::string& user, const std::string& password,
                                   const std::string& prefix) {
  using nlohmann::json;
  const json perm = {{"permType", "READWRITE"},
                     {"key", cni::Base64Encode(prefix)},
                     {"range_end", cni::Base64Encode(PrefixRangeEnd(prefix))}};
  const std::pair<const char*, json> steps[] = {
      {"/v3/auth/user/add", {{"name", "root"}, {"password", kRootPassword}}},
      {"/v3/auth/user/grant", {{"user", "root"}, {"role", "root"}}},
      {"/v3/auth/user/add", {{"name", user}, {"password", password}}},
      {"/v3/auth/role/add", {{"name", user}}},
      {"/v3/auth/role/grant", {{"name", user}, {"perm", perm}}},
      {"/v3/auth/user/grant", {{"user", user}, {"role", user}}},
      {"/v3/auth/enable", json::object()},
  };
  for (const auto& [path, body] : steps) {
    if (auto s = Admin(path, body.dump()); !s) return s;
  }
  auth_ = true;
  return cni::OkStatus();
}

bool EtcdServer::LogHas(const std::vector<std::string>& words) const {
  std::ifstream f(data_dir_ + "/etcd.log");
  std::string line;
  while (std::getline(f, line)) {
    bool all = true;
    for (const auto& w : words) all = all && line.find(w) != std::string::npos;
    if (all) return true;
  }
  return false;
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
  const std::string peer = "http://" + opts_.listen_ip + ":" + std::to_string(opts_.port + 1);
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
      "--log-level", opts_.log_level,
      "--log-outputs", data_dir_ + "/etcd.log",
  };
  if (opts_.tls) {
    const TestPki* pki = *TestPki::Get();
    args.insert(args.end(), {"--cert-file", pki->server_cert, "--key-file", pki->server_key,
                             "--trusted-ca-file", pki->ca, "--client-cert-auth"});
  }
  if (opts_.auth_token_ttl > 0) {
    args.insert(args.end(), {"--auth-token-ttl", std::to_string(opts_.auth_token_ttl)});
  }
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
  ClientOptions opts = client_options();
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
  auto etcd = EtcdServer::Start(ns_->ns(), dir_->path(), server_options());
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
  ClientOptions o = etcd_->client_options();
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
