// The etcd client against a real etcd 3.4 running in a test namespace.
#include "overlay/registry/etcd/etcd_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "overlay/registry/etcd/etcd_test_fixture.h"
#include "overlay/registry/etcd/etcd_watch.h"

namespace linen::etcd {
namespace {

using std::chrono::milliseconds;
using testing::EtcdTest;

class ClientTest : public EtcdTest {};

TEST_F(ClientTest, PutRangeDeleteWithBinarySafeKeys) {
  auto c = NewClient();
  ASSERT_TRUE(c);
  const std::string p = UniquePrefix();
  ASSERT_TRUE(c->Put(p + "/a", "one"));
  ASSERT_TRUE(c->Put(p + "/b", std::string("t\0o", 3)));
  ASSERT_TRUE(c->Put(p + "0", "outside the prefix"));

  auto r = c->Range(p + "/", PrefixRangeEnd(p + "/"));
  ASSERT_TRUE(r) << r.error().msg();
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, p + "/a");
  EXPECT_EQ(r->kvs[0].value, "one");
  EXPECT_EQ(r->kvs[1].value, std::string("t\0o", 3));
  EXPECT_GT(r->revision, 0);
  EXPECT_GT(r->kvs[1].mod_revision, r->kvs[0].mod_revision);

  auto one = c->Get(p + "/a");
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->version, 1);

  auto del = c->Delete(p + "/", PrefixRangeEnd(p + "/"));
  ASSERT_TRUE(del);
  EXPECT_EQ(*del, 2);
  auto gone = c->Get(p + "/a");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  auto still = c->Get(p + "0");
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->has_value());
}

TEST_F(ClientTest, TxnCreateIfAbsentHasOneWinner) {
  // Contenders on their own connections, released together, so their transactions
  // reach etcd concurrently rather than one after another.
  constexpr int kContenders = 8;
  const std::string key = UniquePrefix() + "/k";
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kContenders; ++i) {
    clients.push_back(NewClient());
    ASSERT_TRUE(clients.back());
  }
  std::vector<cni::Result<TxnResponse>> results(
      kContenders, cni::Error(cni::Code::kInternal, "not run"));
  std::latch start(kContenders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kContenders; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = clients[i]->Txn({Compare::Absent(key)},
                                  {TxnOp::Put(key, "contender-" + std::to_string(i))},
                                  {TxnOp::Get(key)});
    });
  }
  for (std::thread& t : threads) t.join();

  int winners = 0;
  std::string winner;
  for (int i = 0; i < kContenders; ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().msg();
    if (results[i]->succeeded) {
      ++winners;
      winner = "contender-" + std::to_string(i);
    }
  }
  ASSERT_EQ(winners, 1);
  for (int i = 0; i < kContenders; ++i) {
    if (results[i]->succeeded) continue;
    // A loser is told who won, in the same round trip.
    ASSERT_EQ(results[i]->responses.size(), 1u);
    ASSERT_EQ(results[i]->responses[0].kvs.size(), 1u);
    EXPECT_EQ(results[i]->responses[0].kvs[0].value, winner);
  }
  Client& c = *clients[0];
  EXPECT_EQ((*c.Get(key))->value, winner);

  // Optimistic update on mod_revision: a stale revision loses.
  auto kv = c.Get(key);
  ASSERT_TRUE(kv && kv->has_value());
  int64_t rev = (*kv)->mod_revision;
  auto upd = c.Txn({Compare::ModRevision(key, rev)}, {TxnOp::Put(key, "updated")});
  ASSERT_TRUE(upd && upd->succeeded);
  auto stale = c.Txn({Compare::ModRevision(key, rev)}, {TxnOp::Put(key, "stale")});
  ASSERT_TRUE(stale);
  EXPECT_FALSE(stale->succeeded);
  EXPECT_EQ((*c.Get(key))->value, "updated");
}

