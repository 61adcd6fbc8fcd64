#include "plugins/bridge/spoofcheck.h"

#include <linux/netfilter_bridge.h>

#include <functional>
#include <set>

#include "libcni/mac.h"
#include "plugins/bridge/masq_nft.h"
#include "plugins/bridge/nft_dispatch.h"
#include "plugins/bridge/veth.h"

namespace bridge {

namespace nft = cni::nft;

namespace {

constexpr int32_t kPriority = -300;  // before anything else on the bridge, as the reference
constexpr const char* kRuleComment = "pods' ports: only the pod's MAC";
constexpr nft::Family kBridge = nft::Family::kBridge;

struct Names {
  std::string base;
  std::string macs;     // host veth -> the pod's MAC
  std::string portmac;  // host veth . the pod's MAC
};

Names NamesOf(const std::string& network) {
  const std::string h = NetworkHash(network);
  return {"spoof-" + h, "macs-" + h, "portmac-" + h};
}

std::string PortKey(const std::string& host_veth) { return nft::IfnameKey(host_veth); }

nft::Elem MacElem(const std::string& port, const std::string& mac, const std::string& comment) {
  return {port, "", comment, mac};
}
nft::Elem PortMacElem(const std::string& port, const std::string& mac) {
  return {nft::ConcatKey({port, mac}), "", "", ""};
}

cni::Status CreateBase(nft::Socket& sock, const Names& n, const std::string& network) {
  nft::Batch b;
  b.AddTable(kBridge, kSpoofTable);
  b.AddChain(kBridge, kSpoofTable, n.base, nft::Hook{NF_BR_PRE_ROUTING, kPriority, "filter"},
             "net: " + network);
  b.AddSet(kBridge, kSpoofTable,
           {n.macs, nft::kTypeIfname, nft::kIfnameLen, false, nft::kTypeEtherAddr, 6}, true);
  b.AddSet(kBridge, kSpoofTable,
           {n.portmac, nft::ConcatType({nft::kTypeIfname, nft::kTypeEtherAddr}),
            static_cast<uint32_t>(nft::kIfnameLen) + 8},
           true);
  nft::Rule r;
  r.InSet({nft::Field::kIifname}, n.macs)
      .NotInSet({nft::Field::kIifname, nft::Field::kEtherSaddr}, n.portmac)
      .Drop();
  b.AddRule(kBridge, kSpoofTable, n.base, r, kRuleComment);
  auto s = sock.Commit(b, "set up " + n.base);
  if (!s && !s.error().IsExists()) return s;
  return cni::OkStatus();
}

// Removes the port's two elements, tolerating a pair element already gone.
cni::Status Forget(nft::Socket& sock, const Names& n, const nft::Elem& mac_elem,
                   const std::function<void(nft::Batch&)>& then, const std::string& what) {
  nft::Batch b;
  b.DeleteElems(kBridge, kSpoofTable, n.macs, std::vector<nft::Elem>{mac_elem});
  b.DeleteElems(kBridge, kSpoofTable, n.portmac,
                std::vector<nft::Elem>{PortMacElem(mac_elem.key, mac_elem.data)});
  if (then) then(b);
  auto s = sock.Commit(b, what);
  if (s || !s.error().IsNotFound()) return s;
  nft::Batch alone;
  alone.DeleteElems(kBridge, kSpoofTable, n.macs, std::vector<nft::Elem>{mac_elem});
  if (then) then(alone);
  return sock.Commit(alone, what);
}

LegacyDispatch LegacySpoof(const std::string& network) {
  const std::string h = NetworkHash(network);
  // The chain comment starts "port: <host veth>; ".
  auto keys = [](const std::string& comment) -> std::vector<std::pair<size_t, std::string>> {
    const std::string prefix = "port: ";
    if (comment.rfind(prefix, 0) != 0) return {};
    std::string port = comment.substr(prefix.size());
    port = port.substr(0, port.find(';'));
    if (port.empty()) return {};
    return {{0, nft::IfnameKey(port)}};
  };
  return {kBridge, kSpoofTable, {"ports-" + h}, keys, "spoof-" + h, {"pods' bridge ports"}};
}

std::string LegacyChainPrefix(const std::string& network) {
  return "spoof-" + NetworkHash(network) + "-";
}

std::string LegacyChainName(const SpoofTag& tag) {
  return LegacyChainPrefix(tag.network) + AttachmentHash(tag.ifname, tag.container_id);
}

}  // namespace

cni::Status SetupSpoofCheck(nft::Socket& sock, const std::string& host_veth,
                            const std::string& mac, const SpoofTag& tag) {
  auto fail = [](const cni::Error& e) { return e.Context("failed to setup spoof-check"); };
  auto bytes = cni::ParseMac(mac);
  if (!bytes) {
    return fail(cni::Error(cni::Code::kInvalidNetworkConfig, "invalid MAC address \"" + mac + "\""));
  }
  const Names n = NamesOf(tag.network);
  const std::string port = PortKey(host_veth);
  const std::string mac_key(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  const std::string comment = NftComment(MasqTag{tag.network, tag.ifname, tag.container_id});
  auto add = [&](nft::Batch& b) {
    b.AddElems(kBridge, kSpoofTable, n.macs, {MacElem(port, mac_key, comment)});
    b.AddElems(kBridge, kSpoofTable, n.portmac, {PortMacElem(port, mac_key)});
  };
  nft::Batch b;
  add(b);
  auto s = sock.Commit(b, "add spoof check of " + host_veth);
  if (s) return s;
  if (s.error().IsNotFound()) {
    if (auto c = CreateBase(sock, n, tag.network); !c) return fail(c.error());
    s = sock.Commit(b, "add spoof check of " + host_veth);
    if (s) return s;
  }
  if (!s.error().IsExists()) return fail(s.error());
  // The port is checked against another MAC (a repeated ADD): replace it.
  auto old = sock.GetElem(kBridge, kSpoofTable, n.macs, port);
  if (!old) return fail(old.error());
  if (auto f = Forget(sock, n, *old, add, "replace spoof check of " + host_veth); !f) {
    return fail(f.error());
  }
  return cni::OkStatus();
}

cni::Status TeardownSpoofCheck(nft::Socket& sock, const SpoofTag& tag) {
  auto fail = [](const cni::Error& e) { return e.Context("failed to teardown spoof-check"); };
  const Names n = NamesOf(tag.network);
  const std::string veth = HostVethName(tag.container_id, tag.ifname);
  auto e = sock.GetElem(kBridge, kSpoofTable, n.macs, PortKey(veth));
  if (e) {
    if (auto f = Forget(sock, n, *e, {}, "delete spoof check of " + veth); !f) return fail(f.error());
  } else if (!e.error().IsNotFound()) {
    return fail(e.error());
  }
  if (auto l = LegacyTearDown(sock, LegacySpoof(tag.network), LegacyChainName(tag)); !l) {
    return fail(l.error());
  }
  return cni::OkStatus();
}

cni::Status CheckSpoofCheck(nft::Socket& sock, const std::string& host_veth, const std::string& mac,
                            const SpoofTag& tag) {
  const Names n = NamesOf(tag.network);
  auto bytes = cni::ParseMac(mac);
  const std::string mac_key =
      bytes ? std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()) : "";
  auto e = sock.GetElem(kBridge, kSpoofTable, n.macs, PortKey(host_veth));
  if (!e || e->data != mac_key ||
      !sock.GetElem(kBridge, kSpoofTable, n.portmac, PortMacElem(PortKey(host_veth), mac_key).key)) {
    return cni::Error(cni::Code::kInternal,
                      "spoof check of " + host_veth + " does not allow exactly " + mac);
  }
  return cni::OkStatus();
}

cni::Status GcSpoofCheck(nft::Socket& sock, const std::string& network,
                         const std::vector<std::pair<std::string, std::string>>& valid) {
  auto fail = [](const cni::Error& e) { return e.Context("spoof-check GC"); };
  const Names n = NamesOf(network);
  std::set<std::string> keep, keep_legacy;
  for (const auto& [id, ifname] : valid) {
    keep.insert(PortKey(HostVethName(id, ifname)));
    keep_legacy.insert(LegacyChainName({network, ifname, id}));
  }
  auto elems = sock.ListElems(kBridge, kSpoofTable, n.macs);
  if (!elems && !elems.error().IsNotFound()) return fail(elems.error());
  if (elems) {
    for (const nft::Elem& e : *elems) {
      if (keep.count(e.key)) continue;
      if (auto f = Forget(sock, n, e, {}, "garbage-collect a spoof check"); !f) {
        return fail(f.error());
      }
    }
  }
  if (auto l = LegacyGc(sock, LegacySpoof(network), LegacyChainPrefix(network), keep_legacy); !l) {
    return fail(l.error());
  }
  return cni::OkStatus();
}

}  // namespace bridge
