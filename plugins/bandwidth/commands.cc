// The bandwidth plugin's verbs. ADD shapes the pod's host-side veth: traffic to the
// pod with a TBF at the veth's root; traffic from the pod, which arrives on the
// veth's ingress, with a u32 filter redirecting it to an IFB device whose root is a
// TBF. Everything is one netlink socket in the node namespace (libcni/netlink/tc.cc).
// docs/bandwidth.md has the whole picture.
#include "plugins/bandwidth/commands.h"

#include <set>

#include "libcni/attachments.h"
#include "libcni/netlink/handle.h"
#include "libcni/rollback.h"
#include "netns/netns.h"
#include "plugins/bandwidth/config.h"

namespace bandwidth {

using cni::Code;
using cni::Error;
namespace nl = cni::nl;

namespace {

// The reference's places: TBF "1:" at the root of the veth and of the IFB, the
// ingress qdisc "ffff:", the filter at priority 1 with flowid 1:1.
constexpr uint32_t kTbfHandle = 0x10000;
constexpr uint16_t kFilterPriority = 1;
constexpr uint32_t kFilterClassid = 0x10001;

Error Drift(const std::string& msg) { return Error(Code::kInternal, msg); }

// The oldest version the reference accepts: chaining (prevResult) starts there.
cni::Status CheckVersion(const cni::NetConf& net) {
  if (!cni::VersionAtLeast(net.cni_version, "0.3.0")) {
    return cni::IncompatibleVersionError(net.cni_version);
  }
  return cni::OkStatus();
}

cni::Result<std::optional<cni::AddResult>> PrevResult(const cni::NetConf& net) {
  if (!net.prev_result) return std::optional<cni::AddResult>();
  auto r = cni::ParseResult(*net.prev_result, net.cni_version);
  if (!r) return r.error().Context("prevResult");
  return std::optional<cni::AddResult>(std::move(*r));
}

// The host end of the pod's veth, as the reference finds it: the peer of the pod's
// interface, which must be listed in `prev` as a host-side interface (DEL, which
// may have no prevResult, passes nullptr: the peer alone is unambiguous).
cni::Result<nl::LinkInfo> HostVeth(nl::Handle& host, const cni::NetNs& ns,
                                   const std::string& ifname, const cni::AddResult* prev) {
  if (prev && prev->interfaces.empty()) {
    return Error(Code::kInvalidNetworkConfig, "prevResult has no interfaces");
  }
  auto cont = nl::Handle::OpenIn(ns);
  if (!cont) return cont.error();
  auto link = cont->LinkByName(ifname);
  if (!link || link->kind != "veth" || link->peer_index <= 0) {
    return Error(Code::kInvalidNetworkConfig,
                 "container interface " + ifname + " has no veth peer" +
                     (link ? "" : ": " + link.error().msg()));
  }
  auto peer = host.LinkByIndex(link->peer_index);
  if (!peer) {
    return Error(Code::kInvalidNetworkConfig, "veth peer with index " +
                                                  std::to_string(link->peer_index) +
                                                  " is not in the host namespace");
  }
  if (!prev) return *std::move(peer);
  for (const cni::Interface& i : prev->interfaces) {
    if (i.sandbox.empty() && i.name == peer->name) return *std::move(peer);
  }
  return Error(Code::kInvalidNetworkConfig, "the host end of " + ifname + " (" + peer->name +
                                                ") is not a host interface in prevResult");
}

// The node's netlink handle and the host end of the pod's veth, for ADD and CHECK.
struct Pod {
  nl::Handle host;
  nl::LinkInfo veth;
};
cni::Result<Pod> OpenPod(const cni::CmdArgs& args, const cni::AddResult& prev) {
  auto ns = cni::NetNs::Open(args.netns);
  if (!ns) return ns.error().Context("failed to open netns \"" + args.netns + "\"");
  auto host = nl::Handle::Open();
  if (!host) return host.error();
  auto veth = HostVeth(*host, *ns, args.ifname, &prev);
  if (!veth) return veth.error();
  return Pod{std::move(*host), std::move(*veth)};
}

// Our TBF at the root of `index` with `want`, or an error naming what differs.
cni::Status CheckTbf(nl::Handle& host, int index, const std::string& dev,
                     const nl::TbfParams& want) {
  auto qdiscs = host.ListQdiscs(index);
  if (!qdiscs) return qdiscs.error();
  for (const nl::QdiscInfo& q : *qdiscs) {
    if (q.parent != nl::kTcRoot) continue;
    if (q.kind != "tbf" || !q.tbf) return Drift(dev + ": root qdisc is " + q.kind + ", not tbf");
    if (q.tbf->rate != want.rate) return Drift(dev + ": tbf rate doesn't match");
    if (q.tbf->limit != want.limit) return Drift(dev + ": tbf limit doesn't match");
    if (q.tbf->buffer != want.buffer) return Drift(dev + ": tbf buffer doesn't match");
    return cni::OkStatus();
  }
  return Drift(dev + ": no tbf qdisc at the root");
}

// Whether a filter under the ingress qdisc of `veth` redirects to `ifb_index`.
cni::Result<bool> RedirectsTo(nl::Handle& host, int veth, int ifb_index) {
  auto filters = host.ListFilters(veth, nl::kTcIngressHandle);
  if (!filters) {
    if (filters.error().IsNotFound()) return false;  // no ingress qdisc
    return filters.error();
  }
  for (const nl::FilterInfo& f : *filters) {
    for (int to : f.redirect_to) {
      if (to == ifb_index) return true;
    }
  }
  return false;
}

}  // namespace

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args) {
  if (auto s = CheckVersion(args.conf); !s) return s.error();
  auto conf = ParseBandwidthConf(args.conf);
  if (!conf) return conf.error();
  auto prev = PrevResult(conf->net);
  if (!prev) return prev.error();
  if (!*prev) {
    return Error(Code::kInvalidNetworkConfig,
                 "bandwidth must be called as a chained plugin (no prevResult)");
  }
  if (!conf->any()) return **prev;

  auto pod = OpenPod(args, **prev);
  if (!pod) return pod.error();
  nl::Handle* host = &pod->host;
  const nl::LinkInfo* veth = &pod->veth;
  // Validated by ParseBandwidthConf; computed before anything changes.
  std::optional<nl::TbfParams> in_tbf, out_tbf;
  if (conf->ingress.on()) in_tbf = *TbfFor(conf->ingress, conf->source + "ingress");
  if (conf->egress.on()) out_tbf = *TbfFor(conf->egress, conf->source + "egress");

  cni::Rollback undo;
  if (in_tbf) {
    if (auto s = host->AddRootTbf(veth->index, kTbfHandle, *in_tbf); !s) return s.error();
    undo.Add([&] { (void)host->DeleteQdisc(veth->index, nl::kTcRoot, kTbfHandle); });
  }
  if (out_tbf) {
    const std::string name = IfbName(conf->net.name, args.container_id);
    if (auto s = host->CreateIfb({.name = name, .mtu = veth->mtu}); !s) return s.error();
    undo.Add([&, name] { (void)host->DeleteLink(name); });
    auto ifb = host->LinkByName(name);
    if (!ifb) return ifb.error();
    if (auto s = host->SetAlias(ifb->index, IfbAlias(conf->net.name, args.container_id)); !s) {
      return s.error();
    }
    if (auto s = host->AddRootTbf(ifb->index, kTbfHandle, *out_tbf); !s) return s.error();
    if (auto s = host->AddIngressQdisc(veth->index); !s) return s.error();
    undo.Add([&] {
      (void)host->DeleteQdisc(veth->index, nl::kTcIngress, nl::kTcIngressHandle);
    });
    if (auto s = host->AddRedirectFilter(veth->index, nl::kTcIngressHandle, kFilterPriority,
                                         kFilterClassid, ifb->index);
        !s) {
      return s.error();
    }
  }
  undo.Commit();
  // A chained plugin hands prevResult on (the skeleton prints it in the config's
  // version). Unlike the reference, the IFB is not added to its interfaces.
  return **prev;
}

