// NetConf parsing, versions and the spec's name rules. Results live in result.cc.
#include "libcni/types.h"

#include <cctype>
#include <cstdio>
#include <limits>

#include "libcni/json_util.h"

namespace cni {
namespace {

using internal::DecodeError;

// ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ (pkg/utils cniReg), without pulling in <regex>.
bool MatchesCniName(std::string_view s) {
  if (s.empty()) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// Go's unicode.IsSpace beyond ASCII: U+0085, U+00A0, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000, matched on their UTF-8 bytes at `i`.
bool IsUnicodeSpaceAt(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (b(0) == 0xc2) return b(1) == 0x85 || b(1) == 0xa0;
  if (b(0) == 0xe1) return b(1) == 0x9a && b(2) == 0x80;
  if (b(0) == 0xe2 && b(1) == 0x80) {
    return (b(2) >= 0x80 && b(2) <= 0x8a) || b(2) == 0xa8 || b(2) == 0xa9 || b(2) == 0xaf;
  }
  if (b(0) == 0xe2 && b(1) == 0x81) return b(2) == 0x9f;
  if (b(0) == 0xe3) return b(1) == 0x80 && b(2) == 0x80;
  return false;
}

// "a.b.c" with plain decimal parts; false otherwise.
bool ParseVersion(std::string_view v, int out[3]) {
  int part = 0;
  size_t i = 0;
  while (part < 3) {
    if (i >= v.size() || !std::isdigit(static_cast<unsigned char>(v[i]))) return false;
    long n = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
      n = n * 10 + (v[i] - '0');
      if (n > 1000000) return false;
      ++i;
    }
    out[part++] = static_cast<int>(n);
    if (part < 3) {
      if (i >= v.size() || v[i] != '.') return false;
      ++i;
    }
  }
  return i == v.size();
}

std::string SupportedList() {
  std::string s = "[";
  for (const auto& v : SupportedVersions()) {
    if (s.size() > 1) s += ' ';
    s += '"' + v + '"';
  }
  return s + "]";
}

}  // namespace

const std::vector<std::string>& SupportedVersions() {
  static const std::vector<std::string> kVersions = {"0.1.0", "0.2.0", "0.3.0", "0.3.1",
                                                     "0.4.0", "1.0.0", "1.1.0"};
  return kVersions;
}

bool IsSupportedVersion(std::string_view v) {
  for (const auto& s : SupportedVersions()) {
    if (s == v) return true;
  }
  return false;
}

int CompareVersions(std::string_view a, std::string_view b) {
  int va[3], vb[3];
  bool ok_a = ParseVersion(a, va), ok_b = ParseVersion(b, vb);
  if (!ok_a || !ok_b) return static_cast<int>(ok_a) - static_cast<int>(ok_b);
  for (int i = 0; i < 3; ++i) {
    if (va[i] != vb[i]) return va[i] < vb[i] ? -1 : 1;
  }
  return 0;
}

bool VersionAtLeast(std::string_view v, std::string_view min) {
  return CompareVersions(v, min) >= 0;
}

Error IncompatibleVersionError(std::string_view version) {
  return Error(Code::kIncompatibleVersion, "incompatible CNI versions",
               "config is \"" + std::string(version) + "\", plugin supports " + SupportedList());
}

std::vector<std::string> NetConf::RequestedIps() const {
  std::vector<std::string> out;
  auto collect = [&out](const json& list) {
    if (!list.is_array()) return;
    for (const auto& e : list) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  };
  if (args.is_object()) {
    auto cni = args.find("cni");
    if (cni != args.end() && cni->is_object()) {
      auto ips = cni->find("ips");
      if (ips != cni->end()) collect(*ips);
    }
  }
  if (runtime_config.is_object()) {
    auto ips = runtime_config.find("ips");
    if (ips != runtime_config.end()) collect(*ips);
  }
  return out;
}

Result<json> ParseJsonText(std::string_view text, std::string_view what) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return DecodeError(what, "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    constexpr size_t kMaxMessage = 512;
    std::string msg = e.what();
    if (msg.size() > kMaxMessage) msg = msg.substr(0, kMaxMessage) + "... (truncated)";
    return DecodeError(what, msg);
  }
}

