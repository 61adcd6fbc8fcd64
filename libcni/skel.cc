// The plugin skeleton. Mirrors the Go pkg/skel dispatcher: env checks per verb,
// config decode, version gates, then the verb; everything is refused before any
// verb runs. Only PluginMain touches the process (env, stdin, stdout).
#include "libcni/skel.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "libcni/json_util.h"

extern char** environ;

namespace cni {
namespace {

// Which CNI_* variables each verb needs (skel's reqForCmd table, which also wants
// CNI_PATH for ADD/CHECK/DEL/GC/STATUS).
struct EnvVar {
  const char* name;
  std::initializer_list<std::string_view> required_for;
  // Validated only for verbs that require the variable, as skel does.
  Status (*validate)(std::string_view);
};
const EnvVar kEnvVars[] = {
    {"CNI_CONTAINERID", {"ADD", "CHECK", "DEL"}, &ValidateContainerId},
    {"CNI_NETNS", {"ADD", "CHECK"}, nullptr},
    {"CNI_IFNAME", {"ADD", "CHECK", "DEL"}, &ValidateInterfaceName},
    {"CNI_ARGS", {}, nullptr},
    {"CNI_PATH", {"ADD", "CHECK", "DEL", "GC", "STATUS"}, nullptr},
};

bool IsKnownCommand(std::string_view c) {
  return c == "ADD" || c == "CHECK" || c == "DEL" || c == "GC" || c == "STATUS" ||
         c == "VERSION";
}

std::string Get(const std::map<std::string, std::string>& env, const char* key) {
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

// Best effort, for the error JSON: the config's cniVersion when it is one we speak.
std::string ErrorVersion(std::string_view stdin_data) {
  auto j = ParseJsonText(stdin_data, "");
  if (j && j->is_object()) {
    auto it = j->find("cniVersion");
    if (it != j->end() && it->is_string() && IsSupportedVersion(it->get<std::string>())) {
      return it->get<std::string>();
    }
  }
  return kCurrentVersion;
}

std::string VersionJson(std::string_view stdin_data) {
  json out;
  out["cniVersion"] = ErrorVersion(stdin_data);
  out["supportedVersions"] = SupportedVersions();
  return out.dump() + "\n";
}

// skel refuses CNI_NETNS naming the plugin's own namespace: configuring "the
// container" would then reconfigure the host. A path that cannot be stat'ed is the
// verb's business (DEL on a gone netns must succeed).
Status CheckNotOwnNetns(const std::string& netns) {
  if (netns.empty()) return OkStatus();
  struct stat target, self;
  if (stat(netns.c_str(), &target) != 0) return OkStatus();
  if (stat("/proc/thread-self/ns/net", &self) != 0) {
    return Error(Code::kInvalidNetns, "get plugin's netns failed", std::strerror(errno));
  }
  if (target.st_dev == self.st_dev && target.st_ino == self.st_ino) {
    return Error(Code::kInvalidNetns,
                 "plugin's netns and netns from CNI_NETNS should not be the same", netns);
  }
  return OkStatus();
}

bool NetnsOverride(const std::string& v) {
  if (v == "1") return true;
  if (v.size() != 4) return false;
  std::string up;
  for (char c : v) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return up == "TRUE";
}

// Runs one verb; anything a verb throws becomes code 999 rather than a crash.
template <typename Fn>
auto Guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Error(Code::kInternal, std::string("internal error: ") + e.what());
  } catch (...) {
    return Error(Code::kInternal, "internal error: unknown exception");
  }
}

// Fills args from the environment, per skel's table; code 4 (or 3) on failure.
Status ReadEnv(const std::map<std::string, std::string>& env, CmdArgs* args) {
  std::string missing;
  for (const auto& var : kEnvVars) {
    std::string value = Get(env, var.name);
    bool required = false;
    for (auto verb : var.required_for) required |= verb == args->command;
    if (value.empty()) {
      if (required) missing += (missing.empty() ? "" : ",") + std::string(var.name);
    } else if (required && var.validate != nullptr) {
      if (auto s = var.validate(value); !s) return s.error();
    }
  }
  if (!missing.empty()) {
    return Error(Code::kInvalidEnv, "required env variables [" + missing + "] missing");
  }
  args->container_id = Get(env, "CNI_CONTAINERID");
  args->netns = Get(env, "CNI_NETNS");
  args->ifname = Get(env, "CNI_IFNAME");
  args->args = Get(env, "CNI_ARGS");
  args->path = Get(env, "CNI_PATH");
  return OkStatus();
}

// The verb itself; returns what goes to stdout.
Result<std::string> RunVerb(const PluginFuncs& funcs, const CmdArgs& args) {
  if (args.command == "ADD") {
    if (!funcs.add) return Error(Code::kInternal, "plugin does not implement ADD");
    auto result = Guarded([&]() -> Result<AddResult> { return funcs.add(args); });
    if (!result) return result.error();
    return internal::ResultToText(*result, args.conf.cni_version);
  }
  const std::function<Status(const CmdArgs&)>* fn = &funcs.del;
  if (args.command == "CHECK") fn = &funcs.check;
  if (args.command == "GC") fn = &funcs.gc;
  if (args.command == "STATUS") fn = &funcs.status;
  if (!*fn) {
    // An unset GC or STATUS means nothing to collect / always ready.
    if (args.command == "GC" || args.command == "STATUS") return std::string();
    return Error(Code::kInternal, "plugin does not implement " + args.command);
  }
  auto s = Guarded([&]() -> Status { return (*fn)(args); });
  if (!s) return s.error();
  return std::string();
}

Result<std::string> Dispatch(const std::map<std::string, std::string>& env,
                             std::string_view stdin_data, const PluginFuncs& funcs) {
  CmdArgs args;
  args.command = Get(env, "CNI_COMMAND");
  if (args.command.empty()) {
    return Error(Code::kInvalidEnv, "required env variables [CNI_COMMAND] missing");
  }
  if (!IsKnownCommand(args.command)) {
    return Error(Code::kInvalidEnv, "unknown CNI_COMMAND: " + args.command);
  }
  // VERSION needs nothing else and ignores whatever stdin holds.
  if (args.command == "VERSION") return VersionJson(stdin_data);

  if (auto s = ReadEnv(env, &args); !s) return s.error();
  args.stdin_data = std::string(stdin_data);
  auto conf = ParseNetConf(stdin_data);
  if (!conf) return conf.error();
  args.conf = std::move(*conf);
  if (auto s = CheckVerbVersion(args.command, args.conf.cni_version); !s) return s.error();
  if ((args.command == "ADD" || args.command == "DEL") &&
      !NetnsOverride(Get(env, "CNI_NETNS_OVERRIDE"))) {
    if (auto s = CheckNotOwnNetns(args.netns); !s) return s.error();
  }
  return RunVerb(funcs, args);
}

}  // namespace

