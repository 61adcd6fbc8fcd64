// Traffic control: TBF and ingress qdiscs, a match-all u32 filter with a mirred
// redirect, and IFB devices, for the bandwidth plugin. The messages are built by
// hand (libnl's tc objects would need libnl-route's action API, and we need only
// these three shapes); they are the ones tc(8) sends for the commands handle.h
// names, so `tc -j` reads back what we wrote.
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_error.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

using internal::LinkPtr;
using internal::LinkRef;
using internal::MsgPtr;
using internal::NewMsg;

namespace {

std::string HandleText(uint32_t h) {
  if (h == kTcRoot) return "root";
  if (h == kTcIngress) return "ingress";
  char buf[24];
  std::snprintf(buf, sizeof buf, "%x:%x", h >> 16, h & 0xffff);
  return buf;
}

tcmsg TcHeader(int index, uint32_t parent, uint32_t handle, uint32_t info = 0) {
  tcmsg t{};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = index;
  t.tcm_parent = parent;
  t.tcm_handle = handle;
  t.tcm_info = info;
  return t;
}

// nla_nest_start/end with a failure check folded in.
class Nest {
 public:
  Nest(nl_msg* msg, int type) : msg_(msg), attr_(nla_nest_start(msg, type)) {}
  bool ok() const { return attr_ != nullptr; }
  int End() { return nla_nest_end(msg_, attr_); }

 private:
  nl_msg* msg_;
  nlattr* attr_;
};

int PutTbfOptions(nl_msg* msg, const TbfParams& tbf) {
  Nest opts(msg, TCA_OPTIONS);
  if (!opts.ok()) return -1;
  tc_tbf_qopt q{};
  // Above 32 bits the rate goes in TCA_TBF_RATE64 and the 32-bit field is saturated,
  // as tc does.
  q.rate.rate = tbf.rate > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(tbf.rate);
  q.rate.linklayer = TC_LINKLAYER_ETHERNET;
  q.limit = tbf.limit;
  q.buffer = tbf.buffer;
  if (nla_put(msg, TCA_TBF_PARMS, sizeof q, &q) < 0) return -1;
  if (tbf.rate > 0xffffffffu && nla_put_u64(msg, TCA_TBF_RATE64, tbf.rate) < 0) return -1;
  return opts.End();
}

std::optional<TbfParams> ParseTbf(nlattr* options) {
  nlattr* tb[TCA_TBF_MAX + 1] = {};
  if (options == nullptr || nla_parse_nested(tb, TCA_TBF_MAX, options, nullptr) < 0 ||
      tb[TCA_TBF_PARMS] == nullptr ||
      nla_len(tb[TCA_TBF_PARMS]) < static_cast<int>(sizeof(tc_tbf_qopt))) {
    return std::nullopt;
  }
  tc_tbf_qopt q;
  std::memcpy(&q, nla_data(tb[TCA_TBF_PARMS]), sizeof q);
  TbfParams t;
  t.rate = q.rate.rate;
  if (tb[TCA_TBF_RATE64]) t.rate = nla_get_u64(tb[TCA_TBF_RATE64]);
  t.buffer = q.buffer;
  t.limit = q.limit;
  return t;
}

// The redirect targets among the actions nested in `acts` (TCA_U32_ACT and the
// like: one nest per action, numbered from 1).
std::vector<int> ParseRedirects(nlattr* acts) {
  std::vector<int> out;
  if (acts == nullptr) return out;
  nlattr* act;
  int rem;
  nla_for_each_nested(act, acts, rem) {
    nlattr* a[TCA_ACT_MAX + 1] = {};
    if (nla_parse_nested(a, TCA_ACT_MAX, act, nullptr) < 0 || !a[TCA_ACT_KIND] ||
        std::string(nla_get_string(a[TCA_ACT_KIND])) != "mirred" || !a[TCA_ACT_OPTIONS]) {
      continue;
    }
    nlattr* m[TCA_MIRRED_MAX + 1] = {};
    if (nla_parse_nested(m, TCA_MIRRED_MAX, a[TCA_ACT_OPTIONS], nullptr) < 0 ||
        !m[TCA_MIRRED_PARMS] ||
        nla_len(m[TCA_MIRRED_PARMS]) < static_cast<int>(sizeof(tc_mirred))) {
      continue;
    }
    tc_mirred p;
    std::memcpy(&p, nla_data(m[TCA_MIRRED_PARMS]), sizeof p);
    if (p.eaction == TCA_EGRESS_REDIR) out.push_back(static_cast<int>(p.ifindex));
  }
  return out;
}

}  // namespace

