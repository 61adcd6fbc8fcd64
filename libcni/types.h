// CNI spec types: the network configuration a plugin reads on stdin and the result
// it prints, in every cniVersion from 0.1.0 to 1.1.0. The in-memory result is the
// 1.1.0 shape; conversion to and from older shapes follows the reference libcni.
// This is the only public header that includes nlohmann/json.
#ifndef LINEN_LIBCNI_TYPES_H_
#define LINEN_LIBCNI_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace cni {

using json = nlohmann::json;

struct Interface {
  std::string name;
  std::string mac;
  std::optional<int> mtu;        // 1.0.0+
  std::string sandbox;
  std::string socket_path;       // 1.1.0
  std::string pci_id;            // 1.1.0
  bool operator==(const Interface&) const = default;
};

struct IpConfig {
  IpNet address;                  // with host bits, e.g. 10.1.0.5/24
  std::optional<IpAddr> gateway;
  std::optional<int> interface;   // index into interfaces
  bool operator==(const IpConfig&) const = default;
};

struct Route {
  IpNet dst;
  std::optional<IpAddr> gw;
  std::optional<int> mtu, advmss, priority, table, scope;  // 1.1.0 extras
  bool operator==(const Route&) const = default;
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  bool empty() const {
    return nameservers.empty() && domain.empty() && search.empty() && options.empty();
  }
  bool operator==(const Dns&) const = default;
};
Result<Dns> ParseDns(const json& j);  // {nameservers,domain,search,options}
json DnsToJson(const Dns& dns);

// The result of ADD (and of IPAM ADD, which leaves interfaces empty).
struct AddResult {
  std::string cni_version;  // version it was parsed from / will be printed in
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;
  bool operator==(const AddResult&) const = default;
};

// Any supported version's JSON -> AddResult (0.1/0.2 ip4/ip6 become ips + routes).
// `version` is the version to interpret it as; empty means j["cniVersion"].
Result<AddResult> ParseResult(const json& j, std::string_view version = "");
Result<AddResult> ParseResultText(std::string_view text, std::string_view version = "");
// AddResult -> JSON in `version`. 0.1/0.2: first v4 and first v6 only, error (code 1)
// if there is no IP at all. 0.3.x/0.4.0: ips[].version, interfaces without mtu etc.
Result<json> ResultToJson(const AddResult& r, std::string_view version);

// Parses JSON from outside (stdin, files, plugin output). Nesting deeper than
// kMaxJsonDepth is refused before parsing: nlohmann copies and prints values
// recursively, so a 100k-deep document would overflow the stack later. The parser's
// message is cut short because it quotes the offending token, which can be the whole
// input. Errors are code 6 and start with `what`.
inline constexpr size_t kMaxJsonDepth = 256;
Result<json> ParseJsonText(std::string_view text, std::string_view what);

// `v` as an integer when it is one and fits int64. Floats (1.5, 1e30) and integers
// beyond 64 bits (which the parser stores as floats) give nullopt: nlohmann's
// get<int>() on those is an out-of-range float conversion, undefined behaviour.
std::optional<int64_t> JsonInteger(const json& v);

// Versions.
inline constexpr const char* kCurrentVersion = "1.1.0";
const std::vector<std::string>& SupportedVersions();  // 0.1.0 .. 1.1.0
bool IsSupportedVersion(std::string_view v);
// Semver-ish compare of "a.b.c"; unparsable sorts first. <0, 0, >0.
int CompareVersions(std::string_view a, std::string_view b);
bool VersionAtLeast(std::string_view v, std::string_view min);
// Code 1 "incompatible CNI versions", details naming `version` and the supported list.
Error IncompatibleVersionError(std::string_view version);

// The plugin configuration on stdin. Well-known keys are parsed; `raw` keeps the
// whole object so unknown keys survive re-serialisation (delegation, caching).
struct NetConf {
  std::string cni_version;
  std::string name;
  std::string type;
  json raw = json::object();
  json ipam = json::object();     // {} when absent
  std::string ipam_type;          // ipam.type, empty when none
  Dns dns;
  json runtime_config = json::object();
  json args = json::object();
  std::optional<json> prev_result;  // raw, in cni_version's shape
  // Requested addresses from args.cni.ips and runtimeConfig.ips (both are lists of
  // "ip" or "ip/prefix" strings), in that order; parsing is the consumer's job.
  std::vector<std::string> RequestedIps() const;
};

// Parses and validates: JSON syntax/types -> 6; missing/unsupported cniVersion -> 1;
// empty/invalid name or type -> 7. An empty cniVersion is "0.1.0" as the reference.
Result<NetConf> ParseNetConf(std::string_view stdin_data);

// Spec validation rules (pkg/utils): container ID 3/4, interface name 4, network name 7.
Status ValidateContainerId(std::string_view id);
Status ValidateInterfaceName(std::string_view ifname);
Status ValidateNetworkName(std::string_view name);

}  // namespace cni

#endif  // LINEN_LIBCNI_TYPES_H_
