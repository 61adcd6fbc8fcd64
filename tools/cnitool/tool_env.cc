#include "tools/cnitool/tool_env.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "libcni/runtime/conf_files.h"
#include "libcni/sha512.h"

namespace cnitool {

cni::Result<cni::runtime::CniArgPairs> ParseToolCniArgs(std::string_view text) {
  cni::runtime::CniArgPairs out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(';', start);
    std::string_view pair = text.substr(start, end == std::string_view::npos ? end : end - start);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == pair.size() ||
        pair.find('=', eq + 1) != std::string_view::npos) {
      return cni::Error(cni::Code::kInvalidEnv,
                        "invalid CNI_ARGS pair \"" + std::string(pair) + "\" (want K=V;K2=V2)");
    }
    out.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

cni::Result<cni::json> ParseCapArgs(std::string_view text) {
  if (text.empty()) return cni::json::object();
  try {
    cni::json j = cni::json::parse(text);
    if (j.is_null()) return cni::json::object();
    if (j.is_object()) return j;
  } catch (const cni::json::exception& e) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("CAP_ARGS is not valid JSON: ") + e.what());
  }
  return cni::Error(cni::Code::kDecodingFailure,
                    "CAP_ARGS must be a JSON object such as {\"mac\":\"0a:58:...\"}");
}

std::string AbsolutePath(std::string_view path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.is_relative()) {
    std::error_code ec;
    p = fs::current_path(ec) / p;
  }
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string ContainerIdFor(std::string_view abs_netns_path) {
  return "cnitool-" + cni::HexPrefix(cni::Sha512(abs_netns_path), 10);
}

std::vector<std::string> PluginDirs(const char* cni_path_env) {
  std::vector<std::string> dirs;
  std::string_view s = cni_path_env ? cni_path_env : "";
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(':', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) dirs.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  if (dirs.empty()) dirs.push_back(kDefaultCniPath);
  return dirs;
}

ToolEnv ReadToolEnv(const std::map<std::string, std::string>& overrides) {
  auto get = [&](const char* key) -> const char* {
    if (auto it = overrides.find(key); it != overrides.end()) return it->second.c_str();
    return std::getenv(key);
  };
  auto str = [&](const char* key) {
    const char* v = get(key);
    return std::string(v ? v : "");
  };
  ToolEnv env;
  env.netconf_path = str("NETCONFPATH");
  if (env.netconf_path.empty()) env.netconf_path = cni::runtime::kDefaultNetConfPath;
  env.plugin_dirs = PluginDirs(get("CNI_PATH"));
  env.ifname = str("CNI_IFNAME");
  env.container_id = str("CNI_CONTAINERID");
  env.cni_args = str("CNI_ARGS");
  env.cap_args = str("CAP_ARGS");
  return env;
}

}  // namespace cnitool
