// The socket and the request/ack loop every operation goes through.
#include "libcni/netlink/handle.h"

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "libcni/netlink/nl_error.h"
#include "libcni/netlink/nl_internal.h"

namespace cni::nl {

namespace {

using internal::MsgPtr;

// The kernel's ext-ack sentence from an NLMSG_ERROR message, if it sent one.
std::string ExtAckText(const nlmsghdr* hdr) {
  if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const auto* e = static_cast<const nlmsgerr*>(nlmsg_data(hdr));
  size_t offset = sizeof(nlmsgerr);
  // Without NETLINK_CAP_ACK the original request follows the header.
  if (!(hdr->nlmsg_flags & NLM_F_CAPPED)) offset += e->msg.nlmsg_len - sizeof(nlmsghdr);
  size_t payload = hdr->nlmsg_len - NLMSG_HDRLEN;
  if (offset >= payload) return "";
  const auto* attrs = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(e) + offset);
  const nlattr* m = nla_find(attrs, static_cast<int>(payload - offset), NLMSGERR_ATTR_MSG);
  if (m == nullptr || nla_len(m) <= 0) return "";
  const char* s = static_cast<const char*>(nla_data(m));
  return std::string(s, strnlen(s, static_cast<size_t>(nla_len(m))));
}

enum class ReadOutcome { kMore, kDone };

// Reads one datagram and processes the messages of sequence `seq` in it.
// `*dump_intr` is set when the kernel flagged a dump as inconsistent.
Result<ReadOutcome> ReadOnce(nl_sock* sock, uint32_t seq, std::string_view what,
                             const internal::ReplyFn& on_reply, bool* dump_intr,
                             int* kernel_errno) {
  sockaddr_nl peer{};
  unsigned char* raw = nullptr;
  int n = nl_recv(sock, &peer, &raw, nullptr);
  internal::RecvBuf buf(raw);
  if (n < 0) return LibnlError(std::string(what) + ": receive", n);
  if (n == 0) return ReadOutcome::kMore;
  auto* hdr = reinterpret_cast<nlmsghdr*>(raw);
  int remaining = n;
  ReadOutcome outcome = ReadOutcome::kMore;
  const uint32_t port = nl_socket_get_local_port(sock);
  for (; nlmsg_ok(hdr, remaining); hdr = nlmsg_next(hdr, &remaining)) {
    // Only the kernel's answers to this request: multicast events (queued while
    // WaitOperUp was subscribed) carry another socket's port or sequence number.
    if (peer.nl_pid != 0 || hdr->nlmsg_pid != port || hdr->nlmsg_seq != seq) continue;
    if (hdr->nlmsg_flags & NLM_F_DUMP_INTR) *dump_intr = true;
    switch (hdr->nlmsg_type) {
      case NLMSG_NOOP:
        continue;
      case NLMSG_DONE:
        outcome = ReadOutcome::kDone;
        continue;
      case NLMSG_OVERRUN:
        return Error(Code::kTryAgainLater, std::string(what) + ": netlink overrun");
      case NLMSG_ERROR: {
        if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          return Error(Code::kInternal, std::string(what) + ": truncated netlink error");
        }
        const auto* e = static_cast<const nlmsgerr*>(nlmsg_data(hdr));
        if (e->error != 0) {
          if (kernel_errno != nullptr) *kernel_errno = -e->error;
          return KernelError(what, e->error, ExtAckText(hdr));
        }
        outcome = ReadOutcome::kDone;  // the ack
        continue;
      }
      default:
        if (on_reply) on_reply(hdr);
    }
  }
  return outcome;
}

// Sends `msg` and reads replies until the terminating ack/error/done.
Status SendAndWait(nl_sock* sock, nl_msg* msg, std::string_view what,
                   const internal::ReplyFn& on_reply, bool* dump_intr,
                   int* kernel_errno = nullptr) {
  int err = nl_send_auto(sock, msg);
  if (err < 0) return LibnlError(std::string(what) + ": send", err);
  const uint32_t seq = nlmsg_hdr(msg)->nlmsg_seq;
  for (;;) {
    auto r = ReadOnce(sock, seq, what, on_reply, dump_intr, kernel_errno);
    if (!r) return r.error();
    if (*r == ReadOutcome::kDone) return OkStatus();
  }
}

