// CHECK: what ADD did is still there, compared with prevResult: the bridge (MAC,
// promiscuous mode), the pod's interface (veth, MAC, sandbox), the host veth that is
// its peer and a port of the bridge, the pod's addresses and routes; and IPAM CHECK.
#include "netns/netns.h"
#include "plugins/bridge/bridge_device.h"
#include "plugins/bridge/commands.h"
#include "plugins/bridge/config.h"
#include "plugins/bridge/ipam_exec.h"
#include "plugins/bridge/masq_nft.h"
#include "plugins/bridge/spoofcheck.h"
#include "plugins/bridge/veth.h"

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

Error Drift(const std::string& msg) { return Error(Code::kInternal, msg); }

cni::Status CheckAddrs(cni::nl::Handle& cont, const cni::nl::LinkInfo& link,
                       const cni::AddResult& prev, int cont_idx) {
  auto addrs = cont.ListAddrs(link.index);
  if (!addrs) return addrs.error();
  for (const cni::IpConfig& ipc : prev.ips) {
    if (ipc.interface && *ipc.interface != cont_idx) continue;  // another plugin's interface
    bool found = false;
    for (const cni::nl::AddrInfo& a : *addrs) found |= a.addr == ipc.address;
    if (!found) {
      return Drift("Interface " + link.name + " does not have address " + ipc.address.ToString());
    }
  }
  return cni::OkStatus();
}

cni::Status CheckRoutes(cni::nl::Handle& cont, const cni::AddResult& prev) {
  for (const cni::Route& r : prev.routes) {
    auto routes = cont.ListRoutes(r.dst.family(), r.table ? *r.table : cni::nl::kMainTable);
    if (!routes) return routes.error();
    bool found = false;
    for (const cni::nl::RouteInfo& k : *routes) {
      found |= k.dst == r.dst.Masked() && (!r.gw || k.gw == r.gw);
    }
    if (!found) {
      return Drift("Route (" + r.dst.ToString() + (r.gw ? " via " + r.gw->ToString() : "") +
                   ") not found");
    }
  }
  return cni::OkStatus();
}

}  // namespace

cni::Status CmdCheck(const cni::CmdArgs& args) {
  auto conf = ParseBridgeConf(args.conf, args.args);
  if (!conf) return conf.error();
  // cniVersion < 0.4.0 never gets here: the skeleton refuses CHECK for it.
  auto ns = cni::NetNs::Open(args.netns);
  if (!ns) return ns.error().Context("failed to open netns \"" + args.netns + "\"");
  if (conf->is_layer3()) {
    if (auto s = IpamCommand("CHECK", conf->net.ipam_type, args); !s) return s;
  }
  if (!conf->net.prev_result) return Drift("Required prevResult missing");
  auto prev = cni::ParseResult(*conf->net.prev_result, conf->net.cni_version);
  if (!prev) return prev.error();

  const cni::Interface* br_if = nullptr;
  const cni::Interface* cont_if = nullptr;
  for (const cni::Interface& i : prev->interfaces) {
    if (i.name == conf->br_name && !br_if) br_if = &i;
    else if (i.name == args.ifname && i.sandbox == args.netns && !cont_if) cont_if = &i;
  }
  if (!br_if) return Drift("CNI created bridge " + conf->br_name + " in host namespace was not found");
  if (!cont_if) {
    return Drift("Sandbox in prevResult doesn't match configured netns: " + args.netns +
                 " (or no interface " + args.ifname + ")");
  }

  auto host = cni::nl::Handle::Open();
  if (!host) return host.error();
  auto br = BridgeByName(*host, conf->br_name);
  if (!br) return br.error();
  if (!br_if->mac.empty() && br_if->mac != br->mac) {
    return Drift("Bridge interface " + br->name + " Mac doesn't match: " + br_if->mac);
  }
  if (br->promisc != conf->promisc_mode) {
    return Drift("Bridge interface " + br->name + " configured Promisc Mode " +
                 (conf->promisc_mode ? "true" : "false") + " doesn't match current state");
  }

  auto cont = cni::nl::Handle::OpenIn(*ns);
  if (!cont) return cont.error();
  auto cl = cont->LinkByName(args.ifname);
  if (!cl) return Drift("Interface name " + args.ifname + " not found");
  if (cl->kind != "veth") return Drift("Error: Container interface " + cl->name + " not of type veth");
  if (!cont_if->mac.empty() && cont_if->mac != cl->mac) {
    return Drift("Interface " + cl->name + " Mac " + cont_if->mac +
                 " doesn't match container Mac: " + cl->mac);
  }

  // The host veth: the result entry that is a veth whose peer is the pod's interface.
  bool veth_found = false;
  for (const cni::Interface& i : prev->interfaces) {
    if (&i == br_if || &i == cont_if || !i.sandbox.empty()) continue;
    auto hl = host->LinkByName(i.name);
    if (!hl) return Drift("Interface name " + i.name + " not found");
    if (hl->kind != "veth") continue;
    if (hl->index != cl->peer_index || hl->peer_index != cl->index) continue;
    if (hl->master_index != br->index) {
      return Drift("Interface " + hl->name + " is not a port of bridge " + br->name);
    }
    if (!i.mac.empty() && i.mac != hl->mac) {
      return Drift("Interface " + i.name + " Mac doesn't match: " + i.mac + " not found");
    }
    veth_found = true;
    break;
  }
  if (!veth_found) return Drift("CNI veth created for bridge " + conf->br_name + " was not found");

  int cont_idx = static_cast<int>(cont_if - prev->interfaces.data());
  if (auto s = CheckAddrs(*cont, *cl, *prev, cont_idx); !s) return s;
  if (auto s = CheckRoutes(*cont, *prev); !s) return s;
  const bool nft_masq = conf->ip_masq && conf->masq_backend == MasqBackend::kNftables;
  if (!nft_masq && !conf->mac_spoof_chk) return cni::OkStatus();
  auto nft = cni::nft::Socket::Open();
  if (!nft) return nft.error();
  if (nft_masq) {
    MasqTag tag{conf->net.name, args.ifname, args.container_id};
    std::vector<cni::IpAddr> ips;
    for (const cni::IpConfig& ipc : prev->ips) ips.push_back(ipc.address.addr);
    if (auto s = NftCheckMasq(*nft, ips, tag); !s) return Drift(s.error().msg());
  }
  if (conf->mac_spoof_chk) {
    SpoofTag tag{conf->net.name, args.ifname, args.container_id};
    if (auto s = CheckSpoofCheck(*nft, HostVethName(args.container_id, args.ifname), cl->mac, tag);
        !s) {
      return Drift(s.error().msg());
    }
  }
  return cni::OkStatus();
}

}  // namespace bridge
