#include "bench/driver/tcp_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "bench/driver/proc.h"

namespace linen::bench {
namespace {

bool WriteFull(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadFull(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

cni::Result<sockaddr_in> Addr(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
    return cni::Error(cni::Code::kInternal, "not an IPv4 address: " + ip);
  }
  return a;
}

void ClosePair(int p[2]) {
  if (p[0] >= 0) close(p[0]);
  if (p[1] >= 0) close(p[1]);
}

volatile sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }

// The server child: never returns. Exit codes: 0 reported, 1 setup failed.
[[noreturn]] void ServeUntilStopped(int ns_fd, const sockaddr_in& addr, in_addr_t expect,
                                    int ready_fd, int result_fd) {
  // SIGUSR1 stays blocked except inside ppoll(), so a stop can never slip in between
  // the flag check and the wait. Blocked before "ready": the parent only stops a
  // server that said it listens.
  sigset_t block, during_wait;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &block, &during_wait) < 0) _exit(1);
  sigdelset(&during_wait, SIGUSR1);
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR1, &sa, nullptr) < 0) _exit(1);
  if (setns(ns_fd, CLONE_NEWNET) < 0) _exit(1);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(lfd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0 ||
      listen(lfd, 4096) < 0) {
    _exit(1);
  }
  char ok = 1;
  if (!WriteFull(ready_fd, &ok, 1)) _exit(1);
  close(ready_fd);
  ServerCounts c;
  pollfd fds[1] = {{lfd, POLLIN, 0}};
  for (;;) {
    if (ppoll(fds, 1, nullptr, &during_wait) < 0 && errno != EINTR) _exit(1);
    // Drain the accept queue before looking at the stop flag, so the counts cover
    // every connection the client finished.
    for (;;) {
      sockaddr_in peer{};
      socklen_t len = sizeof(peer);
      int fd = accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (fd < 0) break;
      ++c.accepted;
      if (peer.sin_addr.s_addr != expect) ++c.unexpected_peer;
      close(fd);
    }
    if (g_stop) break;
  }
  _exit(WriteFull(result_fd, &c, sizeof(c)) ? 0 : 1);
}

}  // namespace

cni::Result<AcceptServer> AcceptServer::Start(const cni::NetNs& ns, const std::string& ip,
                                              uint16_t port, const std::string& expect_peer) {
  auto addr = Addr(ip, port);
  if (!addr) return addr.error();
  auto peer = Addr(expect_peer, 0);
  if (!peer) return peer.error();
  int ready[2] = {-1, -1}, result[2] = {-1, -1};
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0) {
    int e = errno;
    ClosePair(ready), ClosePair(result);
    return cni::ErrnoError("pipe", e);
  }
  // The driver is single-threaded, so the forked child may run ordinary code.
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    ClosePair(ready), ClosePair(result);
    return cni::ErrnoError("fork", e);
  }
  if (pid == 0) {
    close(ready[0]), close(result[0]);
    ServeUntilStopped(ns.fd(), *addr, peer->sin_addr.s_addr, ready[1], result[1]);
  }
  close(ready[1]), close(result[1]);
  AcceptServer s;
  s.pid_ = pid;
  s.result_fd_ = result[0];
  // Blocks until the child listens, or sees EOF when it died setting up.
  char ok = 0;
  bool listening = ReadFull(ready[0], &ok, 1);
  close(ready[0]);
  if (!listening) {
    return cni::Error(cni::Code::kInternal, "TCP server on " + ip + ":" +
                                                std::to_string(port) + " did not start");
  }
  return s;
}

AcceptServer::AcceptServer(AcceptServer&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      result_fd_(std::exchange(o.result_fd_, -1)) {}

AcceptServer::~AcceptServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (result_fd_ >= 0) close(result_fd_);
}

cni::Result<ServerCounts> AcceptServer::Stop() {
  if (kill(pid_, SIGUSR1) < 0) return cni::ErrnoError("stop TCP server", errno);
  ServerCounts c;
  bool got = ReadFull(result_fd_, &c, sizeof(c));
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (!got) return cni::Error(cni::Code::kInternal, "TCP server ended without its counts");
  return c;
}

cni::Result<ClientCounts> ConnectLoop(const cni::NetNs& ns, const std::string& ip,
                                      uint16_t port, double seconds, long max_conns) {
  auto addr = Addr(ip, port);
  if (!addr) return addr.error();
  int result[2];
  if (pipe2(result, O_CLOEXEC) < 0) return cni::ErrnoError("pipe", errno);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    ClosePair(result);
    return cni::ErrnoError("fork", e);
  }
  if (pid == 0) {
    close(result[0]);
    if (setns(ns.fd(), CLONE_NEWNET) < 0) _exit(1);
    ClientCounts c;
    // SO_LINGER 0: close() sends a RST instead of a FIN, so no TIME_WAIT is left on
    // either side and the pod's ephemeral ports are free again at once; on the node,
    // conntrack moves the entry to CLOSE (10 s) rather than TIME_WAIT (120 s), which
    // keeps the table and masquerade's port choice as small as the loop allows.
    // What is measured is then the new-connection path (SYN through the bridge,
    // forward, conntrack, masquerade; SYN-ACK back through de-NAT) and not port or
    // TIME_WAIT exhaustion.
    linger lg{1, 0};
    // A connect that has not completed after 3 s counts as failed (it then returns
    // EINPROGRESS). 3 s and not less: on a loaded machine the server can fall behind
    // and its full accept queue drops a handshake; the client's one SYN retransmit
    // (after 1 s) then still lands inside the limit, so only a path that really
    // loses connections shows up as failures.
    timeval to{3, 0};
    const double t0 = NowNs(), deadline = t0 + seconds * 1e9;
    double now = t0;
    while (now < deadline && (max_conns == 0 || c.ok + c.failed < max_conns)) {
      const double start = now;
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) _exit(1);
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof(to));
      if (connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) == 0) {
        ++c.ok;
      } else {
        if (c.failed++ == 0) c.first_errno = errno;
      }
      close(fd);
      now = NowNs();
      if (now - start >= 1e9) ++c.slow;
    }
    c.seconds = (now - t0) / 1e9;
    _exit(WriteFull(result[1], &c, sizeof(c)) ? 0 : 1);
  }
  close(result[1]);
  ClientCounts c;
  bool got = ReadFull(result[0], &c, sizeof(c));
  close(result[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!got) return cni::Error(cni::Code::kInternal, "TCP client ended without its counts");
  return c;
}

}  // namespace linen::bench
