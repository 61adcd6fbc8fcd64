#include "overlay/backend/subnet_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

#include "libcni/sys/file.h"
#include "libcni/sys/number.h"

namespace linen::overlay {

cni::Status WriteSubnetEnv(const std::string& path, const SubnetEnv& env) {
  std::string text;
  text += "FLANNEL_NETWORK=" + env.network.Masked().ToString() + "\n";
  // flannel writes the node subnet's first usable address with the prefix.
  text += "FLANNEL_SUBNET=" + cni::IpNet{env.subnet.Network().Next(), env.subnet.prefix}.ToString() + "\n";
  text += "FLANNEL_MTU=" + std::to_string(env.mtu) + "\n";
  text += std::string("FLANNEL_IPMASQ=") + (env.ip_masq ? "true" : "false") + "\n";
  if (!env.backend.empty()) text += "LINEN_BACKEND=" + env.backend + "\n";
  if (!env.node.empty()) text += "LINEN_NODE=" + env.node + "\n";

  // Stale temp names from an older linen (".tmp.<pid>", left by a SIGKILL between
  // write and rename) are swept here: the writer holds the node lock (plugins) or is
  // the node's only agent (linend).
  if (auto s = RemoveSubnetEnvTemps(path); !s) return s;
  // Unchanged (every ADD after the first): no write, no rename.
  {
    std::ifstream in(path);
    std::stringstream have;
    if (in && (have << in.rdbuf()) && have.str() == text) return cni::OkStatus();
  }
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

cni::Result<SubnetEnv> ReadSubnetEnv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return cni::ErrnoError("read subnet file " + path, errno);
  std::map<std::string, std::string> vars;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  auto bad = [&](const std::string& what) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "subnet file " + path + ": " + what);
  };
  SubnetEnv env;
  for (const char* key : {"FLANNEL_NETWORK", "FLANNEL_SUBNET", "FLANNEL_MTU"}) {
    if (!vars.count(key)) return bad(std::string(key) + " is missing");
  }
  auto net = cni::IpNet::Parse(vars["FLANNEL_NETWORK"]);
  if (!net) return bad("FLANNEL_NETWORK is not a CIDR: " + vars["FLANNEL_NETWORK"]);
  env.network = net->Masked();
  auto sub = cni::IpNet::Parse(vars["FLANNEL_SUBNET"]);
  if (!sub) return bad("FLANNEL_SUBNET is not a CIDR: " + vars["FLANNEL_SUBNET"]);
  env.subnet = sub->Masked();
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

}  // namespace linen::overlay
