// Finding and reading network configurations on disk, in libcni's order:
// `*.conflist` sorted lexically (first matching name wins), then the legacy
// single-plugin `*.conf`/`*.json` (sorted), up-converted into a list.
#ifndef LINEN_LIBCNI_RUNTIME_CONF_FILES_H_
#define LINEN_LIBCNI_RUNTIME_CONF_FILES_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/runtime/conflist.h"

namespace cni::runtime {

inline constexpr const char* kDefaultNetConfPath = "/etc/cni/net.d";

// Regular entries of `dir` whose extension is one of `exts` (".conf"), full paths,
// sorted. A missing directory is an empty list, not an error.
Result<std::vector<std::string>> ConfFiles(const std::string& dir,
                                           const std::vector<std::string>& exts);

// A .conflist file; unless loadOnlyInlinedPlugins, `<dir>/<name>/*.conf` are appended
// as further plugins. No plugins at all -> code 7. Errors name the file.
Result<NetworkConfigList> ConfListFromFile(const std::string& path);
// A single-plugin .conf/.json file.
Result<PluginConfig> ConfFromFile(const std::string& path);
// Any of the three by extension (.conflist as a list, .conf/.json up-converted).
Result<NetworkConfigList> LoadNetworkFile(const std::string& path);

// The network called `name` in `dir`. As libcni, a broken file sorted before the match
// is an error (naming it). Not found -> code 7 with a kNotFound cause, naming the dir
// and the networks that are there. If `warnings` is given, later files that define
// the same name are reported there (the first one wins, as in every runtime).
Result<NetworkConfigList> LoadNetworkConf(const std::string& dir, const std::string& name,
                                          std::vector<std::string>* warnings = nullptr);

}  // namespace cni::runtime

#endif  // LINEN_LIBCNI_RUNTIME_CONF_FILES_H_
