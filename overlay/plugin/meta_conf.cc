#include "overlay/plugin/meta_conf.h"

#include "libcni/decode.h"
#include "overlay/backend/subnet_env.h"

namespace linen::overlay {
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
  const cni::Decoder d(raw);
  std::string node_name;
  if (auto s = d.Get("nodeName", &node_name); !s) return s.error();
  if (!node_name.empty()) m.node_name = node_name;
  if (auto s = d.Get("underlay", &m.underlay); !s) return s.error();
  if (auto s = d.Get("subnetFile", &m.subnet_file); !s) return s.error();
  if (auto s = d.Get("dataDir", &m.data_dir); !s) return s.error();
  for (auto [key, out] : {std::pair{"delegate", &m.delegate}, std::pair{"ipam", &m.ipam}}) {
    if (auto s = d[key].ObjectOrUnset(); !s) return s.error();
    if (auto s = d.Get(key, out); !s) return s.error();
  }
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

  if (const cni::Decoder t = d["topology"]; t.IsSet()) {
    cni::Result<StaticTopology> topo = cni::Error(cni::Code::kInternal, "");
    if (t.value().is_string()) {
      topo = LoadTopologyFile(t.value().get<std::string>());
    } else if (t.value().is_object()) {
      topo = ParseTopology(t.value().dump());
    } else {
      return t.TypeError("object or file path");
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
