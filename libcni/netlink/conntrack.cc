#include "libcni/netlink/conntrack.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/netlink/nl_error.h"
#include "libcni/sys/fd.h"

namespace cni::ct {
namespace {

// Walks the attributes of `data`, calling `each(type, payload)`.
template <typename F>
void ForEachAttr(std::string_view data, F each) {
  while (data.size() >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, data.data(), sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > data.size()) return;
    each(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK),
         data.substr(NLA_HDRLEN, a.nla_len - NLA_HDRLEN));
    const size_t step = NLA_ALIGN(a.nla_len);
    if (step >= data.size()) return;
    data.remove_prefix(step);
  }
}

std::string_view Find(std::string_view data, uint16_t type) {
  std::string_view out;
  ForEachAttr(data, [&](uint16_t t, std::string_view v) {
    if (t == type) out = v;
  });
  return out;
}

// Does the original tuple (the payload of CTA_TUPLE_ORIG) match?
bool Matches(std::string_view orig, const Match& m) {
  std::string_view proto = Find(orig, CTA_TUPLE_PROTO);
  std::string_view num = Find(proto, CTA_PROTO_NUM);
  std::string_view dport = Find(proto, CTA_PROTO_DST_PORT);
  if (num.size() != 1 || static_cast<uint8_t>(num[0]) != m.proto || dport.size() != 2) return false;
  uint16_t be;
  std::memcpy(&be, dport.data(), 2);
  if (ntohs(be) != m.dport) return false;
  if (!m.dst) return true;
  std::string_view ip = Find(orig, CTA_TUPLE_IP);
  std::string_view dst = Find(ip, m.dst->is_v4() ? CTA_IP_V4_DST : CTA_IP_V6_DST);
  return dst.size() == static_cast<size_t>(m.dst->byte_len()) &&
         std::memcmp(dst.data(), m.dst->bytes(), dst.size()) == 0;
}

std::string Message(uint16_t type, uint16_t flags, uint8_t family, uint32_t seq,
                    const std::string& attrs) {
  nlmsghdr h{};
  h.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | type);
  h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  h.nlmsg_seq = seq;
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(nfgenmsg)) + attrs.size());
  nfgenmsg g{};
  g.nfgen_family = family;
  g.version = NFNETLINK_V0;
  std::string b(reinterpret_cast<const char*>(&h), sizeof h);
  b.append(reinterpret_cast<const char*>(&g), sizeof g);
  b.resize(NLMSG_LENGTH(sizeof(nfgenmsg)), '\0');
  return b + attrs;
}

void PutAttr(std::string& b, uint16_t type, std::string_view payload) {
  nlattr a{};
  a.nla_type = type;
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + payload.size());
  b.append(reinterpret_cast<const char*>(&a), sizeof a);
  b.append(payload);
  b.resize(NLA_ALIGN(b.size()), '\0');
}

// Sends `msg` and reads replies of `seq` until the ack or DONE; data replies go to
// `on_reply` (payload after the nfgenmsg). Returns the kernel's errno (0: fine).
Result<int> Exchange(int fd, const std::string& msg, uint32_t seq, std::string_view what,
                     const std::function<void(std::string_view)>& on_reply) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof kernel) < 0) {
    return ErrnoError("conntrack: send " + std::string(what), errno);
  }
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("conntrack: receive " + std::string(what), errno);
    }
    size_t left = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return EPROTO;
        nlmsgerr e;
        std::memcpy(&e, NLMSG_DATA(h), sizeof e);
        return -e.error;
      }
      if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(nfgenmsg))) {
        const char* p = static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(nfgenmsg));
        on_reply(std::string_view(p, h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nfgenmsg)))));
      }
    }
  }
}

}  // namespace

Result<int> DeleteEntries(const Match& m) {
  int raw = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (raw < 0) return ErrnoError("conntrack: open netfilter socket", errno);
  UniqueFd fd(raw);
  const uint8_t family = m.family == Family::kV4 ? AF_INET : AF_INET6;
  const std::string what = std::string(m.family == Family::kV4 ? "ipv4" : "ipv6") +
                           " entries to port " + std::to_string(m.dport);
  // Each victim: its CTA_TUPLE_ORIG (and CTA_ZONE), re-sent as the delete's key.
  std::vector<std::string> victims;
  uint32_t seq = 1;
  auto dump = Exchange(fd.get(), Message(IPCTNL_MSG_CT_GET, NLM_F_DUMP | NLM_F_ACK, family, seq, ""),
                       seq, "dump " + what, [&](std::string_view attrs) {
                         std::string_view orig = Find(attrs, CTA_TUPLE_ORIG);
                         if (!Matches(orig, m)) return;
                         std::string key;
                         PutAttr(key, CTA_TUPLE_ORIG | NLA_F_NESTED, orig);
                         if (auto zone = Find(attrs, CTA_ZONE); !zone.empty()) {
                           PutAttr(key, CTA_ZONE, zone);
                         }
                         victims.push_back(std::move(key));
                       });
  if (!dump) return dump.error();
  if (*dump != 0) return nl::KernelError("conntrack: dump " + what, *dump);
  int deleted = 0;
  for (const std::string& key : victims) {
    ++seq;
    auto r = Exchange(fd.get(), Message(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, seq, key), seq,
                      "delete " + what, [](std::string_view) {});
    if (!r) return r.error();
    if (*r == ENOENT) continue;  // expired meanwhile
    if (*r != 0) return nl::KernelError("conntrack: delete " + what, *r);
    ++deleted;
  }
  return deleted;
}

}  // namespace cni::ct
