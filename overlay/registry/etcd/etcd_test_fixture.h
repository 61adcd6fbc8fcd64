// A real etcd for tests, inside a namespace the test created, so no traffic ever
// leaves test namespaces. Tuned (10 ms heartbeat, 100 ms election) to be ready in
// about 0.1 s, cheap enough for one per test process.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_ETCD_TEST_FIXTURE_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_ETCD_TEST_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "libcni/error.h"
#include "netns/netns.h"
#include "overlay/registry/etcd/etcd_client.h"
#include "test/support/test_support.h"

namespace linen::etcd::testing {

// Certificates for TLS tests, made once per test process with openssl (EC P-256,
// valid for a day) in a directory removed at exit.
struct TestPki {
  std::string ca;                        // the CA etcd trusts and that signed the server
  std::string server_cert, server_key;   // subjectAltName IP 127.0.0.1 and 10.99.0.1
  std::string client_cert, client_key;   // signed by ca; no Common Name (see docs/etcd.md)
  std::string cn_cert, cn_key;           // signed by ca, with a Common Name
  std::string other_ca;                  // a CA nobody here trusts
  std::string rogue_cert, rogue_key;     // a client certificate signed by other_ca

  static cni::Result<const TestPki*> Get();
};

struct EtcdServerOptions {
  std::string listen_ip = "127.0.0.1";
  int port = 2379;
  // https client URL with TestPki's server certificate, and --client-cert-auth
  // trusting TestPki::ca.
  bool tls = false;
  // --auth-token-ttl in seconds (how long an unused token lives); 0 = etcd's 300.
  int auth_token_ttl = 0;
  // "info" logs each expired token ("deleted a simple token"), which tests wait for.
  std::string log_level = "warn";
};

class EtcdServer {
 public:
  // Starts etcd in `ns` on <listen_ip>:<port> (peer port+1) with its log in
  // `data_dir`, and waits (bounded) until /health answers.
  static cni::Result<std::unique_ptr<EtcdServer>> Start(const cni::NetNs& ns,
                                                         std::string data_dir,
                                                         std::string listen_ip = "127.0.0.1",
                                                         int port = 2379);
  static cni::Result<std::unique_ptr<EtcdServer>> Start(const cni::NetNs& ns,
                                                         std::string data_dir,
                                                         const EtcdServerOptions& opts);
  ~EtcdServer();  // SIGKILL and reap
  EtcdServer(const EtcdServer&) = delete;

  // SIGTERM and reap; the data dir stays, so Restart() brings the same store back.
  void Stop();
  cni::Status Restart();
  bool running() const { return pid_ > 0; }
  std::string endpoint() const;
  // How the test talks to this etcd as its administrator: the endpoint, TestPki's
  // CA and client certificate when TLS is on, and root's login once EnableAuth ran.
  // The server's client_options() with the test timeouts.
  ClientOptions client_options() const;

  static constexpr const char* kRootPassword = "root-secret";
  // Creates root and `user` (with `password`), a role `user` may read and write
  // every key under `prefix` with and nothing else, and enables auth; through etcd's
  // own /v3/auth/* API. Run from any namespace.
  cni::Status EnableAuth(const std::string& user, const std::string& password,
                         const std::string& prefix);
  // Whether etcd's log has a line containing every one of `words`.
  bool LogHas(const std::vector<std::string>& words) const;

 private:
  EtcdServer(const cni::NetNs& ns, std::string data_dir, EtcdServerOptions opts)
      : ns_(ns), data_dir_(std::move(data_dir)), opts_(std::move(opts)) {}
  cni::Status MakeStoreDir();
  cni::Status Spawn();
  cni::Status WaitReady();
  // Calls etcd's API as administrator from inside ns_.
  cni::Status Admin(const std::string& path, const std::string& body);

  const cni::NetNs& ns_;
  std::string data_dir_;   // etcd's log
  std::string store_dir_;  // etcd's database, on tmpfs (see MakeStoreDir)
  EtcdServerOptions opts_;
  bool auth_ = false;
  pid_t pid_ = -1;
};

// Per test: a fresh namespace with lo up, etcd in it, and the test's main thread
// moved into it (threads the test starts inherit it). Restored in TearDown.
class EtcdTest : public ::testing::Test {
 protected:
  // What SetUp starts; a TLS or auth test overrides it.
  virtual EtcdServerOptions server_options() const { return {}; }
  void SetUp() override;
  void TearDown() override;

  // The server's client_options() with the test timeouts.
  ClientOptions client_options() const;
  std::unique_ptr<Client> NewClient();
  // A key prefix unique to this test, e.g. "/linen-test/1234-3".
  std::string UniquePrefix();

  std::optional<linen::test::TempNetns> ns_;
  std::optional<linen::test::TempDir> dir_;
  std::optional<cni::ScopedNetnsSwitch> inside_;
  std::unique_ptr<EtcdServer> etcd_;
};

}  // namespace linen::etcd::testing

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_ETCD_TEST_FIXTURE_H_
