// Running delegated plugins: posix_spawn (vfork speed, no shell), stdin over a
// socket so a child that exits early cannot SIGPIPE us, stdout/stderr drained with
// poll() so large outputs never deadlock.
#include "libcni/invoke.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <tuple>

#include "libcni/plugin_note.h"
#include "libcni/sys/fd.h"

extern char** environ;

namespace cni {
namespace {

std::vector<std::string> MergedEnv(const std::map<std::string, std::string>& over) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv = *e;
    size_t eq = kv.find('=');
    std::string key(kv.substr(0, eq));
    if (over.count(key) == 0) env.emplace_back(kv);
  }
  for (const auto& [k, v] : over) env.push_back(k + "=" + v);
  return env;
}

// Spawns with fds 0/1/2 wired to the given ends. ETXTBSY (a plugin binary still
// being written, e.g. during an upgrade) is retried briefly.
int Spawn(const std::string& path, int in_fd, int out_fd, int err_fd,
          const std::vector<std::string>& env, pid_t* pid) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  int rc = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    rc = posix_spawn(pid, path.c_str(), &fa, nullptr, argv, envp.data());
    if (rc != ETXTBSY) break;
    timespec ts{0, 2'000'000L * (attempt + 1)};  // 2ms, 4ms, ... ~70ms in total
    nanosleep(&ts, nullptr);
  }
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  constexpr size_t kMax = 512;
  if (s.size() > kMax) return std::string(s.substr(0, kMax)) + "...";
  return std::string(s);
}

// The spec's error object, if `text` is one.
std::optional<Error> ErrorFromJson(std::string_view text) {
  try {
    auto j = json::parse(text);
    if (!j.is_object()) return std::nullopt;
    auto code = j.find("code");
    auto msg = j.find("msg");
    if (code == j.end() || !code->is_number_unsigned() || code->get<unsigned>() == 0) {
      return std::nullopt;
    }
    std::string details;
    if (auto d = j.find("details"); d != j.end() && d->is_string()) details = d->get<std::string>();
    return Error(static_cast<Code>(code->get<unsigned>()),
                 msg != j.end() && msg->is_string() ? msg->get<std::string>() : "", details);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string ConfVersion(std::string_view stdin_data) {
  try {
    auto j = json::parse(stdin_data);
    if (j.is_object()) {
      auto it = j.find("cniVersion");
      if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
        return it->get<std::string>();
      }
    }
  } catch (const json::exception&) {
  }
  return "0.1.0";  // what the reference assumes for a config without cniVersion
}

std::map<std::string, std::string> DelegateEnv(std::string_view command, const CmdArgs& args) {
  return {{"CNI_COMMAND", std::string(command)}, {"CNI_CONTAINERID", args.container_id},
          {"CNI_NETNS", args.netns},             {"CNI_IFNAME", args.ifname},
          {"CNI_ARGS", args.args},               {"CNI_PATH", args.path}};
}

Result<ExecOutput> RunDelegate(std::string_view command, std::string_view type,
                               const CmdArgs& args, std::string_view stdin_data) {
  auto path = FindInPath(type, args.PathDirs());
  if (!path) return path.error();
  return ExecPlugin({*path, DelegateEnv(command, args), std::string(stdin_data)});
}

}  // namespace

Result<std::string> FindInPath(std::string_view type, const std::vector<std::string>& dirs) {
  std::string name(type);
  if (name.empty()) return Error(Code::kInvalidNetworkConfig, "plugin type is empty");
  if (name.find('/') != std::string::npos) {
    return Error(Code::kInvalidNetworkConfig,
                 "invalid plugin name \"" + name + "\": must not contain '/'");
  }
  if (dirs.empty()) {
    return Error(Code::kInvalidEnv, "no plugin paths provided (CNI_PATH is empty)", "",
                 Cause::kNotFound);
  }
  std::string tried;
  for (const auto& dir : dirs) {
    std::string full = dir + "/" + name;
    struct stat st;
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return full;
    tried += (tried.empty() ? "" : " ") + dir;
  }
  return Error(Code::kInvalidNetworkConfig,
               "failed to find plugin \"" + name + "\" in path [" + tried + "]", "",
               Cause::kNotFound);
}