cni::Status CmdDel(const cni::CmdArgs& args) {
  if (auto s = CheckVersion(args.conf); !s) return s;
  auto conf = ParseBandwidthConf(args.conf);
  if (!conf) return conf.error();
  auto host = nl::Handle::Open();
  if (!host) return host.error();
  // The IFB, found by its name; a device of that name of another kind is not ours.
  std::optional<nl::LinkInfo> ifb;
  if (auto l = host->LinkByName(IfbName(conf->net.name, args.container_id))) {
    if (l->kind == "ifb") ifb = *std::move(l);
  } else if (!l.error().IsNotFound()) {
    return l.error();
  }

  // The veth's qdiscs, when the veth can still be found: a netns that is gone took
  // the veth pair (and so its qdiscs) with it. Found from the pod's side, so
  // prevResult is not needed.
  std::optional<cni::NetNs> ns;
  if (!args.netns.empty()) {
    if (auto opened = cni::NetNs::Open(args.netns)) ns.emplace(std::move(*opened));
  }
  if (ns) {
    if (auto veth = HostVeth(*host, *ns, args.ifname, nullptr)) {
      // The ingress qdisc only when it feeds our IFB: it may be someone else's.
      if (ifb) {
        auto ours = RedirectsTo(*host, veth->index, ifb->index);
        if (!ours) return ours.error();
        if (*ours) {
          if (auto s = host->DeleteQdisc(veth->index, nl::kTcIngress, nl::kTcIngressHandle); !s) {
            return s;
          }
        }
      }
      auto qdiscs = host->ListQdiscs(veth->index);
      if (!qdiscs) return qdiscs.error();
      for (const nl::QdiscInfo& q : *qdiscs) {
        if (q.parent == nl::kTcRoot && q.kind == "tbf" && q.handle == kTbfHandle) {
          if (auto s = host->DeleteQdisc(veth->index, nl::kTcRoot, kTbfHandle); !s) return s;
        }
      }
    }
  }
  if (ifb) return host->DeleteLinkByIndex(ifb->index);
  return cni::OkStatus();
}

