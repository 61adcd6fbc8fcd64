#include "plugins/bridge/spoofcheck.h"

#include <set>

#include "plugins/bridge/hash.h"
#include "plugins/bridge/masq.h"
#include "plugins/bridge/masq_nft.h"

namespace bridge {

namespace {
std::string SpoofChainPrefix(const std::string& network) {
  return "spoof-" + Sha512Hex(network).substr(0, 16) + "-";
}
}  // namespace

std::string SpoofChainName(const SpoofTag& tag) {
  return SpoofChainPrefix(tag.network) +
         Sha512Hex(tag.ifname + ":" + tag.container_id).substr(0, 16);
}

cni::Status GcSpoofCheck(const std::string& network,
                         const std::vector<std::pair<std::string, std::string>>& valid) {
  std::set<std::string> keep;
  for (const auto& [id, ifname] : valid) keep.insert(SpoofChainName({network, ifname, id}));
  if (auto s = NftGcChains("bridge", kSpoofTable, SpoofChainPrefix(network), keep); !s) {
    return s.error().Context("spoof-check GC");
  }
  return cni::OkStatus();
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
