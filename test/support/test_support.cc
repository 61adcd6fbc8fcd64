#include "test/support/test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "libcni/netlink/handle.h"

extern char** environ;

namespace linen::test {

cni::IpAddr Ip(std::string_view text) {
  auto a = cni::IpAddr::Parse(text);
  if (!a) std::abort();
  return *a;
}

cni::IpNet Net(std::string_view text) {
  auto n = cni::IpNet::Parse(text);
  if (!n) std::abort();
  return *n;
}

std::string UniqueName(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  // pid in hex (at most 6 digits for pid_max 4194304) + a fixed-width 3-digit
  // hex counter, so no two (pid, counter) pairs print alike; with a prefix of at
  // most 5 bytes that stays within IFNAMSIZ-1 = 15 bytes. The counter wraps
  // after 4096 names per process.
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%x%03x", static_cast<unsigned>(getpid()),
                counter.fetch_add(1) & 0xfff);
  std::string name(prefix);
  name += buf;
  if (name.size() > 15) name.erase(0, name.size() - 15);  // keep the unique tail
  return name;
}

// A fresh namespace's loopback is down; tests and pods expect it up.
static cni::Status LoopbackUp(const cni::NetNs& ns, const std::string& name) {
  auto h = cni::nl::Handle::OpenIn(ns);
  if (!h) return h.error().Context("temp netns " + name);
  auto lo = h->LinkByName("lo");
  if (!lo) return lo.error().Context("temp netns " + name);
  if (auto s = h->SetUp(lo->index); !s) return s.error().Context("temp netns " + name);
  return cni::OkStatus();
}

cni::Result<TempNetns> TempNetns::Create(std::string_view prefix) {
  std::string name = UniqueName(prefix);
  auto ns = cni::CreateNamedNetns(name);
  if (!ns) return ns.error();
  TempNetns tmp(name, std::move(*ns));  // from here on the destructor cleans up
  if (auto s = LoopbackUp(tmp.ns(), name); !s) return s.error();
  return tmp;
}

TempNetns::TempNetns(TempNetns&& o) noexcept
    : name_(std::exchange(o.name_, std::string())), ns_(std::move(o.ns_)) {}

TempNetns::~TempNetns() {
  if (name_.empty()) return;  // moved from
  (void)cni::DeleteNamedNetns(name_);
}

std::string TempNetns::path() const { return cni::NamedNetnsPath(name_); }

cni::Result<UnheldNetns> UnheldNetns::Create(std::string_view prefix) {
  std::string name = UniqueName(prefix);
  auto ns = cni::CreateNamedNetns(name);
  if (!ns) return ns.error();
  UnheldNetns out(name);  // from here on the destructor cleans up
  if (auto s = LoopbackUp(*ns, name); !s) return s.error();
  return out;  // the descriptor closes here
}

UnheldNetns::UnheldNetns(UnheldNetns&& o) noexcept : name_(std::exchange(o.name_, std::string())) {}

UnheldNetns::~UnheldNetns() {
  if (name_.empty()) return;  // moved from
  (void)cni::DeleteNamedNetns(name_);
}

std::string UnheldNetns::path() const { return cni::NamedNetnsPath(name_); }

TempDir::TempDir(const std::string& parent) {
  std::string tmpl = parent + "/linen-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp in " + parent + ": " + std::strerror(errno));
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

// Builds "K=V" strings: this process's environment with `extra` merged over it.
std::vector<std::string> MergedEnv(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    all[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  out.reserve(all.size());
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

ProcResult Run(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env, std::string_view stdin_data) {
  ProcResult res;
  if (argv.empty()) {
    res.exit_code = 127;
    res.err = "Run: empty argv";
    return res;
  }
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    res.exit_code = 127;
    res.err = std::string("pipe: ") + std::strerror(errno);
    return res;
  }
  // Everything the child needs is prepared before fork: after fork in a
  // possibly multithreaded parent only async-signal-safe calls are allowed.
  std::vector<std::string> env_strs = MergedEnv(env);
  std::vector<char*> envp;
  for (auto& s : env_strs) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    execve(argp[0], argp.data(), envp.data());
    const char msg[] = "Run: execve failed\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    res.exit_code = 127;
    res.err = std::string("fork: ") + std::strerror(errno);
    return res;
  }

  // Feed stdin and drain both outputs together so no pipe can fill and deadlock.
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  int in_fd = in[1];
  if (stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out[0], err_fd = err[0];
  auto old_pipe = signal(SIGPIPE, SIG_IGN);
  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      int fd = fds[i].fd;
      if (fd == in_fd) {
        ssize_t w = write(fd, stdin_data.data() + written, stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = stdin_data.size();
        if (written >= stdin_data.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buf[4096];
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(fd);
        (fd == out_fd ? out_fd : err_fd) = -1;
        continue;
      }
      (fd == out_fd ? res.out : res.err).append(buf, static_cast<size_t>(r));
    }
  }
  signal(SIGPIPE, old_pipe);
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    res.exit_code = -WTERMSIG(status);
  }
  return res;
}

ProcResult Sh(const std::string& cmd) { return Run({"/bin/sh", "-c", cmd}); }

ProcResult DfPing(const std::string& ns, const std::string& dst, int wire_bytes) {
  const bool v6 = dst.find(':') != std::string::npos;
  const int payload = wire_bytes - (v6 ? 40 : 20) - 8;  // IP and ICMP headers
  // -i 0.01: a refused packet ends ping at once instead of after its 1 s interval.
  return Sh("ip netns exec " + ns + " ping " + (v6 ? "-6" : "-4") + " -n -c 1 -W 2 -i 0.01 -M do -s " +
            std::to_string(payload) + " " + dst + " 2>&1");
}

std::string CniBinDir() { return LINEN_CNI_BIN_DIR; }

std::string CniBin(std::string_view name) { return CniBinDir() + "/" + std::string(name); }

std::string SourcePath(std::string_view rel) {
  return std::string(LINEN_SOURCE_DIR) + "/" + std::string(rel);
}

}  // namespace linen::test
