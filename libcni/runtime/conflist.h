// A network configuration list as the runtime sees it (libcni's NetworkConfigList):
// the list-level keys plus each plugin's object kept verbatim, so unknown keys reach
// the plugin untouched. Parsing follows libcni's conf.go; no file access here.
#ifndef LINEN_LIBCNI_RUNTIME_CONFLIST_H_
#define LINEN_LIBCNI_RUNTIME_CONFLIST_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/types.h"

namespace cni::runtime {

struct PluginConfig {
  std::string type;
  std::string name;         // the plugin object's own "name" (usually absent in a list)
  std::string cni_version;  // the plugin object's own "cniVersion"
  std::map<std::string, bool> capabilities;
  json conf = json::object();  // the object as written
};

struct NetworkConfigList {
  std::string name;
  std::string cni_version;
  bool disable_check = false;
  bool disable_gc = false;
  bool load_only_inlined_plugins = false;
  std::vector<PluginConfig> plugins;
  std::string bytes;   // the source bytes; the result cache stores them as "config"
  std::string source;  // file it came from, for messages (empty when from bytes)
};

// One plugin object. Missing/empty "type" -> code 7; wrong JSON types -> code 6.
Result<PluginConfig> PluginConfigFromJson(const json& j);
Result<PluginConfig> PluginConfigFromBytes(std::string_view bytes);

// A .conflist document. `cniVersions` picks the highest entry not above 1.1.0 (the
// list's own cniVersion takes part); booleans also accept "true"/"false" in any
// case. Without a "plugins" key the list is returned empty (the caller may append
// <dir>/<name>/*.conf); an empty "plugins" array is an error (code 7).
Result<NetworkConfigList> ConfListFromBytes(std::string_view bytes);

// A single-plugin .conf/.json up-converted into a one-element list whose bytes are
// {"cniVersion","name","plugins":[<conf>]} (keys sorted, as Go marshals a map).
Result<NetworkConfigList> ConfListFromConf(const PluginConfig& conf);

// `type="bridge" name="x"`, as libcni names a plugin in errors.
std::string PluginDescription(const PluginConfig& plugin);

}  // namespace cni::runtime

#endif  // LINEN_LIBCNI_RUNTIME_CONFLIST_H_
