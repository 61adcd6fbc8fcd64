// DEL: best effort and idempotent. IPAM is released first and always (even without a
// netns, cni#1167); masquerade and spoof-check objects are removed by the
// attachment's tag, not by addresses read from a live interface, so they never leak
// when the netns is already gone (plugins#810). A missing netns or interface is
// success. Every step runs; the first failure is reported.
//
// Speed: the veth delete (an RTM_DELLINK that waits out RCU grace periods in the
// kernel, 15-30 ms) runs on its own thread while this thread releases IPAM and
// removes the masquerade chain (whose socket close waits for nf_tables' own grace
// period). DEL then costs about one kernel veth delete instead of the sum, and the
// host-local calls of parallel DELs no longer all queue on the store lock at once.
#include <optional>
#include <system_error>
#include <thread>

#include "libcni/netlink/handle.h"
#include "netns/netns.h"
#include "plugins/bridge/commands.h"
#include "plugins/bridge/config.h"
#include "plugins/bridge/ipam_exec.h"
#include "plugins/bridge/masq.h"
#include "plugins/bridge/spoofcheck.h"

namespace bridge {

namespace {

void Keep(std::optional<cni::Error>& first, const cni::Status& s) {
  if (!s && !first) first = s.error();
}

// Deletes CNI_IFNAME inside the pod (its host end goes with it).
cni::Status DeleteContainerLink(const std::string& netns, const std::string& ifname) {
  auto ns = cni::NetNs::Open(netns);
  if (!ns) {
    // The runtime may call DEL after the sandbox is gone (kubernetes#43014).
    if (ns.error().IsNotFound()) return cni::OkStatus();
    return ns.error().Context("failed to open netns \"" + netns + "\"");
  }
  auto h = cni::nl::Handle::OpenIn(*ns);
  if (!h) return h.error();
  return h->DeleteLink(ifname);
}

}  // namespace

cni::Status CmdDel(const cni::CmdArgs& args) {
  auto conf = ParseBridgeConf(args.conf, args.args);
  if (!conf) return conf.error();
  std::optional<cni::Error> first;

  // The thread only reads `args` and writes `link_status`; both outlive the join.
  cni::Status link_status = cni::OkStatus();
  std::thread link_deleter;
  if (!args.netns.empty()) {
    try {
      link_deleter = std::thread(
          [&args, &link_status] { link_status = DeleteContainerLink(args.netns, args.ifname); });
    } catch (const std::system_error&) {
      // No thread to be had: delete it inline below instead.
    }
  }

  if (conf->is_layer3()) Keep(first, IpamCommand("DEL", conf->net.ipam_type, args));
  // Lives past the join below: closing a netfilter socket right after a commit waits
  // for nf_tables' clean-up, which would otherwise slow the veth delete down too.
  std::optional<cni::nft::Socket> nft;
  if (conf->ip_masq || conf->mac_spoof_chk) {
    auto opened = cni::nft::Socket::Open();
    if (opened) {
      nft.emplace(std::move(*opened));
    } else {
      Keep(first, opened.error());
    }
  }
  if (conf->ip_masq && nft) {
    Keep(first, TeardownMasq(conf->masq_backend, *nft,
                             MasqTag{conf->net.name, args.ifname, args.container_id}));
  }
  if (conf->mac_spoof_chk && nft) {
    Keep(first,
         TeardownSpoofCheck(*nft, SpoofTag{conf->net.name, args.ifname, args.container_id}));
  }
  if (link_deleter.joinable()) {
    link_deleter.join();
    Keep(first, link_status);
  } else if (!args.netns.empty()) {
    Keep(first, DeleteContainerLink(args.netns, args.ifname));
  }

  if (first) return *first;
  return cni::OkStatus();
}

}  // namespace bridge
