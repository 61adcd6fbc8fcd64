#include "bench/driver/proc.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <unordered_map>

namespace linen::bench {
namespace {

std::string ReadAll(int fd) {
  std::string s;
  if (lseek(fd, 0, SEEK_SET) < 0) return s;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}

// VmHWM of a live (ptrace-stopped) process, in kB.
long ReadVmHwm(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

volatile sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  // SIGPIPE too: a reader of our output gone (run.sh's tee killed) must not kill the
  // driver before it cleans up; the write fails with EPIPE instead. A handler, not
  // SIG_IGN, so the plugins exec'd from here start with the default action.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaction(sig, &sa, nullptr);
}

bool Interrupted() { return g_interrupted != 0; }

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::map<std::string, std::string> CniEnv(const std::string& command,
                                          const std::string& container_id,
                                          const std::string& netns_path,
                                          const std::string& ifname,
                                          const std::string& cni_path) {
  return {{"CNI_COMMAND", command},   {"CNI_CONTAINERID", container_id},
          {"CNI_NETNS", netns_path},  {"CNI_IFNAME", ifname},
          {"CNI_PATH", cni_path},
          // The reference bridge finds iptables through PATH for ipMasq.
          {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}};
}

cni::Result<Child> Child::Start(const ExecSpec& spec) {
  // Everything is allocated before fork: the child only calls async-signal-safe
  // functions, and the timed window holds no preparation work.
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  int in_fd = memfd_create("bench-stdin", MFD_CLOEXEC);
  if (in_fd < 0) return cni::ErrnoError("memfd stdin", errno);
  size_t off = 0;
  while (off < spec.stdin_data.size()) {
    ssize_t n = write(in_fd, spec.stdin_data.data() + off, spec.stdin_data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(in_fd);
      return cni::ErrnoError("write stdin memfd", e);
    }
    off += static_cast<size_t>(n);
  }
  lseek(in_fd, 0, SEEK_SET);
  Child c;
  c.out_fd_ = memfd_create("bench-stdout", MFD_CLOEXEC);
  c.err_fd_ = memfd_create("bench-stderr", MFD_CLOEXEC);
  if (c.out_fd_ < 0 || c.err_fd_ < 0) {
    close(in_fd);
    return cni::ErrnoError("memfd stdout", errno);
  }
  const int ns_fd = spec.netns_fd;
  const bool trace = spec.trace_own_rss;
  const int out_fd = c.out_fd_, err_fd = c.err_fd_;

  c.traced_ = spec.trace_own_rss;
  c.start_ns_ = NowNs();
  // As runtimes start plugins (Go's os/exec clones with CLONE_VM|CLONE_VFORK): the
  // child borrows this process's memory until its execve, so no page tables are
  // copied only to be thrown away. The traced RSS runs keep fork(): a tracee's
  // first stop must not hold this process suspended.
  pid_t pid = trace ? fork() : vfork();
  if (pid < 0) {
    int e = errno;
    close(in_fd);
    return cni::ErrnoError(trace ? "fork" : "vfork", e);
  }
  if (pid == 0) {
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0) _exit(126);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
    if (trace && ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) < 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in_fd);
  c.pid_ = pid;
  return c;
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      out_fd_(std::exchange(o.out_fd_, -1)),
      err_fd_(std::exchange(o.err_fd_, -1)),
      start_ns_(o.start_ns_),
      traced_(o.traced_),
      own_hwm_kb_(o.own_hwm_kb_) {}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, __WALL);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

ExecResult Child::Finish(int status, const rusage& ru, double end_ns) {
  ExecResult r;
  r.exit_code = ExitCode(status);
  r.ms = (end_ns - start_ns_) / 1e6;
  r.tree_maxrss_kb = ru.ru_maxrss;
  auto tv_ms = [](const timeval& tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; };
  r.cpu_ms = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
  r.own_maxrss_kb = own_hwm_kb_;
  r.out = ReadAll(out_fd_);
  r.err = ReadAll(err_fd_);
  pid_ = -1;
  return r;
}

cni::Result<ExecResult> Child::Wait() {
  if (traced_) return WaitTraced();
  for (;;) {
    int status = 0;
    rusage ru{};
    pid_t p = wait4(pid_, &status, 0, &ru);
    if (p < 0) {
      if (errno == EINTR) continue;
      return cni::ErrnoError("wait4", errno);
    }
    return Finish(status, ru, NowNs());
  }
}

// Every process and thread the plugin starts is traced (fork/vfork/clone options)
// and stopped once at exit, when its address space still exists: VmHWM there is that
// process's own peak. The root's is "the plugin alone"; the max over all of them is
// the tree's. wait4's ru_maxrss cannot be used for the tree: exec folds the forked
// driver's own pre-exec RSS into it.
cni::Result<ExecResult> Child::WaitTraced() {
  constexpr long kOptions = PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK |
                            PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
  bool options_set = false;
  long tree_hwm = 0;
  std::set<pid_t> known = {pid_};
  for (;;) {
    int status = 0;
    rusage ru{};
    pid_t p = wait4(-1, &status, __WALL, &ru);
    if (p < 0) {
      if (errno == EINTR) continue;
      return cni::ErrnoError("wait4", errno);
    }
    if (!WIFSTOPPED(status)) {
      if (p != pid_) continue;  // a traced descendant ended; its parent reaps it
      ExecResult r = Finish(status, ru, NowNs());
      r.tree_maxrss_kb = std::max(tree_hwm, r.own_maxrss_kb);
      return r;
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    long deliver = 0;
    if (known.insert(p).second && sig == SIGSTOP && event == 0) {
      // The attach stop of a new auto-traced process or thread.
    } else if (event == PTRACE_EVENT_EXIT) {
      long hwm = ReadVmHwm(p);
      tree_hwm = std::max(tree_hwm, hwm);
      if (p == pid_) own_hwm_kb_ = hwm;
    } else if (event != 0) {
      // fork/clone/exec notifications: nothing to do.
    } else if (p == pid_ && sig == SIGTRAP && !options_set) {
      options_set = true;  // the stop after our execve
      ptrace(PTRACE_SETOPTIONS, pid_, nullptr, reinterpret_cast<void*>(kOptions));
    } else {
      deliver = sig;  // a real signal: pass it on
    }
    ptrace(PTRACE_CONT, p, nullptr, reinterpret_cast<void*>(deliver));
  }
}

cni::Result<ExecResult> Run(const ExecSpec& spec) {
  auto c = Child::Start(spec);
  if (!c) return c.error();
  return c->Wait();
}

cni::Result<double> ReapAll(std::vector<Child>& kids, std::vector<ExecResult>* out) {
  out->assign(kids.size(), ExecResult{});
  std::unordered_map<pid_t, size_t> index;
  double first = 0;
  for (size_t i = 0; i < kids.size(); ++i) {
    index[kids[i].pid()] = i;
    if (i == 0 || kids[i].start_ns() < first) first = kids[i].start_ns();
  }
  size_t left = kids.size();
  double last = first;
  while (left > 0) {
    int status = 0;
    rusage ru{};
    pid_t p = wait4(-1, &status, 0, &ru);
    if (p < 0) {
      if (errno == EINTR) continue;
      return cni::ErrnoError("wait4", errno);
    }
    double now = NowNs();
    auto it = index.find(p);
    if (it == index.end()) continue;  // not one of ours
    (*out)[it->second] = kids[it->second].Finish(status, ru, now);
    last = now;
    --left;
  }
  return (last - first) / 1e6;
}

}  // namespace linen::bench
