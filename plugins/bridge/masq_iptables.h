// iptables masquerade, for hosts whose NAT is managed with iptables
// (`ipMasqBackend: "iptables"` only). Same objects as the reference: nat chain
// CNI-<24 hex of SHA-512(network+containerID)> holding `-d <subnet> ACCEPT` and
// `! -d <multicast> MASQUERADE`, entered from POSTROUTING by `-s <ip>`, all commented
// `name: "<net>" id: "<cid>"`. Applied with one iptables-restore --noflush (and
// ip6tables-restore) per family; teardown and GC read iptables-save first. These are
// child processes, which is why this backend is opt-in.
#ifndef LINEN_PLUGINS_BRIDGE_MASQ_IPTABLES_H_
#define LINEN_PLUGINS_BRIDGE_MASQ_IPTABLES_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "plugins/bridge/masq.h"

namespace bridge {

std::string IptChainName(const std::string& network, const std::string& container_id);
std::string IptComment(const std::string& network, const std::string& container_id);
// iptables-restore input for one family (v4 when `v4`), exposed for tests.
std::string IptSetupRestore(const std::vector<cni::IpNet>& ips, const MasqTag& tag, bool v4);

cni::Status IptSetupMasq(const std::vector<cni::IpNet>& ips, const MasqTag& tag);
cni::Status IptTeardownMasq(const MasqTag& tag);
cni::Status IptGcMasq(const std::string& network, const Attachments& valid);

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_MASQ_IPTABLES_H_
