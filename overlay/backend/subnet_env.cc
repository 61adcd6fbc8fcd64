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

#include "netns/netns.h"

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

std::string BaseOf(const std::string& path) {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

cni::Status WriteAll(int fd, std::string_view text, const std::string& what) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cni::ErrnoError("write " + what, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (fsync(fd) < 0) return cni::ErrnoError("sync " + what, errno);
  return cni::OkStatus();
}

// Gives the anonymous O_TMPFILE inode `fd` the name `to`. /proc/self/fd with
// AT_SYMLINK_FOLLOW works without CAP_DAC_READ_SEARCH (unlike AT_EMPTY_PATH).
int LinkTmpfile(int fd, const std::string& to) {
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW);
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
  return WriteFileAtomic(path, text, 0644);
}

std::string AtomicTempPath(const std::string& path) {
  return DirOf(path) + "/." + BaseOf(path) + ".tmp";
}

cni::Status WriteFileAtomic(const std::string& path, std::string_view text, mode_t mode) {
  const std::string dir = DirOf(path);
  if (auto s = MakeDirs(dir); !s) return s;
  const std::string tmp = AtomicTempPath(path);
  // An unnamed file first: killed before it is linked, it vanishes with the process.
  cni::UniqueFd fd(open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  if (!fd) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      return cni::ErrnoError("create a file in " + dir, errno);
    }
    // No O_TMPFILE on this filesystem: a fixed temp name, truncated by the next writer.
    fd = cni::UniqueFd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) return cni::ErrnoError("create " + tmp, errno);
    if (auto s = WriteAll(fd.get(), text, tmp); !s) {
      unlink(tmp.c_str());
      return s;
    }
  } else {
    if (auto s = WriteAll(fd.get(), text, path); !s) return s;
    // A new file is linked under its final name: atomic, and no temp name ever.
    if (LinkTmpfile(fd.get(), path) == 0) return cni::OkStatus();
    if (errno != EEXIST) return cni::ErrnoError("create " + path, errno);
    // Replacing: link under the fixed temp name (a stale one is ours to drop), rename.
    if (unlink(tmp.c_str()) < 0 && errno != ENOENT) return cni::ErrnoError("remove " + tmp, errno);
    if (LinkTmpfile(fd.get(), tmp) < 0) return cni::ErrnoError("create " + tmp, errno);
  }
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    unlink(tmp.c_str());
    return cni::ErrnoError("rename " + tmp + " to " + path, err);
  }
  return cni::OkStatus();
}

cni::Status RemoveSubnetEnvTemps(const std::string& path) {
  const std::string dir = DirOf(path);
  const std::string legacy = BaseOf(path) + ".tmp.";
  std::vector<std::string> stale = {AtomicTempPath(path)};
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
