// The two nf_tables transactions on ADD's and DEL's hot path, built by hand as one
// nfnetlink batch (NFNL_MSG_BATCH_BEGIN ... END) on a NETLINK_NETFILTER socket.
// libnftables would parse a script, dump the ruleset into its cache and cost every
// exec ~1 MB of mapped libraries; these are a few hundred bytes of messages. The
// messages are exactly those `nft -f` sends for NftSetupScript/NftTeardownScript
// (checked by reading the ruleset back with nft in the tests), so listings, CHECK
// and GC (which still use libnftables) see the same objects.
#ifndef LINEN_PLUGINS_BRIDGE_NFT_BATCH_H_
#define LINEN_PLUGINS_BRIDGE_NFT_BATCH_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace bridge {

// In `inet <table>`: creates the table if needed and the NAT base chain <chain>
// (postrouting, priority srcnat, policy accept, `comment`), empties it, then adds per
// address: `ip[6] saddr A ip[6] daddr != A's subnet ip[6] daddr != multicast masquerade
// comment "<comment>"`. One transaction: all or nothing.
cni::Status NftBatchSetupMasq(const std::string& table, const std::string& chain,
                              const std::string& comment, const std::vector<cni::IpNet>& ips);

// Removes `inet <table> <chain>`; a missing chain is success (add, flush, delete in one
// transaction, as NftTeardownScript).
cni::Status NftBatchDeleteChain(const std::string& table, const std::string& chain);

// Closing a netfilter socket right after a commit waits for the kernel's transaction
// clean-up (an RCU grace period, ~10 ms), and while it does, a concurrent veth delete
// is slowed down too. While an NftDeferClose lives on the calling thread, the batch functions
// above keep their sockets open instead and close them in the destructor, by which
// time the clean-up has usually finished. One per thread; not nestable.
class NftDeferClose {
 public:
  NftDeferClose();
  ~NftDeferClose();
  NftDeferClose(const NftDeferClose&) = delete;
  NftDeferClose& operator=(const NftDeferClose&) = delete;

 private:
  std::vector<int> fds_;
};

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_NFT_BATCH_H_
