// A tiny HTTP/1.0 responder for /healthz, /readyz and /metrics: plain sockets, one
// thread, one request per connection, GET/HEAD only. Meant for a local address
// (127.0.0.1 or the node IP); it is not a general web server.
//
// The thread poll()s the listening socket and every open connection (all
// non-blocking), so a client that connects and sends nothing, or half a request,
// never delays another client's answer (kubelet probes must not fail because a
// scraper stalled). Each connection has a deadline (idle_timeout to send its request,
// idle_timeout again to take the answer); at max_connections the oldest connection
// still sending its request is dropped to make room, so idle clients cannot lock
// probes out either.
#ifndef LINEN_AGENT_HTTP_SERVER_H_
#define LINEN_AGENT_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "libcni/error.h"
#include "netns/netns.h"

namespace linen::agent {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on the server thread with the request path (query string stripped). It
// must be quick: every other connection waits while it runs.
using HttpHandler = std::function<HttpResponse(const std::string& path)>;

struct HttpServerOptions {
  std::chrono::milliseconds idle_timeout{10000};
  size_t max_connections = 64;
};

class HttpServer {
 public:
  // Binds "host:port" (IPv4 or [IPv6]; port 0 picks a free one) and starts serving.
  static cni::Result<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                        HttpHandler handler,
                                                        HttpServerOptions options = {});
  ~HttpServer();  // stops the thread and closes every socket
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  HttpServer(cni::UniqueFd listen_fd, cni::UniqueFd stop_fd, int port, HttpHandler handler,
             HttpServerOptions options);
  void Serve();

  cni::UniqueFd listen_fd_;
  cni::UniqueFd stop_fd_;  // eventfd: written by the destructor
  int port_;
  HttpHandler handler_;
  HttpServerOptions options_;
  std::thread thread_;
};

}  // namespace linen::agent

#endif  // LINEN_AGENT_HTTP_SERVER_H_
