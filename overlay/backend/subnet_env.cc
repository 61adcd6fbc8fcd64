#include "overlay/backend/subnet_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string_view>
#include <vector>

#include "libcni/sys/file.h"
#include "libcni/sys/number.h"

namespace linen::overlay {

namespace {

bool Unset(const cni::IpNet& n) { return n.prefix == 0 && n.addr.IsUnspecified(); }

// flannel writes the node subnet's first usable address with the prefix.
std::string FirstUsable(const cni::IpNet& subnet) {
  return cni::IpNet{subnet.Network().Next(), subnet.prefix}.ToString();
}

}  // namespace

bool SubnetEnv::has_ipv4() const { return !Unset(subnet); }
bool SubnetEnv::has_ipv6() const { return !Unset(ipv6_subnet); }

cni::Status WriteSubnetEnv(const std::string& path, const SubnetEnv& env) {
  auto bad = [&](const std::string& what) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "subnet file " + path + ": " + what);
  };
  if (!env.has_ipv4() && !env.has_ipv6()) return bad("no subnet of either family to write");
  if (env.has_ipv4() && Unset(env.network)) return bad("an IPv4 subnet without its network");
  if (env.has_ipv6() && Unset(env.ipv6_network)) return bad("an IPv6 subnet without its network");
  // flannel's order: the IPv4 pair, the IPv6 pair, MTU, masquerade.
  std::string text;
  if (env.has_ipv4()) {
    text += "FLANNEL_NETWORK=" + env.network.Masked().ToString() + "\n";
    text += "FLANNEL_SUBNET=" + FirstUsable(env.subnet) + "\n";
  }
  if (env.has_ipv6()) {
    text += "FLANNEL_IPV6_NETWORK=" + env.ipv6_network.Masked().ToString() + "\n";
    text += "FLANNEL_IPV6_SUBNET=" + FirstUsable(env.ipv6_subnet) + "\n";
  }
  text += "FLANNEL_MTU=" + std::to_string(env.mtu) + "\n";
  text += std::string("FLANNEL_IPMASQ=") + (env.ip_masq ? "true" : "false") + "\n";
  if (!env.backend.empty()) text += "LINEN_BACKEND=" + env.backend + "\n";
  if (!env.node.empty()) text += "LINEN_NODE=" + env.node + "\n";

  // Unchanged (every ADD after the first): no write, no rename, no directory scan.
  if (auto have = cni::ReadWholeFile(path); have && *have == text) return cni::OkStatus();
  // Stale temp names from an older linen (".tmp.<pid>", left by a SIGKILL between
  // write and rename) are swept before a write: the writer holds the node lock
  // (plugins) or is the node's only agent (linend). Nothing reads them meanwhile.
  if (auto s = RemoveSubnetEnvTemps(path); !s) return s;
  return cni::WriteFileAtomic(path, text, 0644);
}

cni::Status RemoveSubnetEnvTemps(const std::string& path) {
  const std::string dir = cni::DirName(path);
  const std::string legacy = cni::BaseName(path) + ".tmp.";
  std::vector<std::string> stale = {cni::AtomicTempPath(path)};
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::string_view(e->d_name).starts_with(legacy)) stale.push_back(dir + "/" + e->d_name);
    }
    closedir(d);
  }
  for (const std::string& f : stale) {
    if (unlink(f.c_str()) < 0 && errno != ENOENT) return cni::ErrnoError("remove " + f, errno);
  }
  return cni::OkStatus();
}

