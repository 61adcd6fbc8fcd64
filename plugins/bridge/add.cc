// ADD: bridge -> veth -> IPAM -> pod addresses/routes -> gateway -> masquerade ->
// port up. Every step that creates something registers its undo first, so a failure
// anywhere leaves the node and the pod as they were (IPAM released through DEL).
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "netns/netns.h"
#include "plugins/bridge/bridge_device.h"
#include "plugins/bridge/commands.h"
#include "plugins/bridge/config.h"
#include "plugins/bridge/container_config.h"
#include "plugins/bridge/gateway.h"
#include "plugins/bridge/ipam_exec.h"
#include "plugins/bridge/masq.h"
#include "libcni/rollback.h"
#include "plugins/bridge/spoofcheck.h"
#include "plugins/bridge/veth.h"

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

// The reference sleep-polls up to ~2.5 s for the port; we wait on link events and
// normally return at once, since the port is oper-up as soon as both ends are up.
constexpr std::chrono::milliseconds kPortUpTimeout{3000};

}  // namespace

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args) {
  auto conf = ParseBridgeConf(args.conf, args.args);
  if (!conf) return conf.error();
  if (auto s = ValidateForAdd(*conf); !s) return s.error();

  // Open everything before changing anything: a bad netns leaves no bridge behind.
  auto cont_ns = cni::NetNs::Open(args.netns);
  if (!cont_ns) return cont_ns.error().Context("failed to open netns \"" + args.netns + "\"");
  auto host = cni::nl::Handle::Open();
  if (!host) return host.error();
  auto cont = cni::nl::Handle::OpenIn(*cont_ns);
  if (!cont) return cont.error().Context("failed to open netlink in netns \"" + args.netns + "\"");

  // Held from before the bridge is looked up until our port is on it; see BridgeLock.
  auto br_lock = BridgeLock::Shared();
  if (!br_lock) return br_lock.error();
  // One netfilter socket for the attachment's rules, opened only if there are any.
  std::optional<cni::nft::Socket> nft;
  cni::Rollback undo;  // declared after the handles, the lock and the socket its steps use
  auto br = EnsureBridge(*host, *conf, *br_lock, undo);
  if (!br) return br.error().Context("failed to create bridge \"" + conf->br_name + "\"");

  auto veth = SetupVeth(*host, *cont, *cont_ns, args.ifname,
                        HostVethName(args.container_id, args.ifname), *conf, br->link.index, undo);
  if (!veth) return veth.error();
  // Our port keeps the bridge in use now; a failing ADD that created it sees the port.
  br_lock->Release();

  if (!br->created) {
    // Someone else's bridge (e.g. the reference plugin's) may follow its ports' MACs.
    auto mac = PinBridgeMac(*host, br->link.index, br->link.mac);
    if (!mac) return mac.error();
    br->link.mac = *mac;
  }

  cni::AddResult result;
  result.cni_version = conf->net.cni_version;
  result.interfaces.resize(3);
  result.interfaces[0].name = br->link.name;
  result.interfaces[0].mac = br->link.mac;
  result.interfaces[1].name = veth->host.name;
  result.interfaces[1].mac = veth->host.mac;
  result.interfaces[kContainerIfIndex].name = veth->container.name;
  result.interfaces[kContainerIfIndex].mac = veth->container.mac;
  result.interfaces[kContainerIfIndex].sandbox = args.netns;

  if (conf->mac_spoof_chk || conf->ip_masq) {
    auto opened = cni::nft::Socket::Open();
    if (!opened) return opened.error();
    nft.emplace(std::move(*opened));
  }
  if (conf->mac_spoof_chk) {
    SpoofTag tag{conf->net.name, args.ifname, args.container_id};
    undo.Add([tag, &nft] { (void)TeardownSpoofCheck(*nft, tag); });
    if (auto s = SetupSpoofCheck(*nft, veth->host.name, veth->container.mac, tag); !s) {
      return s.error();
    }
  }

  if (conf->is_layer3()) {
    // Release whatever IPAM may have reserved, even if its ADD failed half-way.
    const std::string ipam_type = conf->net.ipam_type;
    undo.Add([ipam_type, &args] { (void)IpamCommand("DEL", ipam_type, args); });
    auto ipam = IpamAdd(ipam_type, args);
    if (!ipam) return ipam.error();
    result.ips = std::move(ipam->ips);
    result.routes = std::move(ipam->routes);
    result.dns = std::move(ipam->dns);

    Gateways gws = CalcGateways(result, *conf);
    if (auto s = ConfigureContainer(*cont, *cont_ns, veth->container, result, conf->enable_dad);
        !s) {
      return s.error();
    }
    if (conf->is_gw) {
      if (auto s = EnsureGatewayAddrs(*host, br->link, gws, conf->force_address);
          !s) {
        return s.error();
      }
      // Never undone, not even by a rollback that removes the bridge: forwarding is
      // one switch for the whole namespace, and since we read it another network,
      // an overlay or the operator may have come to rely on it; we cannot tell. Once
      // on it stays on, as with the reference plugin.
      if (auto s = EnableForwarding(*host, gws); !s) return s.error();
    }
    if (conf->ip_masq) {
      MasqTag tag{conf->net.name, args.ifname, args.container_id};
      MasqBackend backend = conf->masq_backend;
      undo.Add([backend, tag, &nft] { (void)TeardownMasq(backend, *nft, tag); });
      std::vector<cni::IpNet> ips;
      for (const cni::IpConfig& ipc : result.ips) ips.push_back(ipc.address);
      if (auto s = SetupMasq(backend, *nft, ips, tag); !s) return s.error();
    }
  } else if (!conf->disable_container_interface) {
    // Layer 2 only: the pod's end still has to come up.
    if (auto s = cont->SetUp(veth->container.index); !s) {
      return s.error().Context("failed to set \"" + args.ifname + "\" up");
    }
  }

  if (!conf->disable_container_interface) {
    // A port that is not oper-up yet is still disabled on the bridge and would drop
    // the pod's first packets (plugins#463).
    if (auto s = host->WaitOperUp(veth->host.index, kPortUpTimeout); !s) {
      return s.error().Context("bridge port " + veth->host.name + " in error state");
    }
  }

  if (!conf->net.dns.empty()) result.dns = conf->net.dns;
  undo.Commit();
  return result;
}

}  // namespace bridge
