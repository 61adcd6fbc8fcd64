#include "agent/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include <gtest/gtest.h>

#include "test/support/test_support.h"

namespace linen::agent {
namespace {

// A TCP connection to the server on loopback, left open for the caller.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True while the server has neither answered nor closed `fd` (nothing to read, no
// hang-up); looked at without waiting.
bool StillOpenAndSilent(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

// Everything the server sends until it closes (bounded: 10 s per read).
std::string ReadToClose(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return out + "<no close from server>";
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// A raw HTTP exchange over loopback of the test's own namespace (nothing leaves it).
std::string Exchange(int port, const std::string& request) {
  int fd = Connect(port);
  if (fd < 0) return "connect failed";
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(HttpServer, ServesHandlerAndRejectsOthers) {
  // Loopback of a namespace of our own: the host's network is never touched.
  auto ns = linen::test::TempNetns::Create("http");
  ASSERT_TRUE(ns) << ns.error().msg();
  auto inside = cni::ScopedNetnsSwitch::Enter(ns->ns());
  ASSERT_TRUE(inside) << inside.error().msg();
  auto srv = HttpServer::Start("127.0.0.1:0", [](const std::string& path) -> HttpResponse {
    if (path == "/healthz") return {200, "text/plain", "ok\n"};
    return {404, "text/plain", "nope\n"};
  });
  ASSERT_TRUE(srv) << srv.error().msg();
  int port = (*srv)->port();
  ASSERT_GT(port, 0);

  std::string ok = Exchange(port, "GET /healthz?x=1 HTTP/1.0\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Length: 3\r\n"), std::string::npos) << ok;
  EXPECT_EQ(ok.substr(ok.size() - 3), "ok\n");

  std::string missing = Exchange(port, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(missing.rfind("HTTP/1.0 404", 0), 0u) << missing;

  std::string post = Exchange(port, "POST /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.0 405", 0), 0u) << post;

  std::string head = Exchange(port, "HEAD /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.0 200", 0), 0u);
  EXPECT_EQ(head.find("ok\n"), std::string::npos) << "HEAD has no body";
}

struct InNetns {
  InNetns() {
    auto created = linen::test::TempNetns::Create("http");
    EXPECT_TRUE(created) << created.error().msg();
    if (!created) return;
    ns.emplace(std::move(*created));
    auto in = cni::ScopedNetnsSwitch::Enter(ns->ns());
    EXPECT_TRUE(in) << in.error().msg();
    if (in) inside.emplace(std::move(*in));
  }
  std::optional<linen::test::TempNetns> ns;
  std::optional<cni::ScopedNetnsSwitch> inside;
};

HttpResponse Ok(const std::string&) { return {200, "text/plain", "ok\n"}; }

// One client holding an idle connection, another half-way through its request: a
// third client's GET is answered meanwhile, and neither of the first two is dropped.
// (The old server read one connection at a time with a 1 s timeout, so it closed the
// idle client before it looked at anyone else.)
TEST(HttpServer, IdleAndHalfSentClientsDoNotBlockOthers) {
  InNetns n;
  ASSERT_TRUE(n.inside);
  auto srv = HttpServer::Start("127.0.0.1:0", Ok);
  ASSERT_TRUE(srv) << srv.error().msg();
  int port = (*srv)->port();
  int idle = Connect(port);
  int half = Connect(port);
  ASSERT_GE(idle, 0);
  ASSERT_GE(half, 0);
  const std::string start = "GET /healthz HTTP/1.0\r\n";
  ASSERT_EQ(write(half, start.data(), start.size()), static_cast<ssize_t>(start.size()));

  for (int k = 0; k < 3; ++k) {
    std::string got = Exchange(port, "GET /healthz HTTP/1.0\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << got;
  }
  EXPECT_TRUE(StillOpenAndSilent(idle)) << "the idle client was dropped";
  EXPECT_TRUE(StillOpenAndSilent(half)) << "the half-sent request was dropped";

  // The half-sent request, completed, is still answered.
  ASSERT_EQ(write(half, "\r\n", 2), 2);
  std::string rest = ReadToClose(half);
  EXPECT_EQ(rest.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << rest;
  close(half);
  close(idle);
}

// Idle connections do not live forever: the server closes them after its idle timeout.
TEST(HttpServer, ClosesIdleConnections) {
  InNetns n;
  ASSERT_TRUE(n.inside);
  HttpServerOptions opts;
  opts.idle_timeout = std::chrono::milliseconds(100);
  auto srv = HttpServer::Start("127.0.0.1:0", Ok, opts);
  ASSERT_TRUE(srv) << srv.error().msg();
  int idle = Connect((*srv)->port());
  ASSERT_GE(idle, 0);
  // Closed without an answer (ReadToClose gives up after 10 s).
  EXPECT_EQ(ReadToClose(idle), "");
  close(idle);
  // And the server is still there for the next client.
  std::string got = Exchange((*srv)->port(), "GET /x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.0 200", 0), 0u) << got;
}

// At the connection cap the oldest idle client makes room: a flood of idle
// connections cannot lock a probe out.
TEST(HttpServer, CapDropsOldestIdleConnection) {
  InNetns n;
  ASSERT_TRUE(n.inside);
  HttpServerOptions opts;
  opts.max_connections = 2;
  auto srv = HttpServer::Start("127.0.0.1:0", Ok, opts);
  ASSERT_TRUE(srv) << srv.error().msg();
  int port = (*srv)->port();
  int a = Connect(port);
  int b = Connect(port);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::string got = Exchange(port, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.0 200", 0), 0u) << got;
  EXPECT_EQ(ReadToClose(a), "") << "the oldest idle connection makes room";
  EXPECT_TRUE(StillOpenAndSilent(b)) << "only the oldest one";
  close(a);
  close(b);
}

TEST(HttpServer, BadAddresses) {
  auto ns = linen::test::TempNetns::Create("http");
  ASSERT_TRUE(ns) << ns.error().msg();
  auto inside = cni::ScopedNetnsSwitch::Enter(ns->ns());
  ASSERT_TRUE(inside) << inside.error().msg();
  auto h = [](const std::string&) { return HttpResponse{}; };
  EXPECT_FALSE(HttpServer::Start("localhost", h));
  EXPECT_FALSE(HttpServer::Start("example.com:80", h));
  EXPECT_FALSE(HttpServer::Start("127.0.0.1:99999", h));
}

}  // namespace
}  // namespace linen::agent