TEST_F(ClientTest, LeaseGrantKeepAliveRevoke) {
  auto c = NewClient();
  ASSERT_TRUE(c);
  const std::string key = UniquePrefix() + "/leased";
  auto g = c->Grant(30);
  ASSERT_TRUE(g) << g.error().msg();
  EXPECT_EQ(g->ttl, 30);
  ASSERT_TRUE(c->Put(key, "v", g->id));
  EXPECT_EQ((*c->Get(key))->lease, g->id);

  auto ka = c->KeepAlive(g->id);
  ASSERT_TRUE(ka) << ka.error().msg();
  EXPECT_EQ(*ka, 30);
  auto ttl = c->TimeToLive(g->id);
  ASSERT_TRUE(ttl) << ttl.error().msg();
  EXPECT_GT(*ttl, 25);

  ASSERT_TRUE(c->Revoke(g->id));
  auto gone = c->Get(key);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value()) << "revoking the lease deletes its keys";

  auto dead = c->KeepAlive(g->id);
  ASSERT_FALSE(dead);
  EXPECT_TRUE(dead.error().IsNotFound()) << dead.error().msg();
  EXPECT_TRUE(c->Revoke(g->id)) << "revoking twice is success";
}

TEST_F(ClientTest, LeaseExpiryDeletesKey) {
  auto c = NewClient();
  ASSERT_TRUE(c);
  const std::string p = UniquePrefix() + "/";
  auto g = c->Grant(1);
  ASSERT_TRUE(g) << g.error().msg();
  ASSERT_TRUE(c->Put(p + "short", "v", g->id));
  auto rev = c->Range(p, PrefixRangeEnd(p));
  ASSERT_TRUE(rev);
  // The expiry shows up as a DELETE on a watch: wait for that event, bounded.
  auto w = Watch::Start(client_options(), p, PrefixRangeEnd(p), rev->revision + 1);
  ASSERT_TRUE(w) << w.error().msg();
  auto evs = (*w)->Next(milliseconds(5000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].type, WatchEvent::Type::kDelete);
  EXPECT_EQ((*evs)[0].kv.key, p + "short");
  EXPECT_FALSE((*c->Get(p + "short")).has_value());
}

TEST_F(ClientTest, WatchSeesHistoryThenLiveChanges) {
  auto c = NewClient();
  ASSERT_TRUE(c);
  const std::string p = UniquePrefix() + "/";
  auto r0 = c->Put(p + "x", "1");
  ASSERT_TRUE(r0);
  ASSERT_TRUE(c->Put(p + "y", "2"));
  // From the revision of the first put: both are history and arrive at once.
  auto w = Watch::Start(client_options(), p, PrefixRangeEnd(p), *r0);
  ASSERT_TRUE(w) << w.error().msg();
  std::vector<WatchEvent> got;
  while (got.size() < 2) {
    auto evs = (*w)->Next(milliseconds(2000));
    ASSERT_TRUE(evs) << evs.error().msg();
    ASSERT_FALSE(evs->empty()) << "history not delivered";
    got.insert(got.end(), evs->begin(), evs->end());
  }
  EXPECT_EQ(got[0].kv.key, p + "x");
  EXPECT_EQ(got[1].kv.value, "2");

  auto none = (*w)->Next(milliseconds(50));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty()) << "no events without changes";

  ASSERT_TRUE(c->Delete(p + "x"));
  auto live = (*w)->Next(milliseconds(2000));
  ASSERT_TRUE(live) << live.error().msg();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].type, WatchEvent::Type::kDelete);
  EXPECT_EQ((*live)[0].kv.key, p + "x");
}

