// Runs one executable the way a container runtime runs a CNI plugin (env + stdin,
// stdout captured) and measures exactly that: CLOCK_MONOTONIC from just before
// fork() to the moment wait4() reaps it, plus the kernel's peak-RSS accounting.
// Everything a child needs (argv, envp, stdin bytes) is prepared before the clock
// starts, so the figure is fork + setns + exec + the plugin's own work.
#ifndef LINEN_BENCH_DRIVER_PROC_H_
#define LINEN_BENCH_DRIVER_PROC_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "libcni/error.h"

namespace linen::bench {

struct ExecSpec {
  std::vector<std::string> argv;          // argv[0] is an absolute path
  std::map<std::string, std::string> env;  // the whole environment (nothing inherited)
  std::string stdin_data;
  int netns_fd = -1;  // child setns()es here before exec; -1 = stay
  // Trace the child and everything it starts, stopping each at exit (ptrace
  // PTRACE_EVENT_EXIT) to read its own VmHWM: the plugin alone and the max over its
  // process tree. Costs ptrace stops, so only the RSS measurement turns it on.
  bool trace_own_rss = false;
};

struct ExecResult {
  int exit_code = 0;      // -signal if killed
  double ms = 0;          // fork -> reaped
  double cpu_ms = 0;      // user + system CPU of the child and its reaped children
  // wait4 ru_maxrss, or with trace_own_rss the max VmHWM over the traced tree. The
  // former includes the forked driver's pre-exec RSS, so it is only an upper bound.
  long tree_maxrss_kb = 0;
  long own_maxrss_kb = 0;   // VmHWM of the child alone (trace_own_rss only)
  std::string out;
  std::string err;
};

// A prepared, started child; used to start many at once and reap them together.
class Child {
 public:
  // Forks and execs; the clock starts inside. Errors only for fork/memfd failures.
  static cni::Result<Child> Start(const ExecSpec& spec);
  Child(Child&& o) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  ~Child();  // kills and reaps a child nobody waited for

  // Blocks until this child is reaped.
  cni::Result<ExecResult> Wait();
  pid_t pid() const { return pid_; }
  // Completes the result once the caller reaped `pid_` itself (ReapAll).
  ExecResult Finish(int status, const ::rusage& ru, double end_ns);
  double start_ns() const { return start_ns_; }

 private:
  Child() = default;
  cni::Result<ExecResult> WaitTraced();
  pid_t pid_ = -1;
  int out_fd_ = -1;  // memfds the child writes stdout / stderr into
  int err_fd_ = -1;
  double start_ns_ = 0;
  bool traced_ = false;
  long own_hwm_kb_ = 0;
};

cni::Result<ExecResult> Run(const ExecSpec& spec);

// Reaps every child in `kids` in whatever order they end; results in `kids` order.
// Returns the wall time from the first start to the last reap, in ms.
cni::Result<double> ReapAll(std::vector<Child>& kids, std::vector<ExecResult>* out);

double NowNs();

// SIGINT/SIGTERM/SIGHUP/SIGPIPE only set a flag: the modes check Interrupted() between steps
// and return, so the destructors remove every namespace and directory they made
// (the default action would kill the driver and leave them behind).
void InstallInterruptHandlers();
bool Interrupted();

// The environment a runtime gives a plugin: CNI_* plus PATH.
std::map<std::string, std::string> CniEnv(const std::string& command,
                                          const std::string& container_id,
                                          const std::string& netns_path,
                                          const std::string& ifname,
                                          const std::string& cni_path);

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_PROC_H_
