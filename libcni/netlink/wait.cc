// Waiting for a link to become operationally up, driven by RTNLGRP_LINK events
// on the handle's own socket rather than by polling the link's state.
#include <linux/rtnetlink.h>
#include <netlink/socket.h>
#include <poll.h>

#include <cerrno>
#include <string>

#include "libcni/netlink/handle.h"
#include "libcni/netlink/nl_error.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

namespace {

// Leaves the multicast group again however the wait ends, so later requests
// on this socket don't have to wade through link events.
class GroupMembership {
 public:
  GroupMembership(nl_sock* sock, int group) : sock_(sock), group_(group) {}
  ~GroupMembership() { (void)nl_socket_drop_membership(sock_, group_); }
  GroupMembership(const GroupMembership&) = delete;

 private:
  nl_sock* sock_;
  int group_;
};

}  // namespace

Status Handle::WaitOperUp(int index, std::chrono::milliseconds timeout) {
  const std::string what = "wait for " + internal::LinkRef(index) + " to be up";
  // Join first, then look: a change between the two is seen either in the
  // lookup's answer or as an event, never lost.
  if (int err = nl_socket_add_membership(sock_, RTNLGRP_LINK); err < 0) {
    return LibnlError(what + ": join RTNLGRP_LINK", err);
  }
  GroupMembership membership(sock_, RTNLGRP_LINK);
  auto link = LinkByIndex(index);
  if (!link) return link.error().Context(what);
  if (link->oper_up) return OkStatus();

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int fd = nl_socket_get_fd(sock_);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error(Code::kInternal, what + ": timed out after " +
                                        std::to_string(timeout.count()) + " ms");
    }
    pollfd pfd{fd, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return KernelError(what + ": poll", errno);
    if (n == 0) continue;  // the deadline check above reports the timeout

    sockaddr_nl peer{};
    unsigned char* raw = nullptr;
    int len = nl_recv(sock_, &peer, &raw, nullptr);
    internal::RecvBuf buf(raw);
    if (len == -NLE_NOMEM || len == -NLE_MSG_OVERFLOW) {
      // Events were dropped (ENOBUFS); the state may have changed unseen.
      auto again = LinkByIndex(index);
      if (!again) return again.error().Context(what);
      if (again->oper_up) return OkStatus();
      continue;
    }
    if (len < 0) return LibnlError(what + ": receive", len);
    auto* hdr = reinterpret_cast<nlmsghdr*>(raw);
    for (int rem = len; nlmsg_ok(hdr, rem); hdr = nlmsg_next(hdr, &rem)) {
      if (hdr->nlmsg_type == RTM_DELLINK) {
        const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(hdr));
        if (ifi->ifi_index == index) {
          return Error(Code::kInternal, what + ": link was deleted", "", Cause::kNotFound);
        }
        continue;
      }
      LinkInfo l;
      if (internal::ParseLinkMsg(hdr, &l) && l.index == index && l.oper_up) return OkStatus();
    }
  }
}

}  // namespace cni::nl