TEST_F(ClientTest, WatchReportsCompactionAsLoss) {
  auto c = NewClient();
  ASSERT_TRUE(c);
  const std::string p = UniquePrefix() + "/";
  auto r1 = c->Put(p + "a", "1");
  ASSERT_TRUE(r1);
  auto r2 = c->Put(p + "a", "2");
  ASSERT_TRUE(r2);
  auto compact = c->Call("/v3/kv/compaction", "{\"revision\":\"" + std::to_string(*r2) + "\"}");
  ASSERT_TRUE(compact) << compact.error().msg();
  auto w = Watch::Start(client_options(), p, PrefixRangeEnd(p), *r1);
  if (w) {
    auto evs = (*w)->Next(milliseconds(2000));
    ASSERT_FALSE(evs) << "a watch from a compacted revision must report loss";
    EXPECT_NE(evs.error().msg().find("compacted"), std::string::npos) << evs.error().msg();
  } else {
    EXPECT_NE(w.error().msg().find("compacted"), std::string::npos) << w.error().msg();
  }
}

TEST_F(ClientTest, WatchLossWhenEtcdStops) {
  const std::string p = UniquePrefix() + "/";
  auto w = Watch::Start(client_options(), p, PrefixRangeEnd(p), 0);
  ASSERT_TRUE(w) << w.error().msg();
  etcd_->Stop();
  auto evs = (*w)->Next(milliseconds(5000));
  ASSERT_FALSE(evs) << "the stream ends when etcd goes away";
  EXPECT_EQ(evs.error().code(), cni::Code::kTryAgainLater);
}

TEST_F(ClientTest, UnreachableIsTryAgainLater) {
  etcd_->Stop();
  auto c = NewClient();
  ASSERT_TRUE(c);
  auto r = c->Put("/x", "y");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), cni::Code::kTryAgainLater) << r.error().msg();
  EXPECT_NE(r.error().msg().find(etcd_->endpoint()), std::string::npos) << r.error().msg();
  ASSERT_TRUE(etcd_->Restart());
  EXPECT_TRUE(c->Put("/x", "y")) << "the same client recovers";
}

TEST_F(ClientTest, SecondEndpointUsedWhenFirstIsDown) {
  ClientOptions o = client_options();
  // Nothing listens on this port inside the test namespace.
  o.endpoints.insert(o.endpoints.begin(), "http://127.0.0.1:1");
  auto c = Client::Create(o);
  ASSERT_TRUE(c);
  EXPECT_TRUE((*c)->Put(UniquePrefix(), "v"));
}

// A TCP front for etcd on 127.0.0.1: the first connection it accepts is read from
// but never answered (a server that stopped answering on one connection); every
// later one is relayed to etcd.
class StallFirstProxy {
 public:
  explicit StallFirstProxy(int etcd_port) : etcd_port_(etcd_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 && listen(listen_fd_, 8) == 0 &&
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~StallFirstProxy() {
    stop_ = true;
    accept_.join();  // after it, nothing adds to workers_ or fds_
    for (auto& t : workers_) t.join();
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_; }

 private:
  bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 50) > 0;
  }
  void AcceptLoop() {
    while (!stop_) {
      if (!Readable(listen_fd_)) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      fds_.push_back(fd);
      if (accepted_++ == 0) {
        workers_.emplace_back([this, fd] { Drain(fd); });
        continue;
      }
      int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in e{};
      e.sin_family = AF_INET;
      e.sin_port = htons(static_cast<uint16_t>(etcd_port_));
      e.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      fds_.push_back(up);
      if (connect(up, reinterpret_cast<sockaddr*>(&e), sizeof e) != 0) continue;
      workers_.emplace_back([this, fd, up] { Relay(fd, up); });
    }
  }
  void Drain(int fd) {
    char buf[4096];
    while (!stop_) {
      if (Readable(fd) && read(fd, buf, sizeof buf) <= 0) return;
    }
  }
  void Relay(int a, int b) {
    char buf[16384];
    while (!stop_) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(p[i].fd, buf, sizeof buf);
        if (n <= 0 || write(p[1 - i].fd, buf, static_cast<size_t>(n)) != n) return;
      }
    }
  }

  int etcd_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_;
  std::vector<int> fds_;              // touched only by the accept thread until it ends
  std::vector<std::thread> workers_;  // likewise
};

