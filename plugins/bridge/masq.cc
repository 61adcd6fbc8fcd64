#include "plugins/bridge/masq.h"

#include "plugins/bridge/masq_iptables.h"
#include "plugins/bridge/masq_nft.h"

namespace bridge {

cni::Status SetupMasq(MasqBackend backend, cni::nft::Socket& nft, const std::vector<cni::IpNet>& ips,
                      const MasqTag& tag) {
  return backend == MasqBackend::kIptables ? IptSetupMasq(ips, tag) : NftSetupMasq(nft, ips, tag);
}

cni::Status TeardownMasq(MasqBackend backend, cni::nft::Socket& nft, const MasqTag& tag) {
  return backend == MasqBackend::kIptables ? IptTeardownMasq(tag) : NftTeardownMasq(nft, tag);
}

cni::Status GcMasq(MasqBackend backend, cni::nft::Socket& nft, const std::string& network,
                   const Attachments& valid) {
  return backend == MasqBackend::kIptables ? IptGcMasq(network, valid)
                                           : NftGcMasq(nft, network, valid);
}

}  // namespace bridge
