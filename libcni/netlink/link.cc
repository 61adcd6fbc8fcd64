// Looking up, listing, deleting and changing links. Each call is one request
// on the handle's socket; nothing is cached between calls.
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_error.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

using internal::LinkRef;
using internal::MsgPtr;
using internal::NewMsg;

namespace {

// Counters are the bulk of a link message and nobody here reads them.
constexpr uint32_t kSkipStats = 1 << 3;  // RTEXT_FILTER_SKIP_STATS

Result<LinkInfo> GetLink(nl_sock* sock, int index, const std::string& name,
                         const std::string& what) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  MsgPtr msg = NewMsg(RTM_GETLINK, 0, &ifi, sizeof(ifi));
  if (!msg || (!name.empty() && nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0) ||
      nla_put_u32(msg.get(), IFLA_EXT_MASK, kSkipStats) < 0) {
    return internal::BuildError(what);
  }
  std::optional<LinkInfo> found;
  auto s = internal::Transact(sock, msg.get(), what, [&](nlmsghdr* hdr) {
    LinkInfo l;
    if (internal::ParseLinkMsg(hdr, &l)) found = std::move(l);
  });
  if (!s) return s.error();
  if (!found) return Error(Code::kInternal, what + ": no reply", "", Cause::kNotFound);
  return *std::move(found);
}

// RTM_NEWLINK without NLM_F_CREATE changes an existing link; `fill` adds the
// attributes of the change.
Status ChangeLink(nl_sock* sock, int index, unsigned flags, unsigned change,
                  const std::string& what, const std::function<int(nl_msg*)>& fill) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  ifi.ifi_flags = flags;
  ifi.ifi_change = change;
  MsgPtr msg = NewMsg(RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  if (!msg || (fill && fill(msg.get()) < 0)) return internal::BuildError(what);
  return internal::Transact(sock, msg.get(), what);
}

}  // namespace

Result<LinkInfo> Handle::LinkByName(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Error(Code::kInternal, "find link \"" + name + "\": invalid name", "",
                 Cause::kNotFound);
  }
  return GetLink(sock_, 0, name, "find link " + name);
}

Result<LinkInfo> Handle::LinkByIndex(int index) {
  return GetLink(sock_, index, "", "find " + LinkRef(index));
}

Result<std::vector<LinkInfo>> Handle::ListLinks() {
  std::vector<LinkInfo> out;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  auto s = internal::Dump(
      sock_, RTM_GETLINK, &ifi, sizeof(ifi), "list links",
      [&](nlmsghdr* hdr) {
        LinkInfo l;
        if (internal::ParseLinkMsg(hdr, &l)) out.push_back(std::move(l));
      },
      [&] { out.clear(); });
  if (!s) return s.error();
  return out;
}

Status Handle::DeleteLink(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return OkStatus();  // cannot exist
  const std::string what = "delete link " + name;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  MsgPtr msg = NewMsg(RTM_DELLINK, 0, &ifi, sizeof(ifi));
  if (!msg || nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0) {
    return internal::BuildError(what);
  }
  auto s = internal::Transact(sock_, msg.get(), what);
  // Delete is idempotent: CNI DEL may run many times, after a half-done ADD.
  if (!s && s.error().IsNotFound()) return OkStatus();
  return s;
}

Status Handle::DeleteLinkByIndex(int index) {
  const std::string what = "delete " + LinkRef(index);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  MsgPtr msg = NewMsg(RTM_DELLINK, 0, &ifi, sizeof(ifi));
  if (!msg) return internal::BuildError(what);
  auto s = internal::Transact(sock_, msg.get(), what);
  if (!s && s.error().IsNotFound()) return OkStatus();
  return s;
}

Status Handle::SetUp(int index, bool up) {
  return ChangeLink(sock_, index, up ? IFF_UP : 0, IFF_UP,
                    std::string(up ? "set up " : "set down ") + LinkRef(index), nullptr);
}

Status Handle::SetMtu(int index, int mtu) {
  return ChangeLink(
      sock_, index, 0, 0, "set mtu " + std::to_string(mtu) + " on " + LinkRef(index),
      [&](nl_msg* m) { return nla_put_u32(m, IFLA_MTU, static_cast<uint32_t>(mtu)); });
}

Status Handle::SetMac(int index, const std::string& mac) {
  const std::string what = "set mac " + mac + " on " + LinkRef(index);
  auto bytes = ParseMac(mac);
  if (!bytes) return Error(Code::kInvalidNetworkConfig, what + ": malformed MAC address");
  return ChangeLink(sock_, index, 0, 0, what, [&](nl_msg* m) {
    return nla_put(m, IFLA_ADDRESS, static_cast<int>(bytes->size()), bytes->data());
  });
}

Status Handle::SetMaster(int index, int master_index) {
  return ChangeLink(
      sock_, index, 0, 0,
      "set master " + (master_index ? LinkRef(master_index) : "none") + " on " + LinkRef(index),
      [&](nl_msg* m) { return nla_put_u32(m, IFLA_MASTER, static_cast<uint32_t>(master_index)); });
}

Status Handle::SetPromisc(int index, bool on) {
  return ChangeLink(sock_, index, on ? IFF_PROMISC : 0, IFF_PROMISC,
                    std::string(on ? "set promisc on " : "set promisc off ") + LinkRef(index),
                    nullptr);
}

Status Handle::SetNetns(int index, const NetNs& ns) {
  return ChangeLink(
      sock_, index, 0, 0, "move " + LinkRef(index) + " to netns " + ns.path(),
      [&](nl_msg* m) { return nla_put_u32(m, IFLA_NET_NS_FD, static_cast<uint32_t>(ns.fd())); });
}

Status Handle::SetName(int index, const std::string& name) {
  const std::string what = "rename " + LinkRef(index) + " to " + name;
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Error(Code::kInvalidNetworkConfig, what + ": invalid interface name");
  }
  return ChangeLink(sock_, index, 0, 0, what,
                    [&](nl_msg* m) { return nla_put_string(m, IFLA_IFNAME, name.c_str()); });
}

}  // namespace cni::nl
