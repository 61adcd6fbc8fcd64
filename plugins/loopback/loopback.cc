#include "plugins/loopback/loopback.h"

#include <string>

#include "libcni/netlink/handle.h"
#include "netns/netns.h"

namespace loopback {
namespace {

constexpr const char* kLo = "lo";

struct Lo {
  cni::nl::Handle handle;
  cni::nl::LinkInfo link;
};

// One netlink socket inside the container's namespace, and lo's current state.
cni::Result<Lo> OpenLo(const std::string& netns) {
  auto ns = cni::NetNs::Open(netns);
  if (!ns) return ns.error();
  auto h = cni::nl::Handle::OpenIn(*ns);
  if (!h) return h.error().Context("netns " + netns);
  auto link = h->LinkByName(kLo);
  if (!link) return link.error().Context("netns " + netns);
  return Lo{std::move(*h), std::move(*link)};
}

bool IsLoopbackAddr(const cni::IpAddr& a) {
  static const cni::IpNet k127 = *cni::IpNet::Parse("127.0.0.0/8");
  static const cni::IpAddr k6 = *cni::IpAddr::Parse("::1");
  return a.is_v4() ? k127.Contains(a) : a == k6;
}

}  // namespace

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args) {
  auto lo = OpenLo(args.netns);
  if (!lo) return lo.error();
  if (auto s = lo->handle.SetUp(lo->link.index); !s) {
    return s.error().Context("set lo up in " + args.netns);
  }
  // The kernel assigns 127.0.0.1/8 and ::1/128 as lo comes up; report what is
  // there, refusing a lo that carries a non-loopback address (as the reference).
  auto addrs = lo->handle.ListAddrs(lo->link.index);
  if (!addrs) return addrs.error().Context("list lo addresses in " + args.netns);
  std::optional<cni::IpNet> v4, v6;
  for (const auto& a : *addrs) {
    if (!IsLoopbackAddr(a.addr.addr)) {
      return cni::Error(cni::Code::kInternal,
                        "loopback interface found with non-loopback address \"" +
                            a.addr.addr.ToString() + "\"");
    }
    auto& slot = a.addr.addr.is_v4() ? v4 : v6;
    if (!slot) slot = a.addr;
  }

  // A chained loopback passes the previous result through untouched.
  if (args.conf.prev_result) {
    return cni::ParseResult(*args.conf.prev_result, args.conf.cni_version);
  }
  cni::AddResult r;
  r.cni_version = args.conf.cni_version;
  cni::Interface intf;
  intf.name = kLo;
  intf.mac = "00:00:00:00:00:00";
  intf.sandbox = args.netns;
  r.interfaces.push_back(std::move(intf));
  for (const auto& a : {v4, v6}) {
    if (a) r.ips.push_back(cni::IpConfig{*a, std::nullopt, 0});
  }
  return r;
}

cni::Status CmdDel(const cni::CmdArgs& args) {
  // DEL may come after the runtime removed the namespace, and may repeat.
  if (args.netns.empty()) return cni::OkStatus();
  auto lo = OpenLo(args.netns);
  if (!lo) {
    if (lo.error().IsNotFound()) return cni::OkStatus();
    return lo.error();
  }
  if (auto s = lo->handle.SetUp(lo->link.index, false); !s) {
    return s.error().Context("set lo down in " + args.netns);
  }
  return cni::OkStatus();
}

cni::Status CmdCheck(const cni::CmdArgs& args) {
  auto lo = OpenLo(args.netns);
  if (!lo) return lo.error();
  if (!lo->link.admin_up) {
    return cni::Error(cni::Code::kInternal, "loopback interface is down in " + args.netns);
  }
  return cni::OkStatus();
}

}  // namespace loopback
