// Bridge port flags. These live in IFLA_PROTINFO of an AF_BRIDGE RTM_SETLINK,
// which the bridge driver handles; a plain RTM_NEWLINK would ignore them.
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

namespace {

Status SetPortFlag(nl_sock* sock, int index, int attr, bool on, const std::string& what) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  internal::MsgPtr msg = internal::NewMsg(RTM_SETLINK, 0, &ifi, sizeof(ifi));
  nlattr* nest = msg ? nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED) : nullptr;
  if (nest == nullptr || nla_put_u8(msg.get(), attr, on ? 1 : 0) < 0 ||
      nla_nest_end(msg.get(), nest) < 0) {
    return internal::BuildError(what);
  }
  return internal::Transact(sock, msg.get(), what);
}

std::string OnOff(bool on) { return on ? "on" : "off"; }

}  // namespace

Status Handle::SetHairpin(int index, bool on) {
  return SetPortFlag(sock_, index, IFLA_BRPORT_MODE, on,
                     "set hairpin " + OnOff(on) + internal::OnLink(index));
}

Status Handle::SetPortIsolated(int index, bool on) {
  return SetPortFlag(sock_, index, IFLA_BRPORT_ISOLATED, on,
                     "set isolated " + OnOff(on) + internal::OnLink(index));
}

}  // namespace cni::nl