cni::Status CmdCheck(const cni::CmdArgs& args) {
  auto conf = ParseBandwidthConf(args.conf);
  if (!conf) return conf.error();
  auto prev = PrevResult(conf->net);
  if (!prev) return prev.error();
  if (!*prev) return Drift("bandwidth must be called as a chained plugin (no prevResult)");
  auto pod = OpenPod(args, **prev);
  if (!pod) return pod.error();
  nl::Handle* host = &pod->host;
  const nl::LinkInfo* veth = &pod->veth;
  if (conf->ingress.on()) {
    auto want = TbfFor(conf->ingress, conf->source + "ingress");
    if (auto s = CheckTbf(*host, veth->index, veth->name, *want); !s) return s;
  }
  if (conf->egress.on()) {
    const std::string name = IfbName(conf->net.name, args.container_id);
    auto ifb = host->LinkByName(name);
    if (!ifb) return Drift("ifb device " + name + ": " + ifb.error().msg());
    if (ifb->kind != "ifb") return Drift(name + " is a " + ifb->kind + " device, not an ifb");
    auto want = TbfFor(conf->egress, conf->source + "egress");
    if (auto s = CheckTbf(*host, ifb->index, name, *want); !s) return s;
    auto ours = RedirectsTo(*host, veth->index, ifb->index);
    if (!ours) return ours.error();
    if (!*ours) return Drift(veth->name + ": no ingress filter redirecting to " + name);
  }
  return cni::OkStatus();
}

cni::Status CmdGc(const cni::CmdArgs& args) {
  auto conf = ParseBandwidthConf(args.conf);
  if (!conf) return conf.error();
  auto attachments = cni::ValidAttachments(conf->net.raw);
  if (!attachments) return attachments.error();
  std::set<std::string> keep;
  for (const cni::Attachment& a : *attachments) keep.insert(IfbName(conf->net.name, a.container_id));
  auto host = nl::Handle::Open();
  if (!host) return host.error();
  auto links = host->ListLinks();
  if (!links) return links.error();
  // Only IFBs this network's ADD marked: the reference's carry no alias, and names
  // alone cannot tell one network's from another's.
  const std::string prefix = IfbAliasPrefix(conf->net.name);
  std::optional<Error> first;
  for (const nl::LinkInfo& l : *links) {
    if (l.kind != "ifb" || l.alias.rfind(prefix, 0) != 0 || keep.count(l.name)) continue;
    if (auto s = host->DeleteLinkByIndex(l.index); !s && !first) first = s.error();
  }
  if (first) return *first;
  return cni::OkStatus();
}

cni::Status CmdStatus(const cni::CmdArgs& args) {
  auto conf = ParseBandwidthConf(args.conf);
  if (!conf) return conf.error();
  auto host = nl::Handle::Open();
  if (!host) return host.error().WithCode(Code::kNotAvailable);
  // A qdisc dump answers only where the kernel has traffic control.
  if (auto q = host->ListQdiscs(1); !q) {
    return Error(Code::kNotAvailable, "traffic control is not usable: " + q.error().msg());
  }
  return cni::OkStatus();
}

cni::PluginFuncs Funcs() {
  return cni::PluginFuncs{
      .add = CmdAdd, .del = CmdDel, .check = CmdCheck, .status = CmdStatus, .gc = CmdGc};
}

}  // namespace bandwidth
