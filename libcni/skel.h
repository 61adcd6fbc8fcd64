// The plugin skeleton: environment + stdin -> validated CmdArgs -> verb -> stdout.
// Only PluginMain writes to stdout; everything below it returns values.
#ifndef LINEN_LIBCNI_SKEL_H_
#define LINEN_LIBCNI_SKEL_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/types.h"

namespace cni {

struct CmdArgs {
  std::string command;       // ADD, DEL, CHECK, GC, STATUS, VERSION
  std::string container_id;
  std::string netns;         // path, may be empty on DEL
  std::string ifname;
  std::string args;          // raw CNI_ARGS
  std::string path;          // raw CNI_PATH
  std::string stdin_data;
  NetConf conf;              // parsed from stdin_data (not for VERSION)

  std::vector<std::string> PathDirs() const;  // CNI_PATH split on ':', empties dropped
};

// CNI_ARGS "K=V;K2=V2". A pair without '=' is an error (code 4); duplicates keep the
// last. Unknown keys are the caller's to ignore (IgnoreUnknown is always implied).
Result<std::map<std::string, std::string>> ParseCniArgs(std::string_view args);

struct PluginFuncs {
  std::function<Result<AddResult>(const CmdArgs&)> add;
  std::function<Status(const CmdArgs&)> del;
  std::function<Status(const CmdArgs&)> check;
  std::function<Status(const CmdArgs&)> status;  // unset: ready
  std::function<Status(const CmdArgs&)> gc;      // unset: nothing to collect
};

// The spec's version rules per verb (CHECK, GC and STATUS need newer versions);
// code 1 (incompatible version) when `version` does not allow `command`.
Status CheckVerbVersion(const std::string& command, const std::string& version);

// The most stdin PluginMain reads: more is refused with code 6 before parsing.
inline constexpr size_t kMaxStdinBytes = size_t{16} << 20;

// Reads the CNI_* environment, validates it per verb (SPEC table + skel extras),
// parses stdin, dispatches, and prints the result in the config's cniVersion or the
// spec error JSON on stdout. Returns the process exit code. `--version`/`--help` on
// the command line print `about`.
int PluginMain(int argc, char** argv, const PluginFuncs& funcs, std::string_view about);

// The same without touching the process: env given as a map, output returned. Used by
// PluginMain and by in-process tests.
struct PluginOutput {
  int exit_code = 0;
  std::string stdout_text;
};
PluginOutput RunPlugin(const std::map<std::string, std::string>& env,
                       std::string_view stdin_data, const PluginFuncs& funcs);

}  // namespace cni

#endif  // LINEN_LIBCNI_SKEL_H_
