// GC and STATUS (CNI 1.1). The reference bridge has no GC (plugins#1013): ours removes
// masquerade and spoof-check chains of attachments that are not valid any more,
// then forwards GC to IPAM. STATUS forwards to IPAM and refuses a `bridge` name taken by a non-bridge.
#include "libcni/attachments.h"
#include "plugins/bridge/bridge_device.h"
#include "plugins/bridge/commands.h"
#include "plugins/bridge/config.h"
#include "plugins/bridge/ipam_exec.h"
#include "plugins/bridge/masq.h"
#include "plugins/bridge/spoofcheck.h"

namespace bridge {

using cni::Code;
using cni::Error;

cni::Status CmdGc(const cni::CmdArgs& args) {
  auto conf = ParseBridgeConf(args.conf, args.args);
  if (!conf) return conf.error();
  auto attachments = cni::ValidAttachments(conf->net.raw);
  if (!attachments) return attachments.error();
  Attachments valid;
  for (cni::Attachment& a : *attachments) {
    valid.emplace_back(std::move(a.container_id), std::move(a.ifname));
  }
  // Keep going past errors and report the first, as the spec asks of GC.
  std::optional<Error> first;
  auto nft = cni::nft::Socket::Open();
  if (!nft) return nft.error();
  if (auto s = GcMasq(MasqBackend::kNftables, *nft, conf->net.name, valid); !s) first = s.error();
  if (conf->masq_backend == MasqBackend::kIptables) {
    if (auto s = GcMasq(MasqBackend::kIptables, *nft, conf->net.name, valid); !s && !first) {
      first = s.error();
    }
  }
  if (auto s = GcSpoofCheck(*nft, conf->net.name, valid); !s && !first) first = s.error();
  if (conf->is_layer3()) {
    if (auto s = IpamCommand("GC", conf->net.ipam_type, args); !s && !first) first = s.error();
  }
  if (first) return *first;
  return cni::OkStatus();
}

cni::Status CmdStatus(const cni::CmdArgs& args) {
  auto conf = ParseBridgeConf(args.conf, args.args);
  if (!conf) return conf.error();
  auto host = cni::nl::Handle::Open();
  if (!host) return host.error().WithCode(Code::kNotAvailable);
  if (auto l = host->LinkByName(conf->br_name); l && l->kind != "bridge") {
    return Error(Code::kNotAvailable,
                 "\"" + conf->br_name + "\" exists but is not a bridge; ADD would fail");
  }
  if (conf->is_layer3()) return IpamCommand("STATUS", conf->net.ipam_type, args);
  return cni::OkStatus();
}

}  // namespace bridge