Status Handle::CreateIfb(const IfbSpec& spec) {
  const std::string what = "create ifb " + spec.name;
  if (spec.name.empty() || spec.name.size() >= IFNAMSIZ) {
    return Error(Code::kInvalidNetworkConfig,
                 what + ": interface name \"" + spec.name + "\" must be 1-15 bytes");
  }
  LinkPtr link(rtnl_link_alloc());
  if (!link) return Error(Code::kInternal, what + ": out of memory");
  if (int err = rtnl_link_set_type(link.get(), "ifb"); err < 0) {
    return LibnlError(what + ": set kind", err);
  }
  rtnl_link_set_name(link.get(), spec.name.c_str());
  if (spec.mtu > 0) rtnl_link_set_mtu(link.get(), static_cast<unsigned>(spec.mtu));
  if (spec.up) rtnl_link_set_flags(link.get(), IFF_UP);
  nl_msg* raw = nullptr;
  int err = rtnl_link_build_add_request(link.get(), NLM_F_CREATE | NLM_F_EXCL, &raw);
  MsgPtr msg(raw);
  if (err < 0) return LibnlError(what + ": build request", err);
  return internal::Transact(sock_, msg.get(), what);
}

Status Handle::SetAlias(int index, const std::string& alias) {
  const std::string what = "set alias on " + LinkRef(index);
  if (alias.size() >= IFALIASZ) return Error(Code::kInternal, what + ": alias too long");
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  MsgPtr msg = NewMsg(RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  // An empty IFLA_IFALIAS clears it.
  if (!msg || nla_put(msg.get(), IFLA_IFALIAS, static_cast<int>(alias.size()), alias.data()) < 0) {
    return internal::BuildError(what);
  }
  return internal::Transact(sock_, msg.get(), what);
}

Status Handle::AddRootTbf(int index, uint32_t handle, const TbfParams& tbf) {
  const std::string what = "add tbf qdisc " + HandleText(handle) + " rate " +
                           std::to_string(tbf.rate) + " bytes/s on " + LinkRef(index);
  tcmsg t = TcHeader(index, kTcRoot, handle);
  MsgPtr msg = NewMsg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &t, sizeof t);
  if (!msg || nla_put_string(msg.get(), TCA_KIND, "tbf") < 0 || PutTbfOptions(msg.get(), tbf) < 0) {
    return internal::BuildError(what);
  }
  return internal::Transact(sock_, msg.get(), what);
}

Status Handle::AddIngressQdisc(int index) {
  const std::string what = "add ingress qdisc on " + LinkRef(index);
  tcmsg t = TcHeader(index, kTcIngress, kTcIngressHandle);
  MsgPtr msg = NewMsg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &t, sizeof t);
  if (!msg || nla_put_string(msg.get(), TCA_KIND, "ingress") < 0) return internal::BuildError(what);
  return internal::Transact(sock_, msg.get(), what);
}

Status Handle::AddRedirectFilter(int index, uint32_t parent, uint16_t priority, uint32_t classid,
                                 int target_index) {
  const std::string what =
      "add u32 redirect filter " + LinkRef(index) + " -> " + LinkRef(target_index);
  // tcm_info: priority in the upper 16 bits, protocol (network order) in the lower.
  const uint32_t info = (static_cast<uint32_t>(priority) << 16) | htons(kEthPAll);
  tcmsg t = TcHeader(index, parent, 0, info);
  MsgPtr msg = NewMsg(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &t, sizeof t);
  if (!msg || nla_put_string(msg.get(), TCA_KIND, "u32") < 0) return internal::BuildError(what);
  nl_msg* m = msg.get();
  Nest opts(m, TCA_OPTIONS);
  if (!opts.ok()) return internal::BuildError(what);
  // Match everything: one key with mask 0, terminal.
  // (tc_u32_sel ends in a flexible array of keys, hence the byte buffer.)
  tc_u32_sel sel{};
  sel.flags = TC_U32_TERMINAL;
  sel.nkeys = 1;
  unsigned char sel_buf[sizeof(tc_u32_sel) + sizeof(tc_u32_key)] = {};
  std::memcpy(sel_buf, &sel, sizeof sel);
  if (nla_put(m, TCA_U32_SEL, sizeof sel_buf, sel_buf) < 0) return internal::BuildError(what);
  if (classid != 0 && nla_put_u32(m, TCA_U32_CLASSID, classid) < 0) {
    return internal::BuildError(what);
  }
  Nest acts(m, TCA_U32_ACT);
  Nest act(m, 1);
  if (!acts.ok() || !act.ok() || nla_put_string(m, TCA_ACT_KIND, "mirred") < 0) {
    return internal::BuildError(what);
  }
  Nest act_opts(m, TCA_ACT_OPTIONS);
  tc_mirred p{};
  p.action = TC_ACT_STOLEN;  // the packet now belongs to the target device
  p.eaction = TCA_EGRESS_REDIR;
  p.ifindex = static_cast<uint32_t>(target_index);
  if (!act_opts.ok() || nla_put(m, TCA_MIRRED_PARMS, sizeof p, &p) < 0 || act_opts.End() < 0 ||
      act.End() < 0 || acts.End() < 0 || opts.End() < 0) {
    return internal::BuildError(what);
  }
  return internal::Transact(sock_, m, what);
}

