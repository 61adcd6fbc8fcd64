#include "libcni/runtime/result_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "libcni/base64.h"
#include "libcni/sys/file.h"

namespace cni::runtime {
namespace {

namespace fs = std::filesystem;

// Go's encoding/json escapes <, > and & in strings; doing the same keeps our files
// byte-identical to the reference's for the same content.
std::string GoDump(const nlohmann::ordered_json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string SerializeCacheEntry(const CacheEntry& e) {
  // The reference's field order (its struct's), which ordered_json keeps; nested
  // objects convert with their keys sorted, as Go marshals maps.
  nlohmann::ordered_json out;
  out["kind"] = kCacheKindV1;
  out["containerId"] = e.container_id;
  out["config"] = Base64Encode(e.config);
  out["ifName"] = e.ifname;
  out["networkName"] = e.network_name;
  if (!e.netns.empty()) out["netns"] = e.netns;
  if (!e.cni_args.empty()) {
    nlohmann::ordered_json& args = out["cniArgs"] = nlohmann::ordered_json::array();
    for (const auto& [k, v] : e.cni_args) args.push_back({k, v});
  }
  if (e.capability_args.is_object() && !e.capability_args.empty()) {
    out["capabilityArgs"] = nlohmann::ordered_json(e.capability_args);
  }
  if (e.result && e.result->is_object() && !e.result->empty()) {
    out["result"] = nlohmann::ordered_json(*e.result);
  }
  return GoDump(out);
}

Result<CacheEntry> ParseCacheEntry(std::string_view bytes) {
  json j;
  try {
    j = json::parse(bytes);
  } catch (const json::exception& ex) {
    return Error(Code::kDecodingFailure, std::string("invalid JSON: ") + ex.what());
  }
  if (!j.is_object()) return Error(Code::kDecodingFailure, "not a JSON object");
  CacheEntry e;
  if (j.value("kind", json()) != kCacheKindV1) {
    e.legacy = true;
    e.result = j;
    return e;
  }
  try {
    auto str = [&](const char* key) {
      auto it = j.find(key);
      return it == j.end() || it->is_null() ? std::string() : it->get<std::string>();
    };
    e.container_id = str("containerId");
    e.ifname = str("ifName");
    e.network_name = str("networkName");
    e.netns = str("netns");
    auto config = Base64Decode(str("config"));
    if (!config) return Error(Code::kDecodingFailure, "config is not valid base64");
    e.config = std::move(*config);
    if (auto it = j.find("cniArgs"); it != j.end() && !it->is_null()) {
      for (const auto& pair : *it) {
        if (!pair.is_array() || pair.size() != 2) {
          return Error(Code::kDecodingFailure, "cniArgs must be [[\"K\",\"V\"],...]");
        }
        e.cni_args.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
      }
    }
    if (auto it = j.find("capabilityArgs"); it != j.end() && it->is_object()) {
      e.capability_args = *it;
    }
    if (auto it = j.find("result"); it != j.end() && it->is_object()) e.result = *it;
  } catch (const json::exception& ex) {
    return Error(Code::kDecodingFailure, std::string("unexpected field type: ") + ex.what());
  }
  return e;
}

Result<std::string> ResultCache::FilePath(std::string_view network, std::string_view container_id,
                                          std::string_view ifname) const {
  if (network.empty() || container_id.empty() || ifname.empty()) {
    return Error(Code::kInvalidEnv,
                 "cache file path requires network name (\"" + std::string(network) +
                     "\"), container ID (\"" + std::string(container_id) +
                     "\"), and interface name (\"" + std::string(ifname) + "\")");
  }
  return dir_ + "/results/" + std::string(network) + "-" + std::string(container_id) + "-" +
         std::string(ifname);
}

Status ResultCache::Write(const CacheEntry& e) const {
  auto path = FilePath(e.network_name, e.container_id, e.ifname);
  if (!path) return path.error();
  // 0700 as the reference makes them: results hold netns paths and args of every
  // container.
  if (auto s = MakeDirs(dir_ + "/results", 0700); !s) return s.error().Context("cache dir");
  if (auto s = WriteFileAtomic(*path, SerializeCacheEntry(e), 0600); !s) {
    return s.error().Context("write cache file");
  }
  return OkStatus();
}

Result<std::optional<CacheEntry>> ResultCache::Read(std::string_view network,
                                                    std::string_view container_id,
                                                    std::string_view ifname) const {
  auto path = FilePath(network, container_id, ifname);
  if (!path) return path.error();
  std::ifstream in(*path, std::ios::binary);
  if (!in) return std::optional<CacheEntry>();
  std::ostringstream ss;
  ss << in.rdbuf();
  auto e = ParseCacheEntry(ss.str());
  if (!e) return e.error().Context("cache file " + *path);
  return std::optional<CacheEntry>(std::move(*e));
}

Status ResultCache::Remove(std::string_view network, std::string_view container_id,
                           std::string_view ifname) const {
  auto path = FilePath(network, container_id, ifname);
  if (!path) return OkStatus();  // nothing could have been written under it
  // With it, the temp name a writer killed mid-replace left: nothing else removes it.
  for (const std::string& f : {*path, AtomicTempPath(*path)}) {
    if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("remove cache file " + f, errno);
    }
  }
  return OkStatus();
}

std::vector<CacheEntry> ResultCache::List(std::string_view container_id) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/results", ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<CacheEntry> out;
  for (const auto& name : names) {
    // A writer's temp file: ".<name>.tmp" now, "<name>.tmp.<pid>" from older linen.
    if (name.starts_with(".") || name.find(".tmp.") != std::string::npos) continue;
    std::ifstream in(dir_ + "/results/" + name, std::ios::binary);
    if (!in) continue;
    std::ostringstream ss;
    ss << in.rdbuf();
    auto e = ParseCacheEntry(ss.str());
    if (!e || e->legacy) continue;
    if (!container_id.empty() && e->container_id != container_id) continue;
    if (e->ifname.empty() || e->network_name.empty()) continue;
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace cni::runtime
