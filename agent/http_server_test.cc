#include "agent/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test/support/test_support.h"

namespace linen::agent {
namespace {

// A raw HTTP exchange over loopback of the test's own namespace (nothing leaves it).
std::string Exchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return "connect failed";
  }
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
