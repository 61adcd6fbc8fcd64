#include "plugins/portmap/config.h"

#include <netinet/in.h>

#include <algorithm>
#include <cctype>

#include "libcni/decode.h"

namespace portmap {
namespace {

using cni::Code;
using cni::Error;

cni::Result<uint16_t> Port(const cni::Decoder& m, const char* key, const std::string& where) {
  auto v = m.Optional<int64_t>(key);
  if (!v) return v.error();
  if (!*v) return cni::InvalidConfig(where + "." + key + " is missing");
  if (**v < 1 || **v > 65535) {
    return cni::InvalidConfig(where + "." + key + ": " + std::to_string(**v) +
                              " is not a port number (1-65535)");
  }
  return static_cast<uint16_t>(**v);
}

cni::Result<PortMapping> ParseMapping(const cni::Decoder& m) {
  const std::string where = m.path();
  if (!m.value().is_object()) return m.TypeError("object");
  PortMapping pm;
  auto hp = Port(m, "hostPort", where);
  if (!hp) return hp.error();
  pm.host_port = *hp;
  auto cp = Port(m, "containerPort", where);
  if (!cp) return cp.error();
  pm.container_port = *cp;
  std::string proto;
  if (auto s = m.Get("protocol", &proto); !s) return s.error();
  std::transform(proto.begin(), proto.end(), proto.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (proto.empty() || proto == "tcp") {
    pm.proto = IPPROTO_TCP;
    pm.proto_name = "tcp";
  } else if (proto == "udp") {
    pm.proto = IPPROTO_UDP;
    pm.proto_name = "udp";
  } else if (proto == "sctp") {
    pm.proto = IPPROTO_SCTP;
    pm.proto_name = "sctp";
  } else {
    return cni::InvalidConfig(where + ".protocol: unknown protocol \"" + proto +
                              "\" (tcp, udp or sctp)");
  }
  std::string host_ip;
  if (auto s = m.Get("hostIP", &host_ip); !s) return s.error();
  if (!host_ip.empty()) {
    auto ip = cni::IpAddr::Parse(host_ip);
    if (!ip) return cni::InvalidConfig(where + ".hostIP: \"" + host_ip + "\" is not an IP address");
    pm.family = ip->family();
    if (!ip->IsUnspecified()) pm.host_ip = *ip;
  }
  return pm;
}

}  // namespace

cni::Result<PortmapConf> ParsePortmapConf(const cni::NetConf& net, bool with_mappings) {
  PortmapConf c;
  c.net = net;
  const cni::Decoder d(net.raw);
  if (auto s = cni::GetConfBool(d, "snat", &c.snat); !s) return s.error();
  auto bit = d.Optional<int64_t>("markMasqBit");
  if (!bit) return bit.error();
  if (*bit) {
    if (**bit < 0 || **bit > 31) {
      return cni::InvalidConfig("markMasqBit: " + std::to_string(**bit) +
                                " is not between 0 and 31");
    }
    c.mark_masq_bit = static_cast<int>(**bit);
  }
  if (auto s = d.Get("externalSetMarkChain", &c.external_set_mark_chain); !s) return s.error();
  if (c.mark_masq_bit && !c.external_set_mark_chain.empty()) {
    return cni::InvalidConfig("markMasqBit and externalSetMarkChain are mutually exclusive");
  }
  if (auto s = d.Get("backend", &c.backend); !s) return s.error();
  if (!c.backend.empty() && c.backend != "nftables" && c.backend != "iptables") {
    return cni::InvalidConfig("backend: \"" + c.backend +
                              "\" is neither \"nftables\" nor \"iptables\"");
  }
  for (const char* key : {"conditionsV4", "conditionsV6"}) {
    auto conds = d.Optional<std::vector<std::string>>(key);
    if (!conds) return conds.error();
    if (*conds && !(*conds)->empty()) {
      return cni::InvalidConfig(
          std::string(key) +
          ": iptables match conditions are not supported (linen programs nftables "
          "and cannot translate arbitrary iptables matches)");
    }
  }
  if (!with_mappings) return c;
  const cni::Decoder rc(net.runtime_config, "runtimeConfig");
  const cni::Decoder maps = rc["portMappings"];
  if (auto s = maps.ArrayOrUnset(); !s) return s.error();
  for (size_t i = 0; i < maps.size(); ++i) {
    auto pm = ParseMapping(maps[i]);
    if (!pm) return pm.error();
    c.mappings.push_back(std::move(*pm));
  }
  return c;
}

cni::Result<PodAddrs> PodAddrsFromPrevResult(const cni::NetConf& net) {
  if (!net.prev_result) {
    return cni::InvalidConfig(
        "portmap must be chained after the plugin that gives the pod its addresses: "
        "no prevResult");
  }
  auto prev = cni::ParseResult(*net.prev_result, net.cni_version);
  if (!prev) return prev.error();
  PodAddrs out;
  for (const cni::IpConfig& ip : prev->ips) {
    // Addresses of host-side interfaces (no sandbox) are not the pod's.
    if (ip.interface && *ip.interface >= 0 &&
        static_cast<size_t>(*ip.interface) < prev->interfaces.size() &&
        prev->interfaces[static_cast<size_t>(*ip.interface)].sandbox.empty()) {
      continue;
    }
    auto& slot = ip.address.addr.is_v4() ? out.v4 : out.v6;
    if (!slot) slot = ip.address.addr;
  }
  if (!out.v4 && !out.v6) return cni::InvalidConfig("prevResult has no address for the pod");
  return out;
}

}  // namespace portmap
