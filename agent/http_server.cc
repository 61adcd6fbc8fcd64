#include "agent/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace linen::agent {
namespace {

constexpr size_t kMaxRequest = 8192;
constexpr int kIoTimeoutMs = 1000;  // a slow client must not stall the agent's endpoint

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// Splits "host:port" / "[v6]:port".
bool SplitHostPort(const std::string& addr, std::string* host, int* port) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  *host = addr.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  try {
    size_t used = 0;
    *port = std::stoi(addr.substr(colon + 1), &used);
    return used == addr.size() - colon - 1 && *port >= 0 && *port <= 65535;
  } catch (...) {
    return false;
  }
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, kIoTimeoutMs) <= 0) return false;
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

cni::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                           HttpHandler handler) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(address, &host, &port)) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "metrics address \"" + address + "\": want host:port");
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v6);
  } else {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "metrics address \"" + address + "\": host must be an IP address");
  }
  cni::UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return cni::ErrnoError("metrics socket", errno);
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return cni::ErrnoError("bind metrics address " + address, errno);
  }
  if (listen(fd.get(), 16) != 0) return cni::ErrnoError("listen on " + address, errno);
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  int real_port = family == AF_INET
                      ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                      : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  cni::UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop) return cni::ErrnoError("metrics eventfd", errno);
  std::unique_ptr<HttpServer> s(
      new HttpServer(std::move(fd), std::move(stop), real_port, std::move(handler)));
  s->thread_ = std::thread([p = s.get()] { p->Serve(); });
  return s;
}

HttpServer::HttpServer(cni::UniqueFd listen_fd, cni::UniqueFd stop_fd, int port,
                       HttpHandler handler)
    : listen_fd_(std::move(listen_fd)),
      stop_fd_(std::move(stop_fd)),
      port_(port),
      handler_(std::move(handler)) {}

HttpServer::~HttpServer() {
  uint64_t one = 1;
  (void)!write(stop_fd_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    cni::UniqueFd conn(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn) continue;
    HandleConnection(conn.get());
  }
}

void HttpServer::HandleConnection(int fd) {
  std::string req;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kIoTimeoutMs);
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || req.size() > kMaxRequest) return;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    char buf[1024];
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;
    req.append(buf, static_cast<size_t>(got));
  }
  HttpResponse resp;
  std::string line = req.substr(0, req.find_first_of("\r\n"));
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos) {
    resp = {400, "text/plain; charset=utf-8", "bad request\n"};
  } else if (line.substr(0, sp1) != "GET" && line.substr(0, sp1) != "HEAD") {
    resp = {405, "text/plain; charset=utf-8", "only GET\n"};
  } else {
    std::string path = line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos
                                                                      : sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    resp = handler_(path);
  }
  std::string out = "HTTP/1.0 " + std::to_string(resp.status) + " " + Reason(resp.status) +
                    "\r\nContent-Type: " + resp.content_type +
                    "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  if (line.rfind("HEAD", 0) != 0) out += resp.body;
  WriteAll(fd, out);
}

}  // namespace linen::agent