// A request that timed out leaves nothing behind that the next one could wait on:
// the next request goes out on a new connection and gets its answer.
TEST_F(ClientTest, TimedOutRequestDoesNotStallTheNext) {
  const std::string ep = etcd_->endpoint();
  StallFirstProxy proxy(std::stoi(ep.substr(ep.rfind(':') + 1)));
  ClientOptions o = client_options();
  o.endpoints = {proxy.endpoint()};
  o.request_timeout = milliseconds(500);
  auto c = Client::Create(o);
  ASSERT_TRUE(c);
  const std::string key = UniquePrefix() + "/k";
  auto first = (*c)->Put(key, "v");
  ASSERT_FALSE(first) << "the first connection is never answered";
  EXPECT_EQ(first.error().code(), cni::Code::kTryAgainLater) << first.error().msg();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((*c)->Put(key, "v" + std::to_string(i)));
  EXPECT_EQ(proxy.accepted(), 2) << "one new connection, then reused";
}

// etcd with TLS and --client-cert-auth, certificates from TestPki.
class TlsClientTest : public EtcdTest {
 protected:
  testing::EtcdServerOptions server_options() const override {
    testing::EtcdServerOptions o;
    o.tls = true;
    return o;
  }
  const testing::TestPki& pki() { return **testing::TestPki::Get(); }
};

TEST_F(TlsClientTest, TrustedClientCertificateReadsWritesLeasesAndWatches) {
  ASSERT_EQ(etcd_->endpoint().rfind("https://", 0), 0u);
  auto c = NewClient();
  ASSERT_TRUE(c);
  const std::string p = UniquePrefix() + "/";
  auto w = Watch::Start(*c, p, PrefixRangeEnd(p), 0);
  ASSERT_TRUE(w) << w.error().msg();
  auto lease = c->Grant(30);
  ASSERT_TRUE(lease) << lease.error().msg();
  ASSERT_TRUE(c->Put(p + "a", "1", lease->id));
  auto got = c->Get(p + "a");
  ASSERT_TRUE(got) << got.error().msg();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->lease, lease->id);
  EXPECT_TRUE(c->KeepAlive(lease->id));
  auto evs = (*w)->Next(milliseconds(2000));
  ASSERT_TRUE(evs) << evs.error().msg();
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].kv.key, p + "a");
}

TEST_F(TlsClientTest, ClientCertificateFromAnotherCaIsRefusedWithReason) {
  ClientOptions o = client_options();
  o.cert_file = pki().rogue_cert;
  o.key_file = pki().rogue_key;
  auto c = Client::Create(o);
  ASSERT_TRUE(c) << c.error().msg();
  auto r = (*c)->Put(UniquePrefix(), "v");
  ASSERT_FALSE(r);
  // Not an outage to wait out: code 5, with OpenSSL's words and what to check.
  EXPECT_EQ(r.error().code(), cni::Code::kIoFailure) << r.error().msg();
  EXPECT_NE(r.error().msg().find("TLS failed"), std::string::npos) << r.error().msg();
  EXPECT_NE(r.error().msg().find("bad certificate"), std::string::npos) << r.error().msg();
  EXPECT_NE(r.error().msg().find("--etcd-certfile"), std::string::npos) << r.error().msg();
  auto w = Watch::Start(o, "/w", "", 0);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), cni::Code::kIoFailure) << w.error().msg();
}

TEST_F(TlsClientTest, ServerNotSignedByOurCaIsRefusedWithReason) {
  ClientOptions o = client_options();
  o.ca_file = pki().other_ca;
  // A second endpoint that is down must not hide the reason behind "unreachable".
  o.endpoints.push_back("https://127.0.0.1:1");
  auto c = Client::Create(o);
  ASSERT_TRUE(c) << c.error().msg();
  auto r = (*c)->Put(UniquePrefix(), "v");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), cni::Code::kIoFailure) << r.error().msg();
  EXPECT_NE(r.error().msg().find("SSL certificate problem"), std::string::npos) << r.error().msg();
  EXPECT_NE(r.error().msg().find("--etcd-cafile"), std::string::npos) << r.error().msg();
}

