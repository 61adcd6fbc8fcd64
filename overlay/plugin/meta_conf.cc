#include "overlay/plugin/meta_conf.h"

#include "overlay/backend/subnet_env.h"

namespace linen::overlay {
namespace {

cni::Error Decode(const std::string& key, const std::string& want) {
  return cni::Error(cni::Code::kDecodingFailure, "\"" + key + "\" must be " + want);
}

cni::Status GetString(const cni::json& raw, const char* key, std::string* out) {
  auto it = raw.find(key);
  if (it == raw.end() || it->is_null()) return cni::OkStatus();
  if (!it->is_string()) return Decode(key, "a string");
  *out = it->get<std::string>();
  return cni::OkStatus();
}

cni::Status GetObject(const cni::json& raw, const char* key, cni::json* out) {
  auto it = raw.find(key);
  if (it == raw.end() || it->is_null()) return cni::OkStatus();
  if (!it->is_object()) return Decode(key, "an object");
  *out = *it;
  return cni::OkStatus();
}

}  // namespace

std::string MetaConf::LockPath(const std::string& net_name) const {
  auto pos = subnet_file.rfind('/');
  std::string dir = pos == std::string::npos ? "." : (pos == 0 ? "/" : subnet_file.substr(0, pos));
  return dir + "/" + net_name + ".lock";
}

cni::Result<MetaConf> ParseMetaConf(const cni::NetConf& conf) {
  MetaConf m;
  auto type = ParseBackendName(conf.type);
  if (!type) return type.error();
  m.backend = *type;
  const cni::json& raw = conf.raw;
  m.subnet_file = kDefaultSubnetFile;
  m.data_dir = kDefaultDataDir;
  std::string node_name;
  if (auto s = GetString(raw, "nodeName", &node_name); !s) return s.error();
  if (!node_name.empty()) m.node_name = node_name;
  if (auto s = GetString(raw, "underlay", &m.underlay); !s) return s.error();
  if (auto s = GetString(raw, "subnetFile", &m.subnet_file); !s) return s.error();
  if (auto s = GetString(raw, "dataDir", &m.data_dir); !s) return s.error();
  if (auto s = GetObject(raw, "delegate", &m.delegate); !s) return s.error();
  if (auto s = GetObject(raw, "ipam", &m.ipam); !s) return s.error();
  if (m.subnet_file.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "\"subnetFile\" must not be empty");
  }
  // Like flannel's delegate: the network name and the pod subnet are ours to set.
  for (const char* key : {"name", "cniVersion"}) {
    if (m.delegate.contains(key)) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        std::string("\"delegate\" must not set \"") + key + "\"");
    }
  }
  for (const char* key : {"ranges", "subnet"}) {
    if (m.ipam.contains(key)) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        std::string("\"ipam\" must not set \"") + key +
                            "\": the pod range is this node's subnet");
    }
  }

  auto topo_it = raw.find("topology");
  if (topo_it != raw.end() && !topo_it->is_null()) {
    cni::Result<StaticTopology> topo = cni::Error(cni::Code::kInternal, "");
    if (topo_it->is_string()) {
      topo = LoadTopologyFile(topo_it->get<std::string>());
    } else if (topo_it->is_object()) {
      topo = ParseTopology(topo_it->dump());
    } else {
      return Decode("topology", "an object or a file path");
    }
    if (!topo) return topo.error();
    if (topo->backend_given && topo->config.backend != m.backend) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        std::string("plugin type \"") + BackendName(m.backend) +
                            "\" does not match the topology's backend \"" +
                            BackendName(topo->config.backend) + "\"");
    }
    topo->config.backend = m.backend;
    m.topology = std::move(*topo);
  }
  return m;
}

}  // namespace linen::overlay
