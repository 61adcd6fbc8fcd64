// A tiny HTTP/1.0 responder for /healthz and /metrics: plain sockets, one thread,
// one request per connection, GET only. Meant for a local address (127.0.0.1 or the
// node IP); it is not a general web server.
#ifndef LINEN_AGENT_HTTP_SERVER_H_
#define LINEN_AGENT_HTTP_SERVER_H_

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

// Called on the server thread with the request path (query string stripped).
using HttpHandler = std::function<HttpResponse(const std::string& path)>;

class HttpServer {
 public:
  // Binds "host:port" (IPv4 or [IPv6]; port 0 picks a free one) and starts serving.
  static cni::Result<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                        HttpHandler handler);
  ~HttpServer();  // stops the thread and closes the socket
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  HttpServer(cni::UniqueFd listen_fd, cni::UniqueFd stop_fd, int port, HttpHandler handler);
  void Serve();
  void HandleConnection(int fd);

  cni::UniqueFd listen_fd_;
  cni::UniqueFd stop_fd_;  // eventfd: written by the destructor
  int port_;
  HttpHandler handler_;
  std::thread thread_;
};

}  // namespace linen::agent

#endif  // LINEN_AGENT_HTTP_SERVER_H_
