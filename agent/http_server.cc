#include "agent/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <vector>

namespace linen::agent {
namespace {

constexpr size_t kMaxRequest = 8192;

using Clock = std::chrono::steady_clock;

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

std::string Render(const HttpResponse& resp, bool with_body) {
  std::string out = "HTTP/1.0 " + std::to_string(resp.status) + " " + Reason(resp.status) +
                    "\r\nContent-Type: " + resp.content_type +
                    "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  if (with_body) out += resp.body;
  return out;
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

}  // namespace

cni::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                           HttpHandler handler,
                                                           HttpServerOptions options) {
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
  if (listen(fd.get(), 64) != 0) return cni::ErrnoError("listen on " + address, errno);
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  int real_port = family == AF_INET
                      ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                      : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  cni::UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop) return cni::ErrnoError("metrics eventfd", errno);
  std::unique_ptr<HttpServer> s(
      new HttpServer(std::move(fd), std::move(stop), real_port, std::move(handler), options));
  s->thread_ = std::thread([p = s.get()] { p->Serve(); });
  return s;
}

HttpServer::HttpServer(cni::UniqueFd listen_fd, cni::UniqueFd stop_fd, int port,
                       HttpHandler handler, HttpServerOptions options)
    : listen_fd_(std::move(listen_fd)),
      stop_fd_(std::move(stop_fd)),
      port_(port),
      handler_(std::move(handler)),
      options_(options) {
  if (options_.max_connections == 0) options_.max_connections = 1;
}

HttpServer::~HttpServer() {
  uint64_t one = 1;
  (void)!write(stop_fd_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

namespace {

struct Conn {
  cni::UniqueFd fd;
  std::string in;
  std::string out;  // the answer, once the request is complete
  size_t sent = 0;
  bool answering = false;
  Clock::time_point deadline;
};

bool RequestComplete(const std::string& req) {
  return req.find("\r\n\r\n") != std::string::npos || req.find("\n\n") != std::string::npos;
}

// Sends what the socket takes now. False: done or failed (close it).
bool SendSome(Conn& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    c.sent += static_cast<size_t>(n);
  }
  return false;
}

std::string Respond(const std::string& req, const HttpHandler& handler) {
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
    resp = handler(path);
  }
  return Render(resp, line.rfind("HEAD", 0) != 0);
}

// Reads what arrived (or sends more of the answer). False: close the connection.
bool Progress(Conn& c, Clock::time_point now, const HttpServerOptions& options,
              const HttpHandler& handler) {
  if (c.answering) return SendSome(c);
  bool eof = false;
  for (;;) {
    char buf[1024];
    ssize_t got = recv(c.fd.get(), buf, sizeof(buf), 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    if (got == 0) {
      eof = true;
      break;
    }
    c.in.append(buf, static_cast<size_t>(got));
    if (c.in.size() > kMaxRequest) break;
  }
  if (c.in.size() > kMaxRequest) {
    c.out = Render({400, "text/plain; charset=utf-8", "request too large\n"}, true);
  } else if (RequestComplete(c.in) || (eof && !c.in.empty())) {
    // A client that shut its side after a cut-off request still gets an answer.
    c.out = Respond(c.in, handler);
  } else {
    return !eof;
  }
  c.answering = true;
  c.deadline = now + options.idle_timeout;
  return SendSome(c);
}

}  // namespace

void HttpServer::Serve() {
  std::list<Conn> conns;  // in accept order: the front is the oldest
  std::vector<pollfd> fds;
  for (;;) {
    auto now = Clock::now();
    conns.remove_if([&](const Conn& c) { return c.deadline <= now; });
    fds.clear();
    fds.push_back({stop_fd_.get(), POLLIN, 0});
    fds.push_back({listen_fd_.get(), POLLIN, 0});
    int timeout = -1;
    for (const Conn& c : conns) {
      fds.push_back({c.fd.get(), static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
      auto left = std::chrono::ceil<std::chrono::milliseconds>(c.deadline - now).count();
      int ms = static_cast<int>(std::min<int64_t>(left, 60000));
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents != 0) return;
    now = Clock::now();
    size_t i = 2;
    for (auto it = conns.begin(); it != conns.end(); ++i) {
      bool keep = fds[i].revents == 0 || Progress(*it, now, options_, handler_);
      it = keep ? std::next(it) : conns.erase(it);
    }
    if ((fds[1].revents & POLLIN) == 0) continue;
    for (;;) {
      cni::UniqueFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!fd) break;
      if (conns.size() >= options_.max_connections) {
        // Make room by dropping the oldest client that has not sent its request yet;
        // if every slot is taking its answer, the newcomer is closed instead.
        auto oldest = std::find_if(conns.begin(), conns.end(),
                                   [](const Conn& c) { return !c.answering; });
        if (oldest == conns.end()) continue;  // `fd` closes
        conns.erase(oldest);
      }
      Conn c;
      c.fd = std::move(fd);
      c.deadline = now + options_.idle_timeout;
      conns.push_back(std::move(c));
    }
  }
}

}  // namespace linen::agent
