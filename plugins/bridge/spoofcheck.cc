#include "plugins/bridge/spoofcheck.h"

#include "plugins/bridge/hash.h"
#include "plugins/bridge/masq.h"
#include "plugins/bridge/masq_nft.h"

namespace bridge {

std::string SpoofChainName(const SpoofTag& tag) {
  return "spoof-" + Sha512Hex(tag.network).substr(0, 16) + "-" +
         Sha512Hex(tag.ifname + ":" + tag.container_id).substr(0, 16);
}

cni::Status SetupSpoofCheck(const std::string& host_veth, const std::string& mac,
                            const SpoofTag& tag) {
  const std::string t = std::string("bridge ") + kSpoofTable;
  const std::string chain = t + " " + SpoofChainName(tag);
  const std::string comment =
      "comment \"" + NftComment(MasqTag{tag.network, tag.ifname, tag.container_id}) + "\"";
  std::string s = "add table " + t + "\n";
  s += "add chain " + chain + " { type filter hook prerouting priority -300; policy accept; " +
       comment + "; }\n";
  s += "flush chain " + chain + "\n";
  s += "add rule " + chain + " iifname \"" + host_veth + "\" ether saddr != " + mac + " drop " +
       comment + "\n";
  auto r = NftRun(s);
  if (!r) return r.error().Context("failed to setup spoof-check");
  return cni::OkStatus();
}

cni::Status TeardownSpoofCheck(const SpoofTag& tag) {
  const std::string t = std::string("bridge ") + kSpoofTable;
  const std::string chain = t + " " + SpoofChainName(tag);
  auto r = NftRun("add table " + t + "\nadd chain " + chain + "\nflush chain " + chain +
                  "\ndelete chain " + chain + "\n");
  if (!r) return r.error().Context("failed to teardown spoof-check");
  return cni::OkStatus();
}

}  // namespace bridge
