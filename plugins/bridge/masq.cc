#include "plugins/bridge/masq.h"

#include "plugins/bridge/masq_iptables.h"
#include "plugins/bridge/masq_nft.h"

namespace bridge {

cni::Status SetupMasq(MasqBackend backend, const std::vector<cni::IpNet>& ips, const MasqTag& tag) {
  return backend == MasqBackend::kIptables ? IptSetupMasq(ips, tag) : NftSetupMasq(ips, tag);
}

cni::Status TeardownMasq(MasqBackend backend, const MasqTag& tag) {
  return backend == MasqBackend::kIptables ? IptTeardownMasq(tag) : NftTeardownMasq(tag);
}

cni::Status GcMasq(MasqBackend backend, const std::string& network, const Attachments& valid) {
  return backend == MasqBackend::kIptables ? IptGcMasq(network, valid)
                                           : NftGcMasq(network, valid);
}

}  // namespace bridge