// Sets an int socket option on the netlink fd; failure only loses diagnostics.
void SetSockOpt(nl_sock* sock, int opt, int value = 1) {
  (void)setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, opt, &value, sizeof(value));
}

}  // namespace

namespace internal {

StrictDump::StrictDump(nl_sock* sock) : sock_(sock) { SetSockOpt(sock_, NETLINK_GET_STRICT_CHK); }
StrictDump::~StrictDump() { SetSockOpt(sock_, NETLINK_GET_STRICT_CHK, 0); }

MsgPtr NewMsg(int type, int flags, const void* hdr, size_t hdr_len) {
  MsgPtr msg(nlmsg_alloc_simple(type, flags));
  if (!msg) return msg;
  if (hdr_len > 0 && nlmsg_append(msg.get(), const_cast<void*>(hdr), hdr_len, NLMSG_ALIGNTO) < 0) {
    return MsgPtr();
  }
  return msg;
}

Status Transact(nl_sock* sock, nl_msg* msg, std::string_view what, const ReplyFn& on_reply,
                int* kernel_errno) {
  bool dump_intr = false;
  if (kernel_errno != nullptr) *kernel_errno = 0;
  return SendAndWait(sock, msg, what, on_reply, &dump_intr, kernel_errno);
}

Status Dump(nl_sock* sock, int type, const void* hdr, size_t hdr_len, std::string_view what,
            const ReplyFn& on_reply, const std::function<void()>& on_restart,
            DumpFilter filter) {
  constexpr int kMaxAttempts = 5;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    MsgPtr msg = NewMsg(type, NLM_F_DUMP, hdr, hdr_len);
    if (!msg || (filter.attr != 0 && nla_put_u32(msg.get(), filter.attr, filter.value) < 0)) {
      return Error(Code::kInternal, std::string(what) + ": out of memory");
    }
    bool dump_intr = false;
    if (auto s = SendAndWait(sock, msg.get(), what, on_reply, &dump_intr); !s) return s;
    if (!dump_intr) return OkStatus();
    if (on_restart) on_restart();
  }
  return Error(Code::kTryAgainLater,
               std::string(what) + ": dump interrupted by concurrent changes 5 times");
}

}  // namespace internal

Handle::Handle(nl_sock* sock) : sock_(sock) {}

Handle::Handle(Handle&& o) noexcept : sock_(std::exchange(o.sock_, nullptr)) {}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (sock_ != nullptr) nl_socket_free(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
  }
  return *this;
}

Handle::~Handle() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

Result<Handle> Handle::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return Error(Code::kInternal, "netlink: cannot allocate socket");
  Handle h(sock);  // frees the socket on every early return
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    return LibnlError("netlink: connect NETLINK_ROUTE", err);
  }
  // The kernel's own sentence on errors, and acks without a copy of the request.
  SetSockOpt(sock, NETLINK_EXT_ACK);
  SetSockOpt(sock, NETLINK_CAP_ACK);
  // Room for bursts of replies and link events without ENOBUFS.
  (void)nl_socket_set_buffer_size(sock, 1 << 20, 1 << 20);
  // One recvmsg per datagram instead of a MSG_PEEK probe first: the kernel caps
  // a dump datagram at 32 KiB, so a 64 KiB buffer always fits one.
  nl_socket_disable_msg_peek(sock);
  (void)nl_socket_set_msg_buf_size(sock, 64 * 1024);
  return h;
}

Result<Handle> Handle::OpenIn(const NetNs& ns) {
  // A netlink socket belongs to the namespace it was created in, for its life.
  auto sw = ScopedNetnsSwitch::Enter(ns);
  if (!sw) return sw.error();
  return Open();
}

}  // namespace cni::nl