namespace {

// KEY=value lines ('#' comments, unknown keys kept for the caller to ignore).
cni::Result<std::map<std::string, std::string>> ReadVars(const std::string& path,
                                                         const std::string& what) {
  auto text = cni::ReadWholeFile(path);
  if (!text) return text.error().Context(what);
  std::map<std::string, std::string> vars;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    vars[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return vars;
}

}  // namespace

cni::Result<SubnetEnv> ReadSubnetEnv(const std::string& path) {
  auto read = ReadVars(path, "subnet file");
  if (!read) return read.error();
  std::map<std::string, std::string>& vars = *read;
  auto bad = [&](const std::string& what) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "subnet file " + path + ": " + what);
  };
  SubnetEnv env;
  // Each family is a pair, and at least one pair is there.
  struct Pair {
    const char* network_key;
    const char* subnet_key;
    cni::Family family;
    cni::IpNet* network;
    cni::IpNet* subnet;
  };
  const Pair pairs[] = {
      {"FLANNEL_NETWORK", "FLANNEL_SUBNET", cni::Family::kV4, &env.network, &env.subnet},
      {"FLANNEL_IPV6_NETWORK", "FLANNEL_IPV6_SUBNET", cni::Family::kV6, &env.ipv6_network,
       &env.ipv6_subnet}};
  bool any = false;
  for (const Pair& p : pairs) {
    const bool has_net = vars.count(p.network_key) > 0, has_sub = vars.count(p.subnet_key) > 0;
    if (!has_net && !has_sub) continue;
    if (!has_net || !has_sub) {
      return bad(std::string(has_net ? p.subnet_key : p.network_key) + " is missing (" +
                 (has_net ? p.network_key : p.subnet_key) + " is set)");
    }
    const std::string fam = p.family == cni::Family::kV4 ? "IPv4" : "IPv6";
    for (const char* key : {p.network_key, p.subnet_key}) {
      auto net = cni::IpNet::Parse(vars[key]);
      if (!net) return bad(std::string(key) + " is not a CIDR: " + vars[key]);
      if (net->family() != p.family) return bad(std::string(key) + " is not " + fam + ": " + vars[key]);
      *(key == p.network_key ? p.network : p.subnet) = net->Masked();
    }
    any = true;
  }
  if (!any) return bad("FLANNEL_NETWORK is missing (and there is no FLANNEL_IPV6_NETWORK either)");
  if (!vars.count("FLANNEL_MTU")) return bad("FLANNEL_MTU is missing");
  // 68: the least an IPv4 link must carry (RFC 791); 65535: the most an interface takes.
  auto mtu = cni::ParseDecimal(vars["FLANNEL_MTU"], 68, 65535);
  if (!mtu) {
    return bad("FLANNEL_MTU \"" + vars["FLANNEL_MTU"] + "\" is not a whole number from 68 to 65535");
  }
  env.mtu = static_cast<int>(*mtu);
  env.ip_masq = vars.count("FLANNEL_IPMASQ") ? vars["FLANNEL_IPMASQ"] == "true" : false;
  env.backend = vars["LINEN_BACKEND"];
  env.node = vars["LINEN_NODE"];
  return env;
}

std::string ReadyMarkPath(const std::string& subnet_file) { return subnet_file + ".ready"; }

cni::Status WriteReadyMark(const std::string& path, const ReadyMark& mark) {
  std::string reason = mark.reason;
  for (char& c : reason) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  const auto until =
      std::chrono::duration_cast<std::chrono::seconds>(mark.until.time_since_epoch()).count();
  std::string text = "# linend's readiness for the plugins' STATUS; stale after LINEN_READY_UNTIL\n";
  text += std::string("LINEN_READY=") + (mark.ready ? "true" : "false") + "\n";
  text += "LINEN_READY_UNTIL=" + std::to_string(until) + "\n";
  if (!mark.ready) text += "LINEN_NOT_READY_REASON=" + reason + "\n";
  return cni::WriteFileAtomic(path, text, 0644, cni::Durability::kAtomicOnly);
}

cni::Status RemoveReadyMark(const std::string& path) {
  for (const std::string& f : {path, cni::AtomicTempPath(path)}) {
    if (unlink(f.c_str()) < 0 && errno != ENOENT) return cni::ErrnoError("remove " + f, errno);
  }
  return cni::OkStatus();
}

// What system_clock's nanoseconds hold (year 2262).
constexpr int64_t kMaxEpochSeconds = 9'000'000'000;

cni::Result<ReadyMark> ReadReadyMark(const std::string& path) {
  auto vars = ReadVars(path, "readiness mark");
  if (!vars) return vars.error();
  auto bad = [&](const std::string& what) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "readiness mark " + path + ": " + what);
  };
  ReadyMark mark;
  const std::string ready = (*vars)["LINEN_READY"];
  if (ready != "true" && ready != "false") return bad("LINEN_READY is not true or false");
  mark.ready = ready == "true";
  auto until = cni::ParseDecimal((*vars)["LINEN_READY_UNTIL"], 0, kMaxEpochSeconds);
  if (!until) return bad("LINEN_READY_UNTIL is not epoch seconds");
  mark.until = std::chrono::system_clock::time_point(std::chrono::seconds(*until));
  mark.reason = (*vars)["LINEN_NOT_READY_REASON"];
  return mark;
}

}  // namespace linen::overlay
