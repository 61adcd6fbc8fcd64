#include "plugins/bridge/config.h"

#include <algorithm>
#include <set>

#include "libcni/decode.h"
#include "libcni/mac.h"

namespace bridge {
namespace {

using cni::Code;
using cni::Error;

// vlanTrunk: [{"id":N} | {"minID":A,"maxID":B}], each VID 1..4094.
cni::Status ParseTrunk(const cni::Decoder& trunk, BridgeConf* c) {
  if (!trunk.IsSet()) return cni::OkStatus();
  if (auto s = trunk.ArrayOrUnset(); !s) return s;
  c->vlan_trunk_set = true;
  std::set<int> vids;
  for (size_t i = 0; i < trunk.size(); ++i) {
    const cni::Decoder item = trunk[i];
    if (!item.value().is_object()) return item.TypeError("object");
    std::optional<int> min_id, max_id, id;
    const std::pair<const char*, std::optional<int>*> fields[] = {
        {"minID", &min_id}, {"maxID", &max_id}, {"id", &id}};
    for (auto [key, dst] : fields) {
      auto v = item.Optional<int>(key);
      if (!v) return v.error();
      *dst = *v;
    }
    if (min_id && max_id) {
      if (*min_id <= 0 || *min_id > 4094) {
        return cni::InvalidConfig("incorrect trunk minID parameter");
      }
      if (*max_id <= 0 || *max_id > 4094) {
        return cni::InvalidConfig("incorrect trunk maxID parameter");
      }
      if (*max_id < *min_id) {
        return cni::InvalidConfig("minID is greater than maxID in trunk parameter");
      }
      for (int v = *min_id; v <= *max_id; ++v) vids.insert(v);
    } else if (max_id) {
      return cni::InvalidConfig(
          "minID and maxID should be configured simultaneously, minID is missing");
    } else if (min_id) {
      return cni::InvalidConfig(
          "minID and maxID should be configured simultaneously, maxID is missing");
    }
    if (id) {
      if (*id <= 0 || *id > 4094) return cni::InvalidConfig("incorrect trunk id parameter");
      vids.insert(*id);
    }
  }
  c->trunk_vlans.assign(vids.begin(), vids.end());
  return cni::OkStatus();
}

cni::Status ApplyMac(const std::string& text, const char* source, BridgeConf* c) {
  if (text.empty()) return cni::OkStatus();
  auto mac = cni::ParseMac(text);
  if (!mac) {
    return cni::InvalidConfig(std::string("invalid MAC address \"") + text + "\" in " + source);
  }
  c->mac = cni::FormatMac(*mac);
  return cni::OkStatus();
}

}  // namespace

cni::Result<BridgeConf> ParseBridgeConf(const cni::NetConf& net, const std::string& cni_args) {
  BridgeConf c;
  c.net = net;
  const cni::Decoder raw(net.raw);
  std::string backend;
  bool backend_set = raw["ipMasqBackend"].IsSet();
  cni::Status s = raw.Get("bridge", &c.br_name);
  const std::pair<const char*, bool*> bools[] = {{"isGateway", &c.is_gw},
                          {"isDefaultGateway", &c.is_default_gw},
                          {"forceAddress", &c.force_address},
                          {"ipMasq", &c.ip_masq},
                          {"hairpinMode", &c.hairpin_mode},
                          {"promiscMode", &c.promisc_mode},
                          {"preserveDefaultVlan", &c.preserve_default_vlan},
                          {"macspoofchk", &c.mac_spoof_chk},
                          {"enabledad", &c.enable_dad},
                          {"disableContainerInterface", &c.disable_container_interface},
                          {"portIsolation", &c.port_isolation}};
  for (auto [key, dst] : bools) {
    if (!s) return s.error();
    s = cni::GetConfBool(raw, key, dst);
  }
  if (!s) return s.error();
  if (s = raw.Get("ipMasqBackend", &backend); !s) return s.error();
  if (s = raw.Get("mtu", &c.mtu); !s) return s.error();
  if (s = raw.Get("vlan", &c.vlan); !s) return s.error();
  if (s = ParseTrunk(raw["vlanTrunk"], &c); !s) return s.error();

  if (c.br_name.empty()) c.br_name = kDefaultBridgeName;
  if (auto v = cni::ValidateInterfaceName(c.br_name); !v) {
    return cni::InvalidConfig("invalid bridge name \"" + c.br_name + "\": " + v.error().msg());
  }
  if (c.vlan < 0 || c.vlan > 4094) {
    return cni::InvalidConfig("invalid VLAN ID " + std::to_string(c.vlan) +
                              " (must be between 0 and 4094)");
  }
  if (c.mtu < 0 || c.mtu > 65535) {
    return cni::InvalidConfig("invalid mtu " + std::to_string(c.mtu) +
                              " (must be between 0 and 65535)");
  }
  if (backend_set) {
    if (backend == "nftables") {
      c.masq_backend = MasqBackend::kNftables;
    } else if (backend == "iptables") {
      c.masq_backend = MasqBackend::kIptables;
    } else {
      return Error(Code::kUnsupportedField, "unknown ipmasq backend \"" + backend +
                                                "\" (ipMasqBackend must be nftables or iptables)");
    }
  }
  if (c.is_default_gw) c.is_gw = true;

  // MAC precedence as the reference: CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac.
  if (!cni_args.empty()) {
    auto kv = cni::ParseCniArgs(cni_args);
    if (!kv) return kv.error();
    if (auto it = kv->find("MAC"); it != kv->end()) {
      if (s = ApplyMac(it->second, "CNI_ARGS MAC", &c); !s) return s.error();
    }
  }
  if (net.args.is_object() && net.args.contains("cni") && net.args["cni"].is_object()) {
    std::string mac;
    if (s = cni::Decoder(net.args["cni"], "args.cni").Get("mac", &mac); !s) return s.error();
    if (s = ApplyMac(mac, "args.cni.mac", &c); !s) return s.error();
  }
  if (net.runtime_config.is_object()) {
    std::string mac;
    if (s = cni::Decoder(net.runtime_config, "runtimeConfig").Get("mac", &mac); !s) {
      return s.error();
    }
    if (s = ApplyMac(mac, "runtimeConfig.mac", &c); !s) return s.error();
  }
  return c;
}

cni::Status ValidateForAdd(const BridgeConf& c) {
  if (c.is_layer3() && c.disable_container_interface) {
    return cni::InvalidConfig("cannot use IPAM when DisableContainerInterface flag is set");
  }
  if (c.vlan != 0 && c.is_gw) {
    // The reference puts the gateway on a `<bridge>.<vlan>` veth; linen does not (yet).
    return Error(Code::kInvalidNetworkConfig,
                 "isGateway together with vlan is not implemented by linen's bridge plugin");
  }
  if (c.hairpin_mode && c.promisc_mode) {
    return cni::InvalidConfig("cannot set hairpin mode and promiscuous mode at the same time");
  }
  return cni::OkStatus();
}

}  // namespace bridge
