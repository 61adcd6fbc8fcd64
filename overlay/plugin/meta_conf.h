// Configuration of the host-gw / vxlan meta-plugins (one config for every node):
//
// {"cniVersion": "1.0.0", "name": "linen", "type": "vxlan",
//  "topology": {...} | "/etc/linen/topology.json",  static mode; absent = agent mode
//  "nodeName": "node1",             optional; else hostname, else the node IP owner
//  "underlay": "eth0",              optional; else the device holding the node IP
//  "subnetFile": "/run/linen/subnet.env",   written (static) or read (agent mode)
//  "dataDir": "/var/lib/cni/linen", rendered delegate configs, for DEL
//  "delegate": {...},               keys merged over the bridge defaults
//  "ipam": {...}}                   keys merged over the host-local defaults
//
// Agent mode (no "topology"): linend owns the node-level state; the plugin reads
// subnet.env and reconciles nothing.
#ifndef LINEN_OVERLAY_PLUGIN_META_CONF_H_
#define LINEN_OVERLAY_PLUGIN_META_CONF_H_

#include <optional>
#include <string>

#include "libcni/types.h"
#include "overlay/registry/registry.h"
#include "overlay/registry/static_topology.h"

namespace linen::overlay {

inline constexpr const char* kDefaultDataDir = "/var/lib/cni/linen";

struct MetaConf {
  BackendType backend = BackendType::kVxlan;  // from "type"
  std::optional<StaticTopology> topology;     // static mode
  std::optional<std::string> node_name;
  std::string underlay;
  std::string subnet_file;
  std::string data_dir;
  cni::json delegate = cni::json::object();
  cni::json ipam = cni::json::object();

  bool agent_mode() const { return !topology.has_value(); }
  // Node-level lock: <dir of subnetFile>/<network name>.lock.
  std::string LockPath(const std::string& net_name) const;
};

// From the parsed NetConf: type must be "host-gw" or "vxlan" (code 7); a topology
// whose "backend" names the other type is refused (code 7); JSON types -> code 6.
cni::Result<MetaConf> ParseMetaConf(const cni::NetConf& conf);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_PLUGIN_META_CONF_H_
