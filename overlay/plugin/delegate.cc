#include "overlay/plugin/delegate.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "libcni/sys/file.h"
#include "overlay/registry/registry.h"

namespace linen::overlay {

std::vector<cni::IpNet> NodeNet::Networks() const {
  std::vector<cni::IpNet> out;
  if (!IsUnset(subnet)) out.push_back(network);
  if (!IsUnset(ipv6_subnet)) out.push_back(ipv6_network);
  return out;
}

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
  cni::json ranges = cni::json::array();
  const bool v4 = !IsUnset(n.subnet), v6 = !IsUnset(n.ipv6_subnet);
  // Neither (a NodeNet that was never filled in) keeps the old single range.
  if (v4 || !v6) ranges.push_back(cni::json::array({{{"subnet", n.subnet.Masked().ToString()}}}));
  if (v6) ranges.push_back(cni::json::array({{{"subnet", n.ipv6_subnet.Masked().ToString()}}}));
  ipam["ranges"] = ranges;
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
  return m.data_dir + "/" + net + ":" + cid + ":" + ifname;
}

std::string LegacyDelegatePath(const MetaConf& m, const std::string& net, const std::string& cid,
                               const std::string& ifname) {
  return m.data_dir + "/" + net + "-" + cid + "-" + ifname;
}

cni::Status SaveDelegate(const std::string& path, const cni::json& delegate) {
  return cni::WriteFileAtomic(path, delegate.dump(), 0600, cni::Durability::kAtomicOnly);
}

cni::Result<cni::json> LoadDelegate(const std::string& path) {
  auto text = cni::ReadWholeFile(path);
  if (!text) return text.error();
  try {
    return cni::json::parse(*text);
  } catch (const cni::json::exception& e) {
    return cni::Error(cni::Code::kDecodingFailure, "saved delegate config " + path + ": " + e.what());
  }
}

cni::Status RemoveDelegate(const std::string& path) {
  // With it, any temp file a killed save of this attachment left (current and older
  // temp names): nothing else removes them.
  for (const std::string& f : {path, cni::AtomicTempPath(path), path + ".tmp"}) {
    if (unlink(f.c_str()) < 0 && errno != ENOENT) return cni::ErrnoError("remove " + f, errno);
  }
  return cni::OkStatus();
}

cni::Status GcDelegates(const MetaConf& m, const std::string& net,
                        const std::vector<cni::Attachment>& valid) {
  std::set<std::string> keep, keep_legacy;
  for (const cni::Attachment& a : valid) {
    keep.insert(cni::BaseName(DelegatePath(m, net, a.container_id, a.ifname)));
    keep_legacy.insert(cni::BaseName(LegacyDelegatePath(m, net, a.container_id, a.ifname)));
  }
  DIR* d = opendir(m.data_dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return cni::OkStatus();  // nothing was ever saved
    return cni::ErrnoError("open " + m.data_dir, errno);
  }
  std::vector<std::string> gone;
  const std::string prefix = net + ":";
  const std::string legacy_prefix = net + "-";
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0) {
      // <net>:<cid>:<ifname>, or a valid attachment without an ifname in the list.
      const std::string rest = name.substr(prefix.size());
      const std::string cid = rest.substr(0, rest.find(':'));
      bool kept = keep.count(name) > 0;
      for (const cni::Attachment& a : valid) kept = kept || (a.ifname.empty() && a.container_id == cid);
      if (!kept) gone.push_back(name);
    } else if (name.rfind(legacy_prefix, 0) == 0 && !keep_legacy.count(name)) {
      // Ambiguous by name alone: another network's file may start the same way.
      auto saved = LoadDelegate(m.data_dir + "/" + name);
      if (saved && saved->is_object() && saved->value("name", "") == net) gone.push_back(name);
    }
  }
  closedir(d);
  for (const std::string& name : gone) {
    if (auto s = RemoveDelegate(m.data_dir + "/" + name); !s) return s;
  }
  return cni::OkStatus();
}

}  // namespace linen::overlay
