// Running another plugin (IPAM or a delegate) found on CNI_PATH: fork/exec with the
// CNI environment, config on stdin, result or error JSON back from stdout.
#ifndef LINEN_LIBCNI_INVOKE_H_
#define LINEN_LIBCNI_INVOKE_H_

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/skel.h"
#include "libcni/types.h"

namespace cni {

// First `dir/type` in `dirs` that is a regular file after following symlinks (as
// invoke.FindInPath). A type containing '/' is refused. The error names the dirs.
Result<std::string> FindInPath(std::string_view type, const std::vector<std::string>& dirs);

struct ExecRequest {
  std::string plugin_path;                  // absolute path of the executable
  std::map<std::string, std::string> env;   // CNI_* (merged over this process's env)
  std::string stdin_data;
};
struct ExecOutput {
  int exit_code = 0;       // -signal when killed
  std::string stdout_text;
  std::string stderr_text;
};
// Runs it and collects output; no shell, no PATH lookup. An I/O failure -> code 5.
Result<ExecOutput> ExecPlugin(const ExecRequest& req);

// Interprets a plugin's output: exit 0 -> Ok, else the error JSON from stdout (or
// stderr), with its code and msg; garbage -> code 999 quoting what it printed.
Status ParseExecStatus(const ExecOutput& out, std::string_view plugin);

// Linen's own plugins that a delegating plugin may run in its own process instead of
// exec'ing them: a plugin's main.cc lists them (the table must outlive the process's
// delegations). An entry is used only when the executable CNI_PATH resolves to for
// that type carries linen's note for it (plugin_note.h): then running its code here
// does what exec'ing it would, minus a fork, an exec and a pipe round trip (~1.5 ms
// of a pod ADD). Anything else, a reference plugin of the same name included, is
// exec'd. LINEN_DELEGATE_EXEC=1 in the environment forces the exec.
struct InProcessPlugin {
  std::string_view type;
  PluginFuncs (*funcs)();
};
void SetInProcessPlugins(std::span<const InProcessPlugin> table);

// Delegation from inside a plugin: same CNI_* as `args` with CNI_COMMAND replaced,
// `stdin_data` as the delegate's config, in this process when the table above allows
// it. Add parses the result in the config's version, whichever way the delegate ran.
Result<AddResult> DelegateAdd(std::string_view type, const CmdArgs& args,
                              std::string_view stdin_data);
Status DelegateCommand(std::string_view command, std::string_view type, const CmdArgs& args,
                       std::string_view stdin_data);  // DEL, CHECK, GC, STATUS

}  // namespace cni

#endif  // LINEN_LIBCNI_INVOKE_H_
