#include "tools/cnitool/commands.h"

#include <sys/stat.h>

#include <iostream>

#include "libcni/invoke.h"
#include "libcni/runtime/conf_files.h"
#include "libcni/runtime/runtime.h"
#include "netns/netns.h"

namespace cnitool {
namespace {

using cni::Error;
using cni::json;
using cni::runtime::CniRuntime;
using cni::runtime::NetworkConfigList;
using cni::runtime::RuntimeConf;

// Prints an error the way operators read it: the words, then the CNI code, then the
// plugin's details; with --json the spec's error object instead.
int Fail(const Request& req, const Error& e, std::string_view version, std::ostream& out,
         std::ostream& err) {
  if (req.json_output) {
    json j = json::parse(e.ToJson(version.empty() ? cni::kCurrentVersion : version));
    out << j.dump() << "\n";
  }
  err << "cnitool: " << req.verb << (req.net.empty() ? "" : " " + req.net) << ": " << e.msg()
      << " (CNI error code " << e.code_number() << ")\n";
  if (!e.details().empty()) err << "cnitool: details: " << e.details() << "\n";
  return kExitFailed;
}

cni::Result<NetworkConfigList> LoadNet(const Request& req, const ToolEnv& env,
                                       std::ostream& err) {
  if (req.net.find('/') != std::string::npos) return cni::runtime::LoadNetworkFile(req.net);
  std::vector<std::string> warnings;
  auto list = cni::runtime::LoadNetworkConf(env.netconf_path, req.net, &warnings);
  for (const auto& w : warnings) err << "cnitool: warning: " << w << "\n";
  return list;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

cni::Result<RuntimeConf> BuildRuntimeConf(const Request& req, const ToolEnv& env,
                                          const std::string& netns_path) {
  RuntimeConf rt;
  auto args = ParseToolCniArgs(env.cni_args);
  if (!args) return args.error();
  rt.args = std::move(*args);
  auto caps = ParseCapArgs(env.cap_args);
  if (!caps) return caps.error();
  rt.capability_args = std::move(*caps);
  rt.ifname = !req.ifname.empty() ? req.ifname : !env.ifname.empty() ? env.ifname : "eth0";
  rt.netns = netns_path.empty() ? "" : AbsolutePath(netns_path);
  rt.container_id = !req.container_id.empty() ? req.container_id : env.container_id;
  if (rt.container_id.empty()) {
    if (rt.netns.empty()) {
      return Error(cni::Code::kInvalidEnv,
                   "need a netns path (or --netns-name, or CNI_CONTAINERID) to name the "
                   "attachment");
    }
    rt.container_id = ContainerIdFor(rt.netns);
  }
  return rt;
}

int Version(const Request& req, const ToolEnv& env, std::ostream& out, std::ostream& err) {
  if (req.net.empty()) {
    json j = {{"cniVersion", cni::kCurrentVersion},
              {"supportedVersions", cni::SupportedVersions()}};
    if (req.json_output) {
      out << j.dump() << "\n";
    } else {
      out << "cnitool (linen) CNI spec " << cni::kCurrentVersion << "\nsupported versions:";
      for (const auto& v : cni::SupportedVersions()) out << " " << v;
      out << "\n";
    }
    return kExitOk;
  }
  auto list = LoadNet(req, env, err);
  if (!list) return Fail(req, list.error(), "", out, err);
  CniRuntime runtime(env.plugin_dirs);
  runtime.set_plugin_stderr(&err);
  json all = json::array();
  for (const auto& plugin : list->plugins) {
    auto path = cni::FindInPath(plugin.type, env.plugin_dirs);
    if (!path) return Fail(req, path.error(), list->cni_version, out, err);
    auto info = runtime.VersionInfo(plugin.type);
    if (!info) return Fail(req, info.error(), list->cni_version, out, err);
    json entry = {{"type", plugin.type}, {"path", *path}};
    entry["supportedVersions"] = info->value("supportedVersions", json::array());
    bool supports = false;
    for (const auto& v : entry["supportedVersions"]) supports |= v == list->cni_version;
    entry["supportsConfigVersion"] = supports;
    all.push_back(entry);
  }
  if (req.json_output) {
    out << json({{"network", list->name}, {"cniVersion", list->cni_version}, {"plugins", all}})
               .dump()
        << "\n";
    return kExitOk;
  }
  out << "network " << list->name << " (cniVersion " << list->cni_version << ")\n";
  for (const auto& p : all) {
    out << "  " << p["type"].get<std::string>() << "  " << p["path"].get<std::string>() << " ";
    for (const auto& v : p["supportedVersions"]) out << " " << v.get<std::string>();
    out << (p["supportsConfigVersion"].get<bool>() ? "" : "  (does NOT support the config's version)")
        << "\n";
  }
  return kExitOk;
}

int Gc(const Request& req, const ToolEnv& env, const NetworkConfigList& list,
       const CniRuntime& runtime, std::ostream& out, std::ostream& err) {
  std::optional<std::vector<cni::runtime::GcAttachment>> valid;
  if (req.keep) {
    const std::string default_if =
        !req.ifname.empty() ? req.ifname : !env.ifname.empty() ? env.ifname : "eth0";
    valid.emplace();
    for (const auto& k : *req.keep) {
      auto slash = k.find('/');
      std::string id = k.substr(0, slash);
      std::string ifname = slash == std::string::npos ? default_if : k.substr(slash + 1);
      if (id.empty() || ifname.empty()) {
        return Fail(req, Error(cni::Code::kInvalidEnv,
                               "--keep wants CONTAINERID[/IFNAME], got \"" + k + "\""),
                    list.cni_version, out, err);
      }
      valid->push_back({id, ifname});
    }
  }
  if (auto s = runtime.GcNetworkList(list, valid); !s) {
    return Fail(req, s.error(), list.cni_version, out, err);
  }
  return kExitOk;
}

void PrintResult(const Request& req, const json& result, std::ostream& out) {
  // The reference prints results indented by four spaces; --json is one line for scripts.
  out << (req.json_output ? result.dump() : result.dump(4)) << "\n";
}

int Add(const Request& req, const NetworkConfigList& list, const CniRuntime& runtime,
        const RuntimeConf& rt, std::ostream& out, std::ostream& err) {
  if (auto s = runtime.Preflight(list, rt); !s) {
    return Fail(req, s.error(), list.cni_version, out, err);
  }
  // Created only once nothing else can stop the ADD, and removed again if it fails.
  bool created_netns = false;
  if (!req.netns_name.empty() && !Exists(rt.netns)) {
    auto ns = cni::CreateNamedNetns(req.netns_name);
    if (!ns) return Fail(req, ns.error(), list.cni_version, out, err);
    created_netns = true;
  }
  // An attachment already in the cache is someone's live state: a failed second ADD
  // must not tear it down.
  auto before = runtime.cache().Read(list.name, rt.container_id, rt.ifname);
  bool was_attached = !before || before->has_value();
  auto result = runtime.AddNetworkList(list, rt);
  if (result) {
    PrintResult(req, *result, out);
    return kExitOk;
  }
  int code = Fail(req, result.error(), list.cni_version, out, err);
  if (req.cleanup && !was_attached) {
    // A runtime always follows a failed ADD with DEL; cnitool does it at once so a
    // failure leaves no veth or address reservation behind.
    if (auto s = runtime.DelNetworkList(list, rt); !s) {
      err << "cnitool: cleanup DEL after the failed ADD also failed: " << s.error().msg() << "\n";
    } else {
      err << "cnitool: ran DEL to undo the partial ADD\n";
    }
    if (created_netns) (void)cni::DeleteNamedNetns(req.netns_name);
  }
  return code;
}

}  // namespace

int RunRequest(const Request& req, const ToolEnv& env, std::ostream& out, std::ostream& err) {
  if (req.verb == "version") return Version(req, env, out, err);

  auto list = LoadNet(req, env, err);
  if (!list) return Fail(req, list.error(), "", out, err);
  CniRuntime runtime(env.plugin_dirs,
                     req.cache_dir.empty() ? cni::runtime::kDefaultCacheDir : req.cache_dir);
  runtime.set_plugin_stderr(&err);

  if (req.verb == "gc") return Gc(req, env, *list, runtime, out, err);
  if (req.verb == "status") {
    if (auto s = runtime.StatusNetworkList(*list); !s) {
      return Fail(req, s.error(), list->cni_version, out, err);
    }
    return kExitOk;
  }

  // Before any use: ADD may create it, DEL --rm-netns removes it, every verb hands
  // its path to the plugins; a name that is not one component would leave /run/netns.
  if (!req.netns_name.empty()) {
    if (auto s = cni::ValidateNetnsName(req.netns_name); !s) {
      return Fail(req, s.error(), list->cni_version, out, err);
    }
  }
  std::string netns_path =
      req.netns_name.empty() ? req.netns : cni::NamedNetnsPath(req.netns_name);
  if (netns_path.empty() && req.verb != "del") {
    return Fail(req, Error(cni::Code::kInvalidEnv, "a netns path (or --netns-name) is required"),
                list->cni_version, out, err);
  }
  auto rt = BuildRuntimeConf(req, env, netns_path);
  if (!rt) return Fail(req, rt.error(), list->cni_version, out, err);

  if (req.verb == "add") return Add(req, *list, runtime, *rt, out, err);
  if (req.verb == "check") {
    if (auto s = runtime.CheckNetworkList(*list, *rt); !s) {
      return Fail(req, s.error(), list->cni_version, out, err);
    }
    return kExitOk;
  }
  if (req.verb == "del") {
    if (auto s = runtime.DelNetworkList(*list, *rt); !s) {
      return Fail(req, s.error(), list->cni_version, out, err);
    }
    if (req.remove_netns && !req.netns_name.empty()) {
      if (auto s = cni::DeleteNamedNetns(req.netns_name); !s) {
        return Fail(req, s.error(), list->cni_version, out, err);
      }
    }
    return kExitOk;
  }
  return Fail(req, Error(cni::Code::kInvalidEnv, "unknown command \"" + req.verb + "\""), "",
              out, err);
}

}  // namespace cnitool
