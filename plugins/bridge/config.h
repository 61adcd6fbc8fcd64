// The bridge plugin's configuration: the reference's keys with the reference's
// defaults, parsed from the NetConf the skeleton already decoded, plus the MAC
// overrides from runtimeConfig / args / CNI_ARGS in the reference's order.
#ifndef LINEN_PLUGINS_BRIDGE_CONFIG_H_
#define LINEN_PLUGINS_BRIDGE_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/skel.h"
#include "libcni/types.h"

namespace bridge {

inline constexpr const char* kDefaultBridgeName = "cni0";

enum class MasqBackend { kNftables, kIptables };

struct BridgeConf {
  cni::NetConf net;
  std::string br_name = kDefaultBridgeName;
  bool is_gw = false;
  bool is_default_gw = false;  // implies is_gw (set by ParseBridgeConf)
  bool force_address = false;
  bool ip_masq = false;
  MasqBackend masq_backend = MasqBackend::kNftables;
  int mtu = 0;
  bool hairpin_mode = false;
  bool promisc_mode = false;
  int vlan = 0;
  std::vector<int> trunk_vlans;  // sorted, unique, from vlanTrunk
  bool vlan_trunk_set = false;   // vlanTrunk key present (turns on VLAN filtering)
  bool preserve_default_vlan = false;
  bool mac_spoof_chk = false;
  bool enable_dad = false;
  bool disable_container_interface = false;
  bool port_isolation = false;
  std::string mac;  // container MAC override, lower case; "" = kernel's

  bool is_layer3() const { return !net.ipam_type.empty(); }
  bool vlan_filtering() const { return vlan != 0 || vlan_trunk_set; }
};

// Parses everything DEL/CHECK/GC/STATUS need; JSON type errors -> code 6, values
// out of range (vlan, trunk, mtu, MAC, backend) -> code 7. CNI_ARGS keys other than
// MAC are ignored (as with IgnoreUnknown).
cni::Result<BridgeConf> ParseBridgeConf(const cni::NetConf& net, const std::string& cni_args);

// The extra rules the reference applies only on ADD (so a DEL with such a config
// still cleans up): hairpin and promiscuous are exclusive; IPAM is not allowed with
// disableContainerInterface; isGateway with vlan (a `<br>.<vid>` gateway device in the
// reference) is not implemented.
cni::Status ValidateForAdd(const BridgeConf& conf);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_CONFIG_H_