Result<ExecOutput> ExecPlugin(const ExecRequest& req) {
  const std::string& path = req.plugin_path;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoError("exec " + path + ": socketpair", errno);
  }
  UniqueFd in_parent(sv[0]), in_child(sv[1]);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("exec " + path + ": pipe", errno);
  UniqueFd out_read(p[0]), out_write(p[1]);
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("exec " + path + ": pipe", errno);
  UniqueFd err_read(p[0]), err_write(p[1]);

  pid_t pid = -1;
  int rc = Spawn(path, in_child.get(), out_write.get(), err_write.get(), MergedEnv(req.env), &pid);
  if (rc != 0) return ErrnoError("exec " + path, rc);
  in_child.reset();
  out_write.reset();
  err_write.reset();

  ExecOutput out;
  size_t written = 0;
  if (req.stdin_data.empty()) {
    in_parent.reset();  // EOF at once
  } else {
    fcntl(in_parent.get(), F_SETFL, O_NONBLOCK);
  }
  int io_errno = 0;
  char buf[65536];
  while (out_read.get() >= 0 || err_read.get() >= 0) {
    pollfd fds[3];
    int n = 0;
    int in_idx = -1, out_idx = -1, err_idx = -1;
    if (in_parent.get() >= 0) { in_idx = n; fds[n++] = {in_parent.get(), POLLOUT, 0}; }
    if (out_read.get() >= 0) { out_idx = n; fds[n++] = {out_read.get(), POLLIN, 0}; }
    if (err_read.get() >= 0) { err_idx = n; fds[n++] = {err_read.get(), POLLIN, 0}; }
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      io_errno = errno;
      break;
    }
    if (in_idx >= 0 && fds[in_idx].revents != 0) {
      ssize_t w = send(in_parent.get(), req.stdin_data.data() + written,
                       req.stdin_data.size() - written, MSG_NOSIGNAL);
      if (w > 0) written += static_cast<size_t>(w);
      // A child that stops reading (exited, or never reads stdin) is not our error.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == req.stdin_data.size()) {
        in_parent.reset();
      }
    }
    for (auto [idx, fd, sink] : {std::tuple{out_idx, &out_read, &out.stdout_text},
                                 std::tuple{err_idx, &err_read, &out.stderr_text}}) {
      if (idx < 0 || fds[idx].revents == 0) continue;
      ssize_t r = read(fd->get(), buf, sizeof buf);
      if (r > 0) {
        sink->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        fd->reset();
      }
    }
  }
  in_parent.reset();
  out_read.reset();
  err_read.reset();

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("wait for " + path, errno);
  }
  if (io_errno != 0) return ErrnoError("read output of " + path, io_errno);
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.exit_code = -WTERMSIG(status);
  }
  return out;
}

Status ParseExecStatus(const ExecOutput& out, std::string_view plugin) {
  if (out.exit_code == 0) return OkStatus();
  // Plugins print the error JSON on stdout (skel does); some use stderr.
  if (auto e = ErrorFromJson(out.stdout_text)) return *e;
  if (auto e = ErrorFromJson(out.stderr_text)) return *e;
  std::string how = out.exit_code < 0 ? "killed by signal " + std::to_string(-out.exit_code)
                                      : "exit status " + std::to_string(out.exit_code);
  std::string said = Trimmed(out.stdout_text);
  if (said.empty()) said = Trimmed(out.stderr_text);
  return Error(Code::kInternal,
               "plugin " + std::string(plugin) + " failed (" + how + ")" +
                   (said.empty() ? ": no error message" : ": " + said));
}

