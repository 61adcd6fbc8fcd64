// A real etcd for tests, inside a namespace the test created, so no traffic ever
// leaves test namespaces. Tuned (10 ms heartbeat, 100 ms election) to be ready in
// about 0.1 s, cheap enough for one per test process.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_ETCD_TEST_FIXTURE_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_ETCD_TEST_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "libcni/error.h"
#include "netns/netns.h"
#include "overlay/registry/etcd/etcd_client.h"
#include "test/support/test_support.h"

namespace linen::etcd::testing {

class EtcdServer {
 public:
  // Starts etcd in `ns` on <listen_ip>:<port> (peer port+1) with its log in
  // `data_dir`, and waits (bounded) until /health answers.
  static cni::Result<std::unique_ptr<EtcdServer>> Start(const cni::NetNs& ns,
                                                         std::string data_dir,
                                                         std::string listen_ip = "127.0.0.1",
                                                         int port = 2379);
  ~EtcdServer();  // SIGKILL and reap
  EtcdServer(const EtcdServer&) = delete;

  // SIGTERM and reap; the data dir stays, so Restart() brings the same store back.
  void Stop();
  cni::Status Restart();
  bool running() const { return pid_ > 0; }
  std::string endpoint() const;

 private:
  EtcdServer(const cni::NetNs& ns, std::string data_dir, std::string ip, int port)
      : ns_(ns), data_dir_(std::move(data_dir)), ip_(std::move(ip)), port_(port) {}
  cni::Status MakeStoreDir();
  cni::Status Spawn();
  cni::Status WaitReady();

  const cni::NetNs& ns_;
  std::string data_dir_;   // etcd's log
  std::string store_dir_;  // etcd's database, on tmpfs (see MakeStoreDir)
  std::string ip_;
  int port_;
  pid_t pid_ = -1;
};

// Per test: a fresh namespace with lo up, etcd in it, and the test's main thread
// moved into it (threads the test starts inherit it). Restored in TearDown.
class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

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
