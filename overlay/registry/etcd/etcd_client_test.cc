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
