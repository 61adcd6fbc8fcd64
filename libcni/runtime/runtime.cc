#include "libcni/runtime/runtime.h"

#include "libcni/invoke.h"

namespace cni::runtime {
namespace {

std::string JoinPath(const std::vector<std::string>& dirs) {
  std::string out;
  for (const auto& d : dirs) {
    if (!out.empty()) out += ':';
    out += d;
  }
  return out;
}

// Results travel in the plugin's own version during ADD (as libcni); only a cached
// result read back for DEL/CHECK is converted to the list's version.
Result<json> ConvertResult(const json& result, const std::string& version) {
  if (result.value("cniVersion", "") == version) return result;
  auto parsed = ParseResult(result);
  if (!parsed) return parsed.error();
  auto converted = ResultToJson(*parsed, version);
  if (!converted) {
    return converted.error().Context("failed to convert cached result to config version \"" +
                                     version + "\"");
  }
  return converted;
}

bool AtLeast(const std::string& version, const char* min) {
  return !version.empty() && CompareVersions(version, min) >= 0;
}

Error JoinErrors(const std::vector<Error>& errs) {
  std::string msg;
  for (const auto& e : errs) {
    if (!msg.empty()) msg += "; ";
    msg += e.msg();
  }
  return Error(errs.front().code(), msg, errs.front().details());
}

}  // namespace

std::string JoinCniArgs(const CniArgPairs& args) {
  std::string out;
  for (const auto& [k, v] : args) {
    if (!out.empty()) out += ';';
    out += k + "=" + v;
  }
  return out;
}

json BuildPluginConfig(const NetworkConfigList& list, const PluginConfig& plugin,
                       const std::optional<json>& prev_result, const RuntimeConf* rt) {
  json conf = plugin.conf;
  conf["name"] = list.name;
  conf["cniVersion"] = list.cni_version;
  if (prev_result) conf["prevResult"] = *prev_result;
  conf.erase("capabilities");
  if (rt && rt->capability_args.is_object()) {
    json rc = json::object();
    for (const auto& [cap, on] : plugin.capabilities) {
      if (!on) continue;
      auto it = rt->capability_args.find(cap);
      if (it != rt->capability_args.end()) rc[cap] = *it;
    }
    // As libcni: only replace what the file says when there is something to inject.
    if (!rc.empty()) conf["runtimeConfig"] = rc;
  }
  return conf;
}

Result<std::string> CniRuntime::Exec(std::string_view type, const Invocation& inv) const {
  auto path = FindInPath(type, dirs_);
  if (!path) return path.error();
  ExecRequest req;
  req.plugin_path = *path;
  // All six are always set (empty ones too), overriding whatever the caller's
  // environment had, as libcni does.
  req.env = {{"CNI_COMMAND", inv.command},
             {"CNI_CONTAINERID", inv.rt ? inv.rt->container_id : ""},
             {"CNI_NETNS", inv.rt ? inv.rt->netns : ""},
             {"CNI_ARGS", inv.rt ? JoinCniArgs(inv.rt->args) : ""},
             {"CNI_IFNAME", inv.rt ? inv.rt->ifname : ""},
             {"CNI_PATH", JoinPath(dirs_)}};
  if (inv.command == "VERSION") {
    // Plugins built on an old skel insist on these even for VERSION.
    req.env["CNI_NETNS"] = "dummy";
    req.env["CNI_IFNAME"] = "dummy";
    req.env["CNI_PATH"] = "dummy";
  }
  req.stdin_data = inv.stdin_conf.dump(-1, ' ', false, json::error_handler_t::replace);
  auto out = ExecPlugin(req);
  if (!out) return out.error();
  if (plugin_stderr_ && !out->stderr_text.empty()) *plugin_stderr_ << out->stderr_text;
  if (auto s = ParseExecStatus(*out, type); !s) return s.error();
  return std::move(out->stdout_text);
}

Status CniRuntime::Preflight(const NetworkConfigList& list, const RuntimeConf& rt) const {
  if (list.plugins.empty()) {
    return Error(Code::kInvalidNetworkConfig, "network \"" + list.name + "\" has no plugins");
  }
  // All lookups happen before the first plugin runs (libcni looks each one up just
  // before running it), so a typo in the last plugin's type leaves nothing half-made.
  for (const auto& plugin : list.plugins) {
    if (auto p = FindInPath(plugin.type, dirs_); !p) {
      return p.error().Context("plugin " + PluginDescription(plugin) + " failed (add)");
    }
  }
  return ValidateAttachment(list, rt);
}

Status CniRuntime::ValidateAttachment(const NetworkConfigList& list, const RuntimeConf& rt) {
  // The three name the cache file (<dir>/results/<net>-<id>-<ifname>), so an ID
  // like "x/../../y" would read, write or unlink outside it.
  if (auto s = ValidateContainerId(rt.container_id); !s) return s;
  if (auto s = ValidateNetworkName(list.name); !s) return s;
  return ValidateInterfaceName(rt.ifname);
}

Result<json> CniRuntime::AddNetworkList(const NetworkConfigList& list,
                                        const RuntimeConf& rt) const {
  if (auto s = Preflight(list, rt); !s) return s.error();
  std::optional<json> result;
  for (const auto& plugin : list.plugins) {
    const std::string where = "plugin " + PluginDescription(plugin) + " failed (add)";
    auto out = Exec(plugin.type, {"ADD", &rt, BuildPluginConfig(list, plugin, result, &rt)});
    if (!out) return out.error().Context(where);
    json j;
    try {
      j = json::parse(*out);
    } catch (const json::exception& e) {
      return Error(Code::kInternal, where + ": output is not a CNI result: " + e.what(),
                   out->substr(0, 512));
    }
    if (j.is_null()) j = json::object();
    if (!j.is_object()) {
      return Error(Code::kInternal, where + ": output is not a CNI result object",
                   out->substr(0, 512));
    }
    // A result without a version is read in the config's version (cni#895).
    if (!j.contains("cniVersion") || j["cniVersion"] == "") j["cniVersion"] = list.cni_version;
    if (auto parsed = ParseResult(j); !parsed) {
      return parsed.error().Context(where + ": invalid result");
    }
    result = std::move(j);
  }
  CacheEntry e;
  e.container_id = rt.container_id;
  e.ifname = rt.ifname;
  e.network_name = list.name;
  e.netns = rt.netns;
  e.config = list.bytes;
  e.cni_args = rt.args;
  e.capability_args = rt.capability_args;
  e.result = result;
  if (auto s = cache_.Write(e); !s) {
    return s.error().Context("failed to set network \"" + list.name + "\" cached result");
  }
  return std::move(*result);
}

Result<std::optional<json>> CniRuntime::CachedResult(const NetworkConfigList& list,
                                                     const RuntimeConf& rt) const {
  auto entry = cache_.Read(list.name, rt.container_id, rt.ifname);
  if (!entry) return entry.error();
  if (!*entry || !(*entry)->result) return std::optional<json>();
  auto converted = ConvertResult(*(*entry)->result, list.cni_version);
  if (!converted) return converted.error();
  return std::optional<json>(std::move(*converted));
}

Status CniRuntime::CheckNetworkList(const NetworkConfigList& list, const RuntimeConf& rt) const {
  if (!AtLeast(list.cni_version, "0.4.0")) {
    return Error(Code::kIncompatibleVersion, "configuration version \"" + list.cni_version +
                                                 "\" does not support the CHECK command");
  }
  if (auto s = ValidateAttachment(list, rt); !s) return s;
  if (list.disable_check) return OkStatus();
  auto cached = CachedResult(list, rt);
  if (!cached) {
    return cached.error().Context("failed to get network \"" + list.name + "\" cached result");
  }
  for (const auto& plugin : list.plugins) {
    auto out = Exec(plugin.type, {"CHECK", &rt, BuildPluginConfig(list, plugin, *cached, &rt)});
    if (!out) return out.error().Context("plugin " + PluginDescription(plugin) + " failed (check)");
  }
  return OkStatus();
}

Status CniRuntime::DelNetworkList(const NetworkConfigList& list, const RuntimeConf& rt) const {
  if (auto s = ValidateAttachment(list, rt); !s) return s;
  std::optional<json> cached;
  if (AtLeast(list.cni_version, "0.4.0")) {
    auto c = CachedResult(list, rt);
    if (c) {
      cached = std::move(*c);
    } else {
      // An unusable cache file must not block DEL forever: drop it and go on.
      (void)cache_.Remove(list.name, rt.container_id, rt.ifname);
    }
  }
  for (auto it = list.plugins.rbegin(); it != list.plugins.rend(); ++it) {
    auto out = Exec(it->type, {"DEL", &rt, BuildPluginConfig(list, *it, cached, &rt)});
    if (!out) return out.error().Context("plugin " + PluginDescription(*it) + " failed (delete)");
  }
  return cache_.Remove(list.name, rt.container_id, rt.ifname);
}

Status CniRuntime::GcNetworkList(const NetworkConfigList& list,
                                 const std::optional<std::vector<GcAttachment>>& valid) const {
  if (list.disable_gc) return OkStatus();
  std::vector<Error> errs;
  for (const auto& entry : cache_.List()) {
    if (entry.network_name != list.name) continue;
    GcAttachment a{entry.container_id, entry.ifname};
    if (valid && std::find(valid->begin(), valid->end(), a) != valid->end()) continue;
    RuntimeConf rt{entry.container_id, entry.netns, entry.ifname, entry.cni_args,
                   entry.capability_args};
    if (auto s = DelNetworkList(list, rt); !s) {
      errs.push_back(s.error().Context("failed to delete stale attachment " + a.container_id +
                                       " " + a.ifname));
    }
  }
  if (AtLeast(list.cni_version, "1.1.0")) {
    for (const auto& plugin : list.plugins) {
      json conf = BuildPluginConfig(list, plugin, std::nullopt, nullptr);
      if (valid) {
        json attachments = json::array();
        for (const auto& a : *valid) {
          attachments.push_back({{"containerID", a.container_id}, {"ifname", a.ifname}});
        }
        conf["cni.dev/valid-attachments"] = attachments;
        conf["cni.dev/attachments"] = attachments;  // the spec's old name (cni#1101)
      }
      if (auto out = Exec(plugin.type, {"GC", nullptr, conf}); !out) {
        errs.push_back(out.error().Context("failed to GC plugin " + plugin.type));
      }
    }
  }
  if (!errs.empty()) return JoinErrors(errs);
  return OkStatus();
}

Status CniRuntime::StatusNetworkList(const NetworkConfigList& list) const {
  if (!AtLeast(list.cni_version, "1.1.0")) return OkStatus();
  for (const auto& plugin : list.plugins) {
    auto out = Exec(plugin.type, {"STATUS", nullptr,
                                  BuildPluginConfig(list, plugin, std::nullopt, nullptr)});
    if (!out) return out.error().Context("plugin " + PluginDescription(plugin) + " (status)");
  }
  return OkStatus();
}

Result<json> CniRuntime::VersionInfo(std::string_view type) const {
  auto out = Exec(type, {"VERSION", nullptr, json{{"cniVersion", kCurrentVersion}}});
  if (!out) return out.error().Context("plugin type=\"" + std::string(type) + "\" (version)");
  try {
    json j = json::parse(*out);
    if (j.is_object() && j.contains("supportedVersions")) return j;
  } catch (const json::exception&) {
  }
  return Error(Code::kDecodingFailure,
               "plugin type=\"" + std::string(type) + "\" (version): not a version answer",
               out->substr(0, 512));
}

}  // namespace cni::runtime
