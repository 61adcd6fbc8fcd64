// Running a network configuration list against a container, as the reference libcni
// does for containerd/CRI-O: ADD through the chain with prevResult, DEL in reverse,
// CHECK, GC, STATUS and VERSION, with the result cache in between. Plugins are found
// on the given directories and run as child processes (libcni/invoke.h).
#ifndef LINEN_LIBCNI_RUNTIME_RUNTIME_H_
#define LINEN_LIBCNI_RUNTIME_RUNTIME_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/runtime/conflist.h"
#include "libcni/runtime/result_cache.h"
#include "libcni/types.h"

namespace cni::runtime {

// What the runtime knows about one attachment (libcni's RuntimeConf).
struct RuntimeConf {
  std::string container_id;
  std::string netns;  // path; may be empty on DEL
  std::string ifname;
  CniArgPairs args;   // CNI_ARGS, in order
  json capability_args = json::object();  // {"portMappings": [...], "mac": "..."}
};

struct GcAttachment {
  std::string container_id;
  std::string ifname;
  bool operator==(const GcAttachment&) const = default;
};

// "K=V;K2=V2", as invoke.Args stringifies CNI_ARGS.
std::string JoinCniArgs(const CniArgPairs& args);

// The stdin `plugin` gets: its object with the list's name and cniVersion injected,
// prevResult when given, and runtimeConfig holding exactly the capability args the
// plugin declares (capabilities: {"x": true}) and the runtime supplied; the
// `capabilities` key itself is removed, as the spec asks. `rt` may be null (GC,
// STATUS: no runtimeConfig).
json BuildPluginConfig(const NetworkConfigList& list, const PluginConfig& plugin,
                       const std::optional<json>& prev_result, const RuntimeConf* rt);

class CniRuntime {
 public:
  explicit CniRuntime(std::vector<std::string> plugin_dirs,
                      std::string cache_dir = kDefaultCacheDir)
      : dirs_(std::move(plugin_dirs)), cache_(std::move(cache_dir)) {}

  // Where plugins' stderr (their logs) goes; nullptr drops it. Default: dropped.
  void set_plugin_stderr(std::ostream* out) { plugin_stderr_ = out; }
  const ResultCache& cache() const { return cache_; }
  const std::vector<std::string>& plugin_dirs() const { return dirs_; }

  // Everything ADD checks before running anything: every plugin of the list is found
  // on the plugin dirs, and container ID, network name and ifname pass the spec rules.
  Status Preflight(const NetworkConfigList& list, const RuntimeConf& rt) const;
  // Preflight, then every plugin in order, each getting the previous one's result; the
  // final result is cached. The runtime does not undo a failed ADD: like libcni it
  // leaves that to the caller's DEL. Returns the final result as the last plugin
  // printed it (its own cniVersion).
  Result<json> AddNetworkList(const NetworkConfigList& list, const RuntimeConf& rt) const;
  // CHECK and DEL first check container ID, network name and ifname as Preflight
  // does (they name the cache file), and run nothing when one fails.
  // cniVersion >= 0.4.0 (else code 1); nothing when disableCheck. The cached result
  // (converted to the list's version) is every plugin's prevResult.
  Status CheckNetworkList(const NetworkConfigList& list, const RuntimeConf& rt) const;
  // Plugins in reverse order with the cached result (>= 0.4.0); an unreadable cache file
  // is dropped. Stops at the first failure and keeps the cache so a retry has the same
  // prevResult; removes the cache entry after success.
  Status DelNetworkList(const NetworkConfigList& list, const RuntimeConf& rt) const;
  // Unless disableGC: a DEL (with the cached netns, args and capability args) for every
  // cached attachment of this network not in `valid` (nullopt = none valid, as cnitool
  // passes nil), then, for >= 1.1.0, the GC verb to every plugin with
  // cni.dev/valid-attachments (and the old key cni.dev/attachments) when `valid` is
  // given. Continues past failures and reports them all.
  Status GcNetworkList(const NetworkConfigList& list,
                       const std::optional<std::vector<GcAttachment>>& valid) const;
  // STATUS to each plugin in order, stopping at the first error (its code, e.g. 50, is
  // kept). Success without running anything for a list older than 1.1.0.
  Status StatusNetworkList(const NetworkConfigList& list) const;
  // The plugin's VERSION answer: {"cniVersion", "supportedVersions": [...]}.
  Result<json> VersionInfo(std::string_view type) const;

  // The cached final result converted to the list's cniVersion, nullopt when there is
  // none.
  Result<std::optional<json>> CachedResult(const NetworkConfigList& list,
                                           const RuntimeConf& rt) const;

 private:
  static Status ValidateAttachment(const NetworkConfigList& list, const RuntimeConf& rt);
  struct Invocation {
    std::string command;
    const RuntimeConf* rt = nullptr;  // null: GC/STATUS/VERSION, no container env
    json stdin_conf;
  };
  // Finds and runs `type`; returns its stdout on exit 0, else its CNI error.
  Result<std::string> Exec(std::string_view type, const Invocation& inv) const;

  std::vector<std::string> dirs_;
  ResultCache cache_;
  std::ostream* plugin_stderr_ = nullptr;
};

}  // namespace cni::runtime

#endif  // LINEN_LIBCNI_RUNTIME_RUNTIME_H_