// Version gates for the newer verbs, as skel: CHECK needs 0.4.0, GC/STATUS 1.1.0.
Status CheckVerbVersion(const std::string& cmd, const std::string& version) {
  const char* min = nullptr;
  if (cmd == "CHECK") min = "0.4.0";
  if (cmd == "GC" || cmd == "STATUS") min = "1.1.0";
  if (min != nullptr && !VersionAtLeast(version, min)) {
    return Error(Code::kIncompatibleVersion, "config version does not allow " + cmd,
                 "config is \"" + version + "\", " + cmd + " needs " + min + " or later");
  }
  return OkStatus();
}

PluginOutput RunPlugin(const std::map<std::string, std::string>& env,
                       std::string_view stdin_data, const PluginFuncs& funcs) {
  auto out = Guarded([&]() -> Result<std::string> { return Dispatch(env, stdin_data, funcs); });
  if (!out) return {1, out.error().ToJson(ErrorVersion(stdin_data))};
  return {0, std::move(*out)};
}

int PluginMain(int argc, char** argv, const PluginFuncs& funcs, std::string_view about) {
  std::string supported;
  for (const auto& v : SupportedVersions()) supported += (supported.empty() ? "" : ", ") + v;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--version" || a == "-version" || a == "--help" || a == "-h") {
      std::string msg = std::string(about) + "\nCNI protocol versions supported: " + supported + "\n";
      std::fwrite(msg.data(), 1, msg.size(), stdout);
      return 0;
    }
  }
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv = *e;
    if (kv.substr(0, 4) != "CNI_") continue;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  const std::string command = env.count("CNI_COMMAND") ? env["CNI_COMMAND"] : "";
  // Like skel: run by hand with no CNI_COMMAND, say what we are on stderr.
  if (command.empty() && !about.empty()) {
    std::string msg = std::string(about) + "\nCNI protocol versions supported: " + supported + "\n";
    std::fwrite(msg.data(), 1, msg.size(), stderr);
    return 0;
  }
  // VERSION only peeks at stdin, and never blocks on a terminal.
  std::string stdin_data;
  if (command != "VERSION" || !isatty(STDIN_FILENO)) {
    char buf[16384];
    for (;;) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n > 0) {
        stdin_data.append(buf, static_cast<size_t>(n));
        if (stdin_data.size() > kMaxStdinBytes) {
          // Bounded memory and time whatever a runtime or a bad config feeds us: a
          // network config with its prevResult is kilobytes, never megabytes.
          std::string err = Error(Code::kDecodingFailure,
                                  "network configuration on stdin is larger than " +
                                      std::to_string(kMaxStdinBytes >> 20) + " MiB; not read")
                                .ToJson(kCurrentVersion);
          std::fwrite(err.data(), 1, err.size(), stdout);
          std::fflush(stdout);
          return 1;
        }
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        std::string err = ErrnoError("error reading from stdin", errno).ToJson(kCurrentVersion);
        std::fwrite(err.data(), 1, err.size(), stdout);
        std::fflush(stdout);
        return 1;
      }
    }
  }
  PluginOutput out = RunPlugin(env, stdin_data, funcs);
  std::fwrite(out.stdout_text.data(), 1, out.stdout_text.size(), stdout);
  std::fflush(stdout);
  return out.exit_code;
}

}  // namespace cni