constexpr const char* kLinenPassword = "linen-secret";

// etcd with auth enabled: root, and user "linen" limited to one prefix.
class AuthClientTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    if (HasFatalFailure()) return;
    prefix_ = UniquePrefix() + "/";
    auto s = etcd_->EnableAuth("linen", kLinenPassword, prefix_);
    ASSERT_TRUE(s) << s.error().msg();
  }
  std::unique_ptr<Client> Linen(const std::string& password = kLinenPassword) {
    ClientOptions o = client_options();
    o.username = "linen";
    o.password = password;
    auto c = Client::Create(o);
    EXPECT_TRUE(c) << c.error().msg();
    return c ? *std::move(c) : nullptr;
  }
  // Waits until etcd has dropped `token` for disuse (bounded; readiness of etcd's
  // 1 s token sweeper, not a timing assertion).
  bool WaitExpired(const std::string& token) {
    for (int i = 0; i < 100; ++i) {
      if (etcd_->LogHas({"deleted a simple token", token})) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }
  std::string prefix_;
};

TEST_F(AuthClientTest, PrefixLimitedUserWorksInsideItsPrefixOnly) {
  auto c = Linen();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Put(prefix_ + "a", "1")) << "inside its prefix";
  auto lease = c->Grant(30);
  ASSERT_TRUE(lease) << lease.error().msg();
  auto r = c->Range(prefix_, PrefixRangeEnd(prefix_));
  ASSERT_TRUE(r) << r.error().msg();
  EXPECT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(c->logins(), 1) << "one login serves every request while the token lives";

  auto outside = c->Put("/elsewhere", "x");
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code(), cni::Code::kIoFailure) << outside.error().msg();
  EXPECT_NE(outside.error().msg().find("permission denied"), std::string::npos)
      << outside.error().msg();

  ClientOptions anonymous = client_options();
  anonymous.username.clear();
  anonymous.password.clear();
  auto anon = Client::Create(anonymous);
  ASSERT_TRUE(anon);
  auto refused = (*anon)->Put(prefix_ + "a", "2");
  ASSERT_FALSE(refused) << "auth is on: no login, no access";
  EXPECT_NE(refused.error().msg().find("user name is empty"), std::string::npos)
      << refused.error().msg();
}

TEST_F(AuthClientTest, WrongPasswordIsRefusedWithReason) {
  auto c = Linen("not-the-password");
  ASSERT_TRUE(c);
  auto r = c->Put(prefix_ + "a", "1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), cni::Code::kIoFailure) << "not an outage: " << r.error().msg();
  EXPECT_NE(r.error().msg().find("login as user \"linen\""), std::string::npos) << r.error().msg();
  EXPECT_NE(r.error().msg().find("invalid user ID or password"), std::string::npos)
      << r.error().msg();
  EXPECT_EQ(r.error().msg().find("not-the-password"), std::string::npos) << "no password in logs";
  auto w = Watch::Start(*c, prefix_, PrefixRangeEnd(prefix_), 0);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), cni::Code::kIoFailure) << w.error().msg();
}

// Unused tokens live 1 s, and etcd logs each one it drops (info level), which the
// test waits for.
class ShortTokenTest : public AuthClientTest {
 protected:
  testing::EtcdServerOptions server_options() const override {
    testing::EtcdServerOptions o;
    o.auth_token_ttl = 1;
    o.log_level = "info";
    return o;
  }
};