Status Handle::DeleteQdisc(int index, uint32_t parent, uint32_t handle) {
  const std::string what =
      "delete qdisc " + HandleText(handle) + " at " + HandleText(parent) + " on " + LinkRef(index);
  tcmsg t = TcHeader(index, parent, handle);
  MsgPtr msg = NewMsg(RTM_DELQDISC, 0, &t, sizeof t);
  if (!msg) return internal::BuildError(what);
  int kerr = 0;
  auto s = internal::Transact(sock_, msg.get(), what, nullptr, &kerr);
  // ENOENT/ENODEV: no device or nothing there; EINVAL: what is there has another
  // handle ("Invalid handle": the default qdisc, handle 0, or someone else's),
  // so the one asked for is absent.
  if (!s && (s.error().IsNotFound() || (kerr == EINVAL && handle != 0))) {
    return OkStatus();
  }
  return s;
}

Result<std::vector<QdiscInfo>> Handle::ListQdiscs(int index) {
  std::vector<QdiscInfo> out;
  tcmsg t = TcHeader(index, 0, 0);
  auto s = internal::Dump(
      sock_, RTM_GETQDISC, &t, sizeof t, index ? "list qdiscs of " + LinkRef(index) : "list qdiscs",
      [&](nlmsghdr* hdr) {
        if (hdr->nlmsg_type != RTM_NEWQDISC) return;
        nlattr* tb[TCA_MAX + 1] = {};
        if (nlmsg_parse(hdr, sizeof(tcmsg), tb, TCA_MAX, nullptr) < 0) return;
        const auto* tm = static_cast<const tcmsg*>(nlmsg_data(hdr));
        if (index != 0 && tm->tcm_ifindex != index) return;  // older kernels dump all
        QdiscInfo q;
        q.ifindex = tm->tcm_ifindex;
        q.handle = tm->tcm_handle;
        q.parent = tm->tcm_parent;
        if (tb[TCA_KIND]) q.kind = nla_get_string(tb[TCA_KIND]);
        if (q.kind == "tbf") q.tbf = ParseTbf(tb[TCA_OPTIONS]);
        out.push_back(std::move(q));
      },
      [&] { out.clear(); });
  if (!s) return s.error();
  return out;
}

Result<std::vector<FilterInfo>> Handle::ListFilters(int index, uint32_t parent) {
  std::vector<FilterInfo> out;
  tcmsg t = TcHeader(index, parent, 0);
  auto s = internal::Dump(
      sock_, RTM_GETTFILTER, &t, sizeof t, "list filters of " + LinkRef(index),
      [&](nlmsghdr* hdr) {
        if (hdr->nlmsg_type != RTM_NEWTFILTER) return;
        nlattr* tb[TCA_MAX + 1] = {};
        if (nlmsg_parse(hdr, sizeof(tcmsg), tb, TCA_MAX, nullptr) < 0) return;
        const auto* tm = static_cast<const tcmsg*>(nlmsg_data(hdr));
        FilterInfo f;
        f.ifindex = tm->tcm_ifindex;
        f.parent = tm->tcm_parent;
        f.handle = tm->tcm_handle;
        f.priority = static_cast<uint16_t>(tm->tcm_info >> 16);
        f.protocol = ntohs(static_cast<uint16_t>(tm->tcm_info & 0xffff));
        if (tb[TCA_KIND]) f.kind = nla_get_string(tb[TCA_KIND]);
        if (f.kind == "u32" && tb[TCA_OPTIONS]) {
          nlattr* u[TCA_U32_MAX + 1] = {};
          if (nla_parse_nested(u, TCA_U32_MAX, tb[TCA_OPTIONS], nullptr) >= 0) {
            if (u[TCA_U32_CLASSID]) f.classid = nla_get_u32(u[TCA_U32_CLASSID]);
            f.redirect_to = ParseRedirects(u[TCA_U32_ACT]);
          }
        }
        out.push_back(std::move(f));
      },
      [&] { out.clear(); });
  if (!s) return s.error();
  return out;
}

}  // namespace cni::nl
