// New TCP connections per second through a node: a server that accepts and closes,
// and a client that connects and closes in a loop, each a forked copy of the driver
// that setns()es into its namespace (no exec: nothing to install, and the rate is
// not the cost of some tool's own bookkeeping).
#ifndef LINEN_BENCH_DRIVER_TCP_LOAD_H_
#define LINEN_BENCH_DRIVER_TCP_LOAD_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "libcni/error.h"
#include "netns/netns.h"

namespace linen::bench {

struct ServerCounts {
  long accepted = 0;
  // Accepted connections whose peer was not `expect_peer`: traffic that reached the
  // outside world with a pod address, i.e. was not masqueraded.
  long unexpected_peer = 0;
};

// Listens on ip:port inside `ns`, accepts and closes every connection until Stop().
// Start() returns once the socket listens (the child says so through a pipe). Stop()
// is a signal (SIGUSR1), not a pipe the parent closes: every child forked later (a
// second server, the clients) would inherit that pipe's write end and keep it open.
class AcceptServer {
 public:
  static cni::Result<AcceptServer> Start(const cni::NetNs& ns, const std::string& ip,
                                         uint16_t port, const std::string& expect_peer);
  AcceptServer(AcceptServer&& o) noexcept;
  AcceptServer& operator=(AcceptServer&&) = delete;
  ~AcceptServer();  // kills and reaps a server nobody stopped
  cni::Result<ServerCounts> Stop();

 private:
  AcceptServer() = default;
  pid_t pid_ = -1;
  int result_fd_ = -1;  // the server writes its ServerCounts here
};

struct ClientCounts {
  long ok = 0;
  long failed = 0;
  int first_errno = 0;  // of the first failed connect
  // Connects that took 1 s or more: a SYN (or SYN-ACK) was lost and retransmitted.
  // Rare stalls like these cost a round far more than a slower path does.
  long slow = 0;
  double seconds = 0;   // measured by the client: first socket() to last close()
  double per_second() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

// connect() + close() to ip:port from inside `ns`, one connection at a time, until
// `seconds` have passed or `max_conns` connections were made (0 = no limit).
cni::Result<ClientCounts> ConnectLoop(const cni::NetNs& ns, const std::string& ip,
                                      uint16_t port, double seconds, long max_conns);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_TCP_LOAD_H_