TEST_F(ShortTokenTest, ExpiredTokenIsRenewedAndNoWatchEventIsLost) {
  // Two logins whose tokens expire together: c watches, u makes unary requests.
  auto c = Linen();
  auto u = Linen();
  ASSERT_TRUE(c && u);
  auto r1 = c->Put(prefix_ + "a", "1");
  ASSERT_TRUE(r1) << r1.error().msg();
  ASSERT_TRUE(u->Get(prefix_ + "a"));
  auto live = Watch::Start(*c, prefix_, PrefixRangeEnd(prefix_), *r1 + 1);
  ASSERT_TRUE(live) << live.error().msg();
  auto c_token = c->Token();
  auto u_token = u->Token();
  ASSERT_TRUE(c_token && u_token);
  ASSERT_TRUE(WaitExpired(*c_token) && WaitExpired(*u_token)) << "etcd never dropped the tokens";

  // Changes made while c's token is gone, by another login.
  auto writer = Linen();
  ASSERT_TRUE(writer->Put(prefix_ + "b", "2"));
  ASSERT_TRUE(writer->Put(prefix_ + "c", "3"));

  auto keys = [](const std::vector<WatchEvent>& evs) {
    std::string s;
    for (const auto& e : evs) s += e.kv.key.substr(e.kv.key.size() - 1);
    return s;
  };
  auto next_two = [](Watch& w) {
    std::vector<WatchEvent> got;
    for (int i = 0; i < 20 && got.size() < 2; ++i) {
      auto evs = w.Next(milliseconds(200));
      EXPECT_TRUE(evs) << evs.error().msg();
      if (!evs) break;
      got.insert(got.end(), evs->begin(), evs->end());
    }
    return got;
  };
  // The stream opened with the old token keeps delivering.
  EXPECT_EQ(keys(next_two(**live)), "bc");

  // A watch (re)started with the expired token: a new login, then the same start
  // revision, so the changes made meanwhile arrive from history.
  auto again = Watch::Start(*c, prefix_, PrefixRangeEnd(prefix_), *r1 + 1);
  ASSERT_TRUE(again) << again.error().msg();
  EXPECT_EQ(c->logins(), 2);
  EXPECT_EQ(keys(next_two(**again)), "bc") << "no event lost across the token expiry";

  // A unary request with an expired token: logs in again and succeeds.
  auto all = u->Range(prefix_, PrefixRangeEnd(prefix_));
  ASSERT_TRUE(all) << all.error().msg();
  EXPECT_EQ(all->kvs.size(), 3u);
  EXPECT_EQ(u->logins(), 2);
}

TEST(ClientOptionsTest, TlsAndAuthOptionsChecked) {
  ClientOptions o;
  o.endpoints = {"https://127.0.0.1:2379"};
  o.ca_file = "/nonexistent/ca.pem";
  auto missing = Client::Create(o);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), cni::Code::kInvalidNetworkConfig);
  EXPECT_NE(missing.error().msg().find("--etcd-cafile /nonexistent/ca.pem"), std::string::npos)
      << missing.error().msg();

  o.ca_file.clear();
  o.cert_file = "/etc/hostname";
  auto half = Client::Create(o);
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().msg().find("--etcd-keyfile"), std::string::npos) << half.error().msg();

  o.cert_file.clear();
  o.password = "secret";
  auto nouser = Client::Create(o);
  ASSERT_FALSE(nouser);
  EXPECT_NE(nouser.error().msg().find("user name"), std::string::npos) << nouser.error().msg();
}

TEST(ClientOptionsTest, BadEndpointsRefused) {
  ClientOptions o;
  auto none = Client::Create(o);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), cni::Code::kInvalidNetworkConfig);
  o.endpoints = {"127.0.0.1:2379"};
  auto scheme = Client::Create(o);
  ASSERT_FALSE(scheme);
  EXPECT_NE(scheme.error().msg().find("http://"), std::string::npos);
}

TEST(PrefixRangeEndTest, IncrementsLastByte) {
  EXPECT_EQ(PrefixRangeEnd("/a/"), "/a0");
  EXPECT_EQ(PrefixRangeEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixRangeEnd(std::string("\xff", 1)), std::string(1, '\0'));
}

}  // namespace
}  // namespace linen::etcd
