#include "plugins/bridge/gateway.h"

#include "netns/netns.h"

namespace bridge {

using cni::Code;
using cni::Error;

Gateways CalcGateways(cni::AddResult& result, const BridgeConf& conf) {
  Gateways gws;
  bool default_found[2] = {false, false};
  std::vector<cni::Route> extra;
  for (cni::IpConfig& ipc : result.ips) {
    bool v4 = ipc.address.addr.is_v4();
    int fam = v4 ? 0 : 1;
    ipc.interface = kContainerIfIndex;
    if (!ipc.gateway && conf.is_gw) ipc.gateway = ipc.address.Network().Next();
    if (conf.is_default_gw && !default_found[fam]) {
      for (const cni::Route& r : result.routes) {
        if (r.gw && r.dst.prefix == 0 && r.dst.addr.is_v4() == v4) {
          default_found[fam] = true;
          break;
        }
      }
      if (!default_found[fam]) {
        cni::Route def;
        def.dst = cni::IpNet{v4 ? cni::IpAddr::FromV4(0) : cni::IpAddr::FromNumber(cni::Family::kV6, 0), 0};
        def.gw = ipc.gateway;
        result.routes.push_back(def);
        default_found[fam] = true;
      }
    }
    if (conf.is_gw) {
      cni::IpNet gw{*ipc.gateway, ipc.address.prefix};
      (v4 ? gws.v4 : gws.v6).push_back(gw);
    }
  }
  return gws;
}

namespace {

cni::Status EnsureAddr(cni::nl::Handle& host, const cni::nl::LinkInfo& br,
                       const std::vector<cni::nl::AddrInfo>& existing, const cni::IpNet& gw,
                       bool force) {
  for (const cni::nl::AddrInfo& a : existing) {
    if (a.addr.family() != gw.family()) continue;
    if (a.addr == gw) return cni::OkStatus();
    // Several IPv6 addresses may coexist if their subnets do not overlap (this also
    // spares the bridge's fe80:: link-local address).
    bool conflict = gw.addr.is_v4() || a.addr.Contains(gw.addr) || gw.Contains(a.addr.addr);
    if (!conflict) continue;
    if (!force) {
      return Error(Code::kInternal, "\"" + br.name + "\" already has an IP address different from " +
                                        gw.ToString());
    }
    if (auto s = host.DeleteAddr(br.index, a.addr); !s) {
      return s.error().Context("could not remove IP address from \"" + br.name + "\"");
    }
  }
  if (auto s = host.AddAddr(br.index, gw); !s && !s.error().IsExists()) {
    // A concurrent ADD adding the same gateway is fine (plugins#366).
    return s.error().Context("could not add IP address " + gw.ToString() + " to \"" + br.name +
                             "\"");
  }
  return cni::OkStatus();
}

}  // namespace

cni::Status EnsureGatewayAddrs(cni::nl::Handle& host, const cni::nl::LinkInfo& br,
                               const Gateways& gws, bool force_address) {
  if (gws.v4.empty() && gws.v6.empty()) return cni::OkStatus();
  std::optional<cni::Family> family;
  if (gws.v6.empty()) family = cni::Family::kV4;
  if (gws.v4.empty()) family = cni::Family::kV6;
  auto addrs = host.ListAddrs(br.index, family);
  if (!addrs) return addrs.error().Context("could not get list of IP addresses");
  for (const auto* fam : {&gws.v4, &gws.v6}) {
    for (const cni::IpNet& gw : *fam) {
      if (auto s = EnsureAddr(host, br, *addrs, gw, force_address); !s) {
        return s.error().Context("failed to set bridge addr");
      }
    }
  }
  return cni::OkStatus();
}

cni::Status EnableForwarding(cni::nl::Handle& host, const Gateways& gws) {
  // Asked through netlink first: the file is opened only to switch it on.
  auto enable = [&host](cni::Family family, const std::string& key) -> cni::Status {
    auto on = host.ForwardingEnabled(family);
    if (on && *on) return cni::OkStatus();
    if (auto s = cni::WriteSysctl(key, "1"); !s) {
      return s.error().Context("failed to enable forwarding");
    }
    return cni::OkStatus();
  };
  if (!gws.v4.empty()) {
    if (auto s = enable(cni::Family::kV4, "net/ipv4/ip_forward"); !s) return s;
  }
  if (!gws.v6.empty()) {
    if (auto s = enable(cni::Family::kV6, "net/ipv6/conf/all/forwarding"); !s) return s;
  }
  return cni::OkStatus();
}

}  // namespace bridge
