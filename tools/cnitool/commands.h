// cnitool's verbs over the libcni runtime. Everything here returns an exit code and
// writes to the given streams, so tests can run it in-process as well as exec it.
#ifndef LINEN_TOOLS_CNITOOL_COMMANDS_H_
#define LINEN_TOOLS_CNITOOL_COMMANDS_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tools/cnitool/tool_env.h"

namespace cnitool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation (or a plugin) failed
inline constexpr int kExitUsage = 2;   // bad command line

struct Request {
  std::string verb;          // add, check, del, gc, status, version
  std::string net;           // network name, or a config file path if it contains '/'
  std::string netns;         // netns path argument ("" when --netns-name or not needed)
  std::string netns_name;    // --netns-name: /run/netns/<name>, created by add if missing
  bool remove_netns = false; // del --rm-netns: delete that named netns after DEL
  std::string ifname;        // --ifname, overrides CNI_IFNAME
  std::string container_id;  // --container-id, overrides CNI_CONTAINERID
  std::string cache_dir;     // --cache-dir ("" = /var/lib/cni)
  bool json_output = false;  // --json: compact result / error JSON on stdout
  bool cleanup = true;       // add: DEL again after a failed ADD (--no-cleanup turns off)
  // gc --keep CONTAINERID[/IFNAME]; nullopt = keep nothing (the reference passes nil).
  std::optional<std::vector<std::string>> keep;
};

int RunRequest(const Request& req, const ToolEnv& env, std::ostream& out, std::ostream& err);

}  // namespace cnitool

#endif  // LINEN_TOOLS_CNITOOL_COMMANDS_H_
