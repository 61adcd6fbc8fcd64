#include "overlay/plugin/delegate.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "overlay/plugin/node_lock.h"

namespace linen::overlay {

cni::json RenderDelegate(const cni::NetConf& conf, const MetaConf& m, const NodeNet& n) {
  cni::json d = {
      {"type", "bridge"},   {"bridge", "cni0"},   {"isGateway", true},
      {"isDefaultGateway", true}, {"hairpinMode", true}, {"ipMasq", false},
      {"mtu", n.mtu},
  };
  for (auto& [k, v] : m.delegate.items()) d[k] = v;
  d["cniVersion"] = conf.cni_version;
  d["name"] = conf.name;
  cni::json ipam = {{"type", "host-local"}};
  for (auto& [k, v] : m.ipam.items()) ipam[k] = v;
  ipam["ranges"] = cni::json::array({cni::json::array({{{"subnet", n.subnet.Masked().ToString()}}})});
  d["ipam"] = ipam;
  if (!conf.runtime_config.empty()) d["runtimeConfig"] = conf.runtime_config;
  if (!conf.args.empty()) d["args"] = conf.args;
  return d;
}

std::string DelegateType(const cni::json& delegate) {
  auto it = delegate.find("type");
  return it != delegate.end() && it->is_string() ? it->get<std::string>() : "bridge";
}

std::string DelegatePath(const MetaConf& m, const std::string& net, const std::string& cid,
                         const std::string& ifname) {
  return m.data_dir + "/" + net + "-" + cid + "-" + ifname;
}

cni::Status SaveDelegate(const std::string& path, const cni::json& delegate) {
  if (auto s = MakeDirs(DirName(path)); !s) return s;
  std::string text = delegate.dump();
  std::string tmp = path + ".tmp";
  cni::UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return cni::ErrnoError("create " + tmp, errno);
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      fsync(fd.get()) < 0) {
    int err = errno;
    unlink(tmp.c_str());
    return cni::ErrnoError("write " + tmp, err);
  }
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    unlink(tmp.c_str());
    return cni::ErrnoError("rename " + tmp, err);
  }
  return cni::OkStatus();
}

cni::Result<cni::json> LoadDelegate(const std::string& path) {
  std::ifstream in(path);
  if (!in) return cni::ErrnoError("read " + path, errno);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return cni::json::parse(ss.str());
  } catch (const cni::json::exception& e) {
    return cni::Error(cni::Code::kDecodingFailure, "saved delegate config " + path + ": " + e.what());
  }
}

cni::Status RemoveDelegate(const std::string& path) {
  if (unlink(path.c_str()) < 0 && errno != ENOENT) return cni::ErrnoError("remove " + path, errno);
  return cni::OkStatus();
}

}  // namespace linen::overlay
