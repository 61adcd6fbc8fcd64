#include "plugins/bridge/spoofcheck.h"

#include <linux/netfilter_bridge.h>

#include <set>

#include "plugins/bridge/masq_nft.h"
#include "plugins/bridge/nft_dispatch.h"

namespace bridge {

namespace nft = cni::nft;

namespace {

constexpr int32_t kPriority = -300;  // before anything else on the bridge, as the reference
constexpr const char* kPortPrefix = "port: ";

std::string SpoofChainPrefix(const std::string& network) {
  return "spoof-" + NetworkHash(network) + "-";
}

// The chain comment starts "port: <host veth>; ".
std::vector<std::pair<size_t, std::string>> PortKeysOfComment(const std::string& comment) {
  if (comment.rfind(kPortPrefix, 0) != 0) return {};
  std::string port = comment.substr(std::string(kPortPrefix).size());
  port = port.substr(0, port.find(';'));
  if (port.empty()) return {};
  return {{0, nft::IfnameKey(port)}};
}

DispatchSpec SpoofDispatch(const std::string& network) {
  const std::string h = NetworkHash(network);
  nft::Rule dispatch;
  dispatch.IifnameVmap("ports-" + h);
  return DispatchSpec{nft::Family::kBridge,
                      kSpoofTable,
                      "spoof-" + h,
                      nft::Hook{NF_BR_PRE_ROUTING, kPriority, "filter"},
                      "net: " + network,
                      {{{"ports-" + h, nft::kTypeIfname, nft::kIfnameLen, true},
                        dispatch,
                        "pods' bridge ports"}},
                      PortKeysOfComment};
}

}  // namespace

std::string SpoofChainName(const SpoofTag& tag) {
  return SpoofChainPrefix(tag.network) + AttachmentHash(tag.ifname, tag.container_id);
}

cni::Status GcSpoofCheck(nft::Socket& sock, const std::string& network,
                         const std::vector<std::pair<std::string, std::string>>& valid) {
  std::set<std::string> keep;
  for (const auto& [id, ifname] : valid) keep.insert(SpoofChainName({network, ifname, id}));
  if (auto s = GcAttachments(sock, SpoofDispatch(network), SpoofChainPrefix(network), keep); !s) {
    return s.error().Context("spoof-check GC");
  }
  return cni::OkStatus();
}

cni::Status SetupSpoofCheck(nft::Socket& sock, const std::string& host_veth,
                            const std::string& mac, const SpoofTag& tag) {
  const std::string comment = NftComment(MasqTag{tag.network, tag.ifname, tag.container_id});
  AttachmentRules a;
  a.chain = SpoofChainName(tag);
  a.comment = kPortPrefix + host_veth + "; " + comment;
  nft::Rule r;
  r.EtherSaddrNot(mac).Drop();
  a.rules.emplace_back(std::move(r), comment);
  a.keys = {{0, nft::IfnameKey(host_veth)}};
  auto s = SetUpAttachment(sock, SpoofDispatch(tag.network), a);
  if (!s) return s.error().Context("failed to setup spoof-check");
  return cni::OkStatus();
}

cni::Status TeardownSpoofCheck(nft::Socket& sock, const SpoofTag& tag) {
  auto s = TearDownAttachment(sock, SpoofDispatch(tag.network), SpoofChainName(tag));
  if (!s) return s.error().Context("failed to teardown spoof-check");
  return cni::OkStatus();
}

}  // namespace bridge