namespace {

std::span<const InProcessPlugin> in_process_table;

// The entry for `type` when CNI_PATH leads to linen's build of it (plugin_note.h).
const InProcessPlugin* InProcessFor(std::string_view type, const CmdArgs& args) {
  const InProcessPlugin* entry = nullptr;
  for (const InProcessPlugin& p : in_process_table) {
    if (p.type == type) entry = &p;
  }
  if (entry == nullptr || getenv("LINEN_DELEGATE_EXEC") != nullptr) return nullptr;
  auto found = FindInPath(type, args.PathDirs());
  if (!found) return nullptr;
  UniqueFd fd(open(found->c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return nullptr;
  char page[4096];
  ssize_t n = pread(fd.get(), page, sizeof page, 0);
  if (n <= 0) return nullptr;
  const std::string marker = PluginNoteMarker(type);
  return memmem(page, static_cast<size_t>(n), marker.data(), marker.size()) != nullptr ? entry
                                                                                       : nullptr;
}

// What the delegate's PluginMain would make of the same environment and stdin.
Result<CmdArgs> InProcessArgs(const CmdArgs& parent, std::string_view command,
                              std::string_view stdin_data) {
  CmdArgs a = parent;
  a.command = std::string(command);
  a.stdin_data = std::string(stdin_data);
  auto conf = ParseNetConf(stdin_data);
  if (!conf) return conf.error();
  a.conf = std::move(*conf);
  if (auto s = CheckVerbVersion(a.command, a.conf.cni_version); !s) return s.error();
  return a;
}

Status RunInProcess(const PluginFuncs& f, const CmdArgs& a) {
  const std::function<Status(const CmdArgs&)>* fn = nullptr;
  if (a.command == "DEL") fn = &f.del;
  if (a.command == "CHECK") fn = &f.check;
  if (a.command == "GC") fn = &f.gc;
  if (a.command == "STATUS") fn = &f.status;
  if (fn == nullptr || !*fn) {
    if (a.command == "GC" || a.command == "STATUS") return OkStatus();
    return Error(Code::kInternal, "plugin does not implement " + a.command);
  }
  return (*fn)(a);
}

}  // namespace

void SetInProcessPlugins(std::span<const InProcessPlugin> table) { in_process_table = table; }

Result<AddResult> DelegateAdd(std::string_view type, const CmdArgs& args,
                              std::string_view stdin_data) {
  if (const InProcessPlugin* p = InProcessFor(type, args)) {
    auto a = InProcessArgs(args, "ADD", stdin_data);
    if (!a) return a.error();
    auto r = p->funcs().add(*a);
    if (!r) return r.error();
    // Exactly what the exec'd plugin would print and we would read back: the result
    // in the config's version (which may drop or reshape fields).
    const std::string& version = a->conf.cni_version;
    auto j = ResultToJson(*r, version);
    if (!j) return j.error();
    auto back = ParseResult(*j, version);
    if (!back) return back.error().Context("result of plugin " + std::string(type));
    back->cni_version = version;
    return back;
  }
  auto out = RunDelegate("ADD", type, args, stdin_data);
  if (!out) return out.error();
  if (auto s = ParseExecStatus(*out, type); !s) return s.error();
  // As libcni: a result without cniVersion is in the config's version; a result in
  // another version is read in its own and reported in the config's.
  std::string conf_version = ConfVersion(stdin_data);
  json j;
  try {
    j = json::parse(out->stdout_text);
  } catch (const json::exception& e) {
    return Error(Code::kDecodingFailure, "plugin " + std::string(type) +
                                             " returned an unparsable result: " + e.what(),
                 Trimmed(out->stdout_text));
  }
  std::string version = conf_version;
  if (j.is_object()) {
    auto it = j.find("cniVersion");
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      version = it->get<std::string>();
    }
  }
  auto r = ParseResult(j, version);
  if (!r) return r.error().Context("result of plugin " + std::string(type));
  r->cni_version = conf_version;
  return r;
}

Status DelegateCommand(std::string_view command, std::string_view type, const CmdArgs& args,
                       std::string_view stdin_data) {
  if (const InProcessPlugin* p = InProcessFor(type, args)) {
    auto a = InProcessArgs(args, command, stdin_data);
    if (!a) return a.error();
    return RunInProcess(p->funcs(), *a);
  }
  auto out = RunDelegate(command, type, args, stdin_data);
  if (!out) return out.error();
  return ParseExecStatus(*out, type);
}

}  // namespace cni
