#include "overlay/backend/subnet_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>

namespace linen::overlay {
namespace {

cni::Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return cni::OkStatus();
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (mkdir(cur.c_str(), 0755) < 0 && errno != EEXIST) {
      return cni::ErrnoError("create directory " + cur, errno);
    }
  }
  return cni::OkStatus();
}

std::string DirOf(const std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos) return ".";
  return pos == 0 ? "/" : path.substr(0, pos);
}

}  // namespace

cni::Status WriteSubnetEnv(const std::string& path, const SubnetEnv& env) {
  std::string dir = DirOf(path);
  if (auto s = MakeDirs(dir); !s) return s;
  std::string text;
  text += "FLANNEL_NETWORK=" + env.network.Masked().ToString() + "\n";
  // flannel writes the node subnet's first usable address with the prefix.
  text += "FLANNEL_SUBNET=" + cni::IpNet{env.subnet.Network().Next(), env.subnet.prefix}.ToString() + "\n";
  text += "FLANNEL_MTU=" + std::to_string(env.mtu) + "\n";
  text += std::string("FLANNEL_IPMASQ=") + (env.ip_masq ? "true" : "false") + "\n";
  if (!env.backend.empty()) text += "LINEN_BACKEND=" + env.backend + "\n";
  if (!env.node.empty()) text += "LINEN_NODE=" + env.node + "\n";

  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return cni::ErrnoError("create " + tmp, errno);
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return cni::ErrnoError("write " + tmp, err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (fsync(fd) < 0 || close(fd) < 0) {
    int err = errno;
    unlink(tmp.c_str());
    return cni::ErrnoError("sync " + tmp, err);
  }
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    unlink(tmp.c_str());
    return cni::ErrnoError("rename " + tmp + " to " + path, err);
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
  try {
    env.mtu = std::stoi(vars["FLANNEL_MTU"]);
  } catch (const std::exception&) {
    return bad("FLANNEL_MTU is not a number: " + vars["FLANNEL_MTU"]);
  }
  if (env.mtu < 68) return bad("FLANNEL_MTU " + vars["FLANNEL_MTU"] + " is too small");
  env.ip_masq = vars.count("FLANNEL_IPMASQ") ? vars["FLANNEL_IPMASQ"] == "true" : false;
  env.backend = vars["LINEN_BACKEND"];
  env.node = vars["LINEN_NODE"];
  return env;
}

}  // namespace linen::overlay
