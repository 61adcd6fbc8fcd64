#include "libcni/runtime/conf_files.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace cni::runtime {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("error reading " + path, errno ? errno : ENOENT);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return ErrnoError("error reading " + path, errno ? errno : EIO);
  return ss.str();
}

bool HasExt(const std::string& path, std::string_view ext) {
  return fs::path(path).extension() == ext;
}

// The name a file defines, or "" if it cannot be read; used only for the
// duplicate-name warning and the "networks present" hint, never for loading.
std::string PeekName(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes) return "";
  try {
    json j = json::parse(*bytes);
    if (j.is_object() && j.contains("name") && j["name"].is_string()) {
      return j["name"].get<std::string>();
    }
  } catch (const json::exception&) {
  }
  return "";
}

}  // namespace

Result<std::vector<std::string>> ConfFiles(const std::string& dir,
                                           const std::vector<std::string>& exts) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return ErrnoError("read config dir " + dir, ec.value());
  }
  for (const auto& entry : it) {
    std::error_code dec;
    // Symlinks to files count, directories never do (as Go's DirEntry.IsDir + read).
    if (entry.is_directory(dec)) continue;
    std::string ext = entry.path().extension().string();
    if (std::find(exts.begin(), exts.end(), ext) != exts.end()) {
      out.push_back((fs::path(dir) / entry.path().filename()).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<PluginConfig> ConfFromFile(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes) return bytes.error();
  auto conf = PluginConfigFromBytes(*bytes);
  if (!conf) return conf.error().Context(path);
  return conf;
}

Result<NetworkConfigList> ConfListFromFile(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes) return bytes.error();
  auto list = ConfListFromBytes(*bytes);
  if (!list) return list.error().Context(path);
  list->source = path;
  if (!list->load_only_inlined_plugins) {
    std::string sub = (fs::path(path).parent_path() / list->name).string();
    auto files = ConfFiles(sub, {".conf"});
    if (!files) return files.error().Context("failed to read plugin config files in " + sub);
    for (const auto& f : *files) {
      auto p = ConfFromFile(f);
      if (!p) return p.error();
      list->plugins.push_back(std::move(*p));
    }
  }
  if (list->plugins.empty()) {
    return Error(Code::kInvalidNetworkConfig, path + ": no plugin configs found");
  }
  return list;
}

Result<NetworkConfigList> LoadNetworkFile(const std::string& path) {
  if (HasExt(path, ".conflist")) return ConfListFromFile(path);
  if (!HasExt(path, ".conf") && !HasExt(path, ".json")) {
    return Error(Code::kInvalidNetworkConfig,
                 path + ": unknown config file extension (want .conflist, .conf or .json)");
  }
  auto conf = ConfFromFile(path);
  if (!conf) return conf.error();
  auto list = ConfListFromConf(*conf);
  if (!list) return list.error().Context(path);
  list->source = path;
  return list;
}

Result<NetworkConfigList> LoadNetworkConf(const std::string& dir, const std::string& name,
                                          std::vector<std::string>* warnings) {
  auto lists = ConfFiles(dir, {".conflist"});
  if (!lists) return lists.error();
  auto singles = ConfFiles(dir, {".conf", ".json"});
  if (!singles) return singles.error();

  std::vector<std::string> order = *lists;
  order.insert(order.end(), singles->begin(), singles->end());

  std::optional<NetworkConfigList> found;
  size_t found_at = 0;
  for (size_t i = 0; i < order.size() && !found; ++i) {
    const std::string& f = order[i];
    auto list = i < lists->size() ? ConfListFromFile(f) : LoadNetworkFile(f);
    if (!list) return list.error();
    if (list->name == name) {
      found = std::move(*list);
      found_at = i;
    }
  }

  if (!found) {
    if (order.empty()) {
      return Error(Code::kInvalidNetworkConfig, "no net configurations found in " + dir, "",
                   Cause::kNotFound);
    }
    std::string present;
    for (const auto& f : order) {
      std::string n = PeekName(f);
      if (n.empty()) continue;
      if (!present.empty()) present += ", ";
      present += "\"" + n + "\"";
    }
    return Error(Code::kInvalidNetworkConfig,
                 "no net configuration with name \"" + name + "\" in " + dir +
                     (present.empty() ? "" : " (found: " + present + ")"),
                 "", Cause::kNotFound);
  }

  if (warnings) {
    for (size_t i = found_at + 1; i < order.size(); ++i) {
      if (PeekName(order[i]) == name) {
        warnings->push_back("network \"" + name + "\" is also defined in " + order[i] +
                            "; using " + found->source + " (first in lexical order)");
      }
    }
  }
  return std::move(*found);
}

}  // namespace cni::runtime