std::optional<int64_t> JsonInteger(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

Result<NetConf> ParseNetConf(std::string_view stdin_data) {
  constexpr std::string_view kWhere = "network config";
  NetConf conf;
  auto parsed = ParseJsonText(stdin_data, "error parsing network config");
  if (!parsed) return parsed.error();
  conf.raw = std::move(*parsed);
  if (!conf.raw.is_object()) return DecodeError(kWhere, "must be a JSON object");
  const json& j = conf.raw;

  // Same order as skel: decode, then name, then version.
  if (auto s = internal::GetString(j, "name", kWhere, &conf.name); !s) return s.error();
  if (auto s = internal::GetString(j, "cniVersion", kWhere, &conf.cni_version); !s) {
    return s.error();
  }
  if (auto s = internal::GetString(j, "type", kWhere, &conf.type); !s) return s.error();
  if (auto s = ValidateNetworkName(conf.name); !s) return s.error();
  // The Go reference reads a missing cniVersion as 0.1.0.
  if (conf.cni_version.empty()) conf.cni_version = "0.1.0";
  if (!IsSupportedVersion(conf.cni_version)) return IncompatibleVersionError(conf.cni_version);
  if (conf.type.empty()) return Error(Code::kInvalidNetworkConfig, "missing plugin type");
  if (conf.type.find('/') != std::string::npos) {
    return Error(Code::kInvalidNetworkConfig,
                 "invalid plugin type \"" + conf.type + "\": must not contain '/'");
  }

  if (auto s = internal::GetObject(j, "ipam", kWhere, &conf.ipam); !s) return s.error();
  if (auto s = internal::GetString(conf.ipam, "type", "ipam", &conf.ipam_type); !s) {
    return s.error();
  }
  if (auto it = j.find("dns"); it != j.end() && !it->is_null()) {
    auto dns = ParseDns(*it);
    if (!dns) return dns.error();
    conf.dns = std::move(*dns);
  }
  if (auto s = internal::GetObject(j, "runtimeConfig", kWhere, &conf.runtime_config); !s) {
    return s.error();
  }
  if (auto s = internal::GetObject(j, "args", kWhere, &conf.args); !s) return s.error();
  if (auto it = j.find("prevResult"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return DecodeError(kWhere, "prevResult must be an object");
    conf.prev_result = *it;
  }
  return conf;
}

Status ValidateContainerId(std::string_view id) {
  if (id.empty()) return Error(Code::kUnknownContainer, "missing containerID");
  if (!MatchesCniName(id)) {
    return Error(Code::kInvalidEnv, "invalid characters in containerID", std::string(id));
  }
  return OkStatus();
}

Status ValidateInterfaceName(std::string_view ifname) {
  constexpr size_t kMaxLen = 15;  // IFNAMSIZ - 1
  if (ifname.empty()) return Error(Code::kInvalidEnv, "interface name is empty");
  if (ifname.size() > kMaxLen) {
    return Error(Code::kInvalidEnv, "interface name is too long",
                 "interface name should be less than 16 characters");
  }
  if (ifname == "." || ifname == "..") {
    return Error(Code::kInvalidEnv, "interface name is . or ..");
  }
  for (size_t i = 0; i < ifname.size(); ++i) {
    char c = ifname[i];
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
        IsUnicodeSpaceAt(ifname, i)) {
      return Error(Code::kInvalidEnv,
                   "interface name contains / or : or whitespace characters");
    }
  }
  return OkStatus();
}

Status ValidateNetworkName(std::string_view name) {
  if (name.empty()) return Error(Code::kInvalidNetworkConfig, "missing network name");
  if (!MatchesCniName(name)) {
    return Error(Code::kInvalidNetworkConfig, "invalid characters found in network name",
                 std::string(name));
  }
  return OkStatus();
}

}  // namespace cni
