// How cnitool turns its environment and flags into a runtime request, matching the
// reference tool: NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS, and a
// container ID derived from the netns path.
#ifndef LINEN_TOOLS_CNITOOL_TOOL_ENV_H_
#define LINEN_TOOLS_CNITOOL_TOOL_ENV_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/runtime/result_cache.h"
#include "libcni/types.h"

namespace cnitool {

inline constexpr const char* kDefaultCniPath = "/opt/cni/bin";

// The reference tool's CNI_ARGS rule: "K=V;K2=V2", every pair exactly one '=' with
// both sides non-empty (code 4 naming the pair otherwise).
cni::Result<cni::runtime::CniArgPairs> ParseToolCniArgs(std::string_view text);

// CAP_ARGS: a JSON object (code 6 otherwise).
cni::Result<cni::json> ParseCapArgs(std::string_view text);

// Go's filepath.Abs: relative to the working directory, then cleaned.
std::string AbsolutePath(std::string_view path);

// "cnitool-" + hex of the first 10 bytes of sha512(absolute netns path).
std::string ContainerIdFor(std::string_view abs_netns_path);

// CNI_PATH split on ':' (empties dropped); /opt/cni/bin when unset or empty.
std::vector<std::string> PluginDirs(const char* cni_path_env);

// What the environment says; flags override some of it in commands.cc.
struct ToolEnv {
  std::string netconf_path;            // NETCONFPATH or /etc/cni/net.d
  std::vector<std::string> plugin_dirs;
  std::string ifname;                  // CNI_IFNAME or ""
  std::string container_id;            // CNI_CONTAINERID or ""
  std::string cni_args;                // raw CNI_ARGS
  std::string cap_args;                // raw CAP_ARGS
};
// Reads the process environment (getenv); `overrides` wins over it, for tests.
ToolEnv ReadToolEnv(const std::map<std::string, std::string>& overrides = {});

}  // namespace cnitool

#endif  // LINEN_TOOLS_CNITOOL_TOOL_ENV_H_
