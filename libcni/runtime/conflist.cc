#include "libcni/runtime/conflist.h"

#include <algorithm>

namespace cni::runtime {
namespace {

Error Decode(std::string msg) { return Error(Code::kDecodingFailure, std::move(msg)); }

std::string TypeName(const json& j) { return j.type_name(); }

Result<json> ParseObject(std::string_view bytes, std::string_view what) {
  json j;
  try {
    j = json::parse(bytes);
  } catch (const json::exception& e) {
    return Decode("error parsing " + std::string(what) + ": " + e.what());
  }
  if (!j.is_object()) {
    return Decode("error parsing " + std::string(what) + ": expected a JSON object, got " +
                  TypeName(j));
  }
  return j;
}

// Optional string member; absent -> "".
Result<std::string> StringMember(const json& j, const char* key, std::string_view what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return Decode("error parsing " + std::string(what) + ": invalid " + key + " type " +
                  TypeName(*it) + " (want a string)");
  }
  return it->get<std::string>();
}

// libcni's readBool: a JSON bool, or the strings "true"/"false" in any case.
Result<bool> ReadBool(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (!it->is_string()) {
    return Decode(std::string("error parsing configuration list: invalid type ") +
                  TypeName(*it) + " for " + key);
  }
  std::string s = it->get<std::string>();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true") return true;
  if (s == "false") return false;
  return cni::InvalidConfig("error parsing configuration list: invalid value \"" + s + "\" for " +
                            key);
}

// Versions above the spec we implement are skipped, as libcni does, so a newer
// config still runs with the newest version both sides know.
Result<std::string> PickVersion(const json& raw, std::string version) {
  auto it = raw.find("cniVersions");
  if (it == raw.end()) return version;
  if (!it->is_array()) {
    return Decode("error parsing configuration list: invalid type for cniVersions: " +
                  TypeName(*it));
  }
  std::vector<std::string> candidates;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    if (!v.is_string()) {
      return Decode("error parsing configuration list: invalid type for cniVersions index " +
                    std::to_string(i) + ": " + TypeName(v));
    }
    candidates.push_back(v.get<std::string>());
  }
  if (!version.empty()) candidates.push_back(version);
  std::string best;
  for (const auto& v : candidates) {
    if (CompareVersions(v, kCurrentVersion) > 0) continue;
    if (best.empty() || CompareVersions(v, best) > 0) best = v;
  }
  return best.empty() ? version : best;
}

}  // namespace

Result<PluginConfig> PluginConfigFromJson(const json& j) {
  constexpr std::string_view kWhat = "configuration";
  if (!j.is_object()) return Decode("error parsing configuration: expected an object");
  PluginConfig p;
  p.conf = j;
  auto type = StringMember(j, "type", kWhat);
  if (!type) return type.error();
  if (type->empty()) return cni::InvalidConfig("error parsing configuration: missing 'type'");
  p.type = *type;
  auto name = StringMember(j, "name", kWhat);
  if (!name) return name.error();
  p.name = *name;
  auto version = StringMember(j, "cniVersion", kWhat);
  if (!version) return version.error();
  p.cni_version = *version;
  if (auto it = j.find("capabilities"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) {
      return Decode("error parsing configuration: capabilities must be an object of booleans");
    }
    for (const auto& [cap, on] : it->items()) {
      if (!on.is_boolean()) {
        return Decode("error parsing configuration: capability \"" + cap +
                      "\" must be true or false");
      }
      p.capabilities[cap] = on.get<bool>();
    }
  }
  return p;
}

Result<PluginConfig> PluginConfigFromBytes(std::string_view bytes) {
  auto j = ParseObject(bytes, "configuration");
  if (!j) return j.error();
  return PluginConfigFromJson(*j);
}

Result<NetworkConfigList> ConfListFromBytes(std::string_view bytes) {
  constexpr std::string_view kWhat = "configuration list";
  auto raw = ParseObject(bytes, kWhat);
  if (!raw) return raw.error();

  NetworkConfigList list;
  list.bytes = std::string(bytes);
  auto name_it = raw->find("name");
  if (name_it == raw->end()) return cni::InvalidConfig("error parsing configuration list: no name");
  if (!name_it->is_string()) {
    return Decode("error parsing configuration list: invalid name type " + TypeName(*name_it));
  }
  list.name = name_it->get<std::string>();
  auto version = StringMember(*raw, "cniVersion", kWhat);
  if (!version) return version.error();
  auto picked = PickVersion(*raw, *version);
  if (!picked) return picked.error();
  list.cni_version = *picked;

  for (auto [key, field] : {std::pair{"disableCheck", &list.disable_check},
                            std::pair{"disableGC", &list.disable_gc},
                            std::pair{"loadOnlyInlinedPlugins", &list.load_only_inlined_plugins}}) {
    auto b = ReadBool(*raw, key);
    if (!b) return b.error();
    *field = *b;
  }

  auto plugins = raw->find("plugins");
  if (plugins == raw->end()) {
    if (list.load_only_inlined_plugins) {
      return cni::InvalidConfig(
          "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no "
          "'plugins' key");
    }
    return list;
  }
  if (!plugins->is_array()) {
    return Decode("error parsing configuration list: invalid 'plugins' type " +
                  TypeName(*plugins));
  }
  if (plugins->empty()) {
    return cni::InvalidConfig("error parsing configuration list: no plugins in list");
  }
  for (size_t i = 0; i < plugins->size(); ++i) {
    auto p = PluginConfigFromJson((*plugins)[i]);
    if (!p) return p.error().Context("failed to parse plugin config " + std::to_string(i));
    list.plugins.push_back(std::move(*p));
  }
  return list;
}

Result<NetworkConfigList> ConfListFromConf(const PluginConfig& conf) {
  json wrapped = {{"name", conf.name},
                  {"cniVersion", conf.cni_version},
                  {"plugins", json::array({conf.conf})}};
  return ConfListFromBytes(wrapped.dump());
}

std::string PluginDescription(const PluginConfig& plugin) {
  std::string out = "type=" + json(plugin.type).dump();
  if (!plugin.name.empty()) out += " name=" + json(plugin.name).dump();
  return out;
}

}  // namespace cni::runtime
