#include "plugins/bridge/nft_batch.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

constexpr uint32_t kReg1 = NFT_REG_1;
constexpr uint32_t kPrioritySrcnat = 100;  // NF_IP_PRI_NAT_SRC, nft's "srcnat"
constexpr uint8_t kUdataComment = 0;       // NFTNL_UDATA_{CHAIN,RULE}_COMMENT

// Appends netlink messages and attributes into one buffer; nests are patched on close.
class Batch {
 public:
  void Begin(uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id) {
    msg_start_ = buf_.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = NLM_F_REQUEST | flags;
    h.nlmsg_seq = ++seq_;
    Put(&h, sizeof h);
    nfgenmsg g{};
    g.nfgen_family = family;
    g.version = NFNETLINK_V0;
    g.res_id = htons(res_id);
    Put(&g, sizeof g);
  }
  // An nf_tables command inside the batch; every one is acked so errors are seen.
  void Cmd(uint16_t msg, uint16_t flags = 0) {
    Begin(static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg), NLM_F_ACK | flags,
          NFPROTO_INET, 0);
    ++acks_;
  }
  void End() { Hdr(msg_start_)->nlmsg_len = static_cast<uint32_t>(buf_.size() - msg_start_); }

  void Attr(uint16_t type, const void* data, size_t len) {
    nlattr a{};
    a.nla_type = type;
    a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
    Put(&a, sizeof a);
    Put(data, len);
    Align();
  }
  void Str(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }
  void U32(uint16_t type, uint32_t host_order) {
    uint32_t be = htonl(host_order);
    Attr(type, &be, sizeof be);
  }
  // A one-entry udata TLV holding a comment, as libnftnl writes it.
  void Comment(uint16_t type, const std::string& c) {
    std::string tlv;
    tlv += static_cast<char>(kUdataComment);
    tlv += static_cast<char>(c.size() + 1);
    tlv += c;
    tlv += '\0';
    Attr(type, tlv.data(), tlv.size());
  }
  size_t Nest(uint16_t type) {
    size_t at = buf_.size();
    nlattr a{};
    a.nla_type = static_cast<uint16_t>(type | NLA_F_NESTED);
    Put(&a, sizeof a);
    return at;
  }
  void Close(size_t at) {
    reinterpret_cast<nlattr*>(buf_.data() + at)->nla_len = static_cast<uint16_t>(buf_.size() - at);
  }

  const std::string& data() const { return buf_; }
  uint32_t last_seq() const { return seq_; }
  int acks() const { return acks_; }

 private:
  void Put(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  void Align() { buf_.resize(NLA_ALIGN(buf_.size()), '\0'); }
  nlmsghdr* Hdr(size_t at) { return reinterpret_cast<nlmsghdr*>(buf_.data() + at); }

  std::string buf_;
  size_t msg_start_ = 0;
  uint32_t seq_ = 0;
  int acks_ = 0;
};

void BatchBegin(Batch& b) {
  b.Begin(NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  b.End();
}
void BatchEnd(Batch& b) {
  b.Begin(NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  b.End();
}

void AddTable(Batch& b, const std::string& table) {
  b.Cmd(NFT_MSG_NEWTABLE, NLM_F_CREATE);
  b.Str(NFTA_TABLE_NAME, table);
  b.U32(NFTA_TABLE_FLAGS, 0);
  b.End();
}

void ChainId(Batch& b, const std::string& table, const std::string& chain) {
  b.Str(NFTA_CHAIN_TABLE, table);
  b.Str(NFTA_CHAIN_NAME, chain);
}

void FlushChain(Batch& b, const std::string& table, const std::string& chain) {
  b.Cmd(NFT_MSG_DELRULE);
  b.Str(NFTA_RULE_TABLE, table);
  b.Str(NFTA_RULE_CHAIN, chain);
  b.End();
}

// One expression: name plus its attributes, written by `body`.
template <typename F>
void Expr(Batch& b, const char* name, F body) {
  size_t elem = b.Nest(NFTA_LIST_ELEM);
  b.Str(NFTA_EXPR_NAME, name);
  size_t data = b.Nest(NFTA_EXPR_DATA);
  body();
  b.Close(data);
  b.Close(elem);
}

void DataValue(Batch& b, uint16_t type, const uint8_t* v, size_t len) {
  size_t n = b.Nest(type);
  b.Attr(NFTA_DATA_VALUE, v, len);
  b.Close(n);
}

void Cmp(Batch& b, nft_cmp_ops op, const uint8_t* v, size_t len) {
  Expr(b, "cmp", [&] {
    b.U32(NFTA_CMP_SREG, kReg1);
    b.U32(NFTA_CMP_OP, op);
    DataValue(b, NFTA_CMP_DATA, v, len);
  });
}

void Payload(Batch& b, uint32_t offset, uint32_t len) {
  Expr(b, "payload", [&] {
    b.U32(NFTA_PAYLOAD_DREG, kReg1);
    b.U32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
    b.U32(NFTA_PAYLOAD_OFFSET, offset);
    b.U32(NFTA_PAYLOAD_LEN, len);
  });
}

// `daddr != net/prefix`, encoded as nft does: whole bytes are compared directly, a
// prefix that is not a byte multiple goes through a bitwise mask first.
void DaddrNotIn(Batch& b, uint32_t daddr_offset, const cni::IpNet& net) {
  const cni::IpAddr n = net.Network();
  const int len = n.byte_len();
  if (net.prefix > 0 && net.prefix % 8 == 0) {
    Payload(b, daddr_offset, static_cast<uint32_t>(net.prefix / 8));
    Cmp(b, NFT_CMP_NEQ, n.bytes(), static_cast<size_t>(net.prefix / 8));
    return;
  }
  uint8_t mask[16] = {}, zero[16] = {};
  for (int i = 0; i < net.prefix; ++i) mask[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  Payload(b, daddr_offset, static_cast<uint32_t>(len));
  Expr(b, "bitwise", [&] {
    b.U32(NFTA_BITWISE_SREG, kReg1);
    b.U32(NFTA_BITWISE_DREG, kReg1);
    b.U32(NFTA_BITWISE_LEN, static_cast<uint32_t>(len));
    DataValue(b, NFTA_BITWISE_MASK, mask, static_cast<size_t>(len));
    DataValue(b, NFTA_BITWISE_XOR, zero, static_cast<size_t>(len));
  });
  Cmp(b, NFT_CMP_NEQ, n.bytes(), static_cast<size_t>(len));
}

void MasqRule(Batch& b, const std::string& table, const std::string& chain,
              const std::string& comment, const cni::IpNet& ip) {
  const bool v4 = ip.addr.is_v4();
  // IPv4 header: saddr at 12, daddr at 16; IPv6: saddr at 8, daddr at 24.
  const uint32_t saddr = v4 ? 12 : 8, daddr = v4 ? 16 : 24;
  b.Cmd(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
  b.Str(NFTA_RULE_TABLE, table);
  b.Str(NFTA_RULE_CHAIN, chain);
  size_t exprs = b.Nest(NFTA_RULE_EXPRESSIONS);
  // An inet table sees both families: match the family first, as nft does for `ip`.
  Expr(b, "meta", [&] {
    b.U32(NFTA_META_DREG, kReg1);
    b.U32(NFTA_META_KEY, NFT_META_NFPROTO);
  });
  const uint8_t proto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
  Cmp(b, NFT_CMP_EQ, &proto, 1);
  Payload(b, saddr, static_cast<uint32_t>(ip.addr.byte_len()));
  Cmp(b, NFT_CMP_EQ, ip.addr.bytes(), static_cast<size_t>(ip.addr.byte_len()));
  DaddrNotIn(b, daddr, ip.Masked());
  auto mcast = cni::IpNet::Parse(v4 ? "224.0.0.0/4" : "ff00::/8");
  DaddrNotIn(b, daddr, *mcast);
  Expr(b, "masq", [] {});
  b.Close(exprs);
  b.Comment(NFTA_RULE_USERDATA, comment);
  b.End();
}

// Sockets whose close NftDeferClose postpones (nullptr: close at once).
thread_local std::vector<int>* deferred = nullptr;

// Sends the batch and reads one ack per command; the first error wins.
cni::Status Commit(const Batch& b, const std::string& what) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return cni::ErrnoError("nftables: open netfilter socket", errno);
  struct Closer {
    int fd;
    ~Closer() {
      if (deferred) {
        deferred->push_back(fd);
      } else {
        close(fd);
      }
    }
  } closer{fd};
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const std::string& data = b.data();
  if (sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof kernel) < 0) {
    return cni::ErrnoError("nftables: send " + what, errno);
  }
  int pending = b.acks();
  int first_err = 0;
  alignas(nlmsghdr) char buf[8192];
  while (pending > 0) {
    // After an error the kernel aborts the batch and may not ack the rest.
    ssize_t n = recv(fd, buf, sizeof buf, first_err ? MSG_DONTWAIT : 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (first_err && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return cni::ErrnoError("nftables: receive ack for " + what, errno);
    }
    // NLMSG_OK/NLMSG_NEXT spelled out: the macros compare the u32 length with an int.
    const size_t got = static_cast<size_t>(n);
    for (size_t off = 0; off + sizeof(nlmsghdr) <= got;) {
      auto* h = reinterpret_cast<nlmsghdr*>(buf + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > got - off) break;
      off += NLMSG_ALIGN(h->nlmsg_len);
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      --pending;
      const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      if (e->error != 0 && !first_err) first_err = -e->error;
    }
  }
  if (first_err) {
    return Error(Code::kInternal, "nftables: " + what + ": " + std::strerror(first_err));
  }
  return cni::OkStatus();
}

}  // namespace

NftDeferClose::NftDeferClose() { deferred = &fds_; }

NftDeferClose::~NftDeferClose() {
  deferred = nullptr;
  for (int fd : fds_) close(fd);
}

cni::Status NftBatchSetupMasq(const std::string& table, const std::string& chain,
                              const std::string& comment, const std::vector<cni::IpNet>& ips) {
  Batch b;
  BatchBegin(b);
  AddTable(b, table);
  b.Cmd(NFT_MSG_NEWCHAIN, NLM_F_CREATE);
  ChainId(b, table, chain);
  size_t hook = b.Nest(NFTA_CHAIN_HOOK);
  b.U32(NFTA_HOOK_HOOKNUM, NF_INET_POST_ROUTING);
  b.U32(NFTA_HOOK_PRIORITY, kPrioritySrcnat);
  b.Close(hook);
  b.U32(NFTA_CHAIN_POLICY, NF_ACCEPT);
  b.Str(NFTA_CHAIN_TYPE, "nat");
  b.Comment(NFTA_CHAIN_USERDATA, comment);
  b.End();
  // Flush first so a repeated ADD replaces, never duplicates.
  FlushChain(b, table, chain);
  for (const cni::IpNet& ip : ips) MasqRule(b, table, chain, comment, ip);
  BatchEnd(b);
  return Commit(b, "add chain inet " + table + " " + chain);
}

cni::Status NftBatchDeleteChain(const std::string& table, const std::string& chain) {
  Batch b;
  BatchBegin(b);
  AddTable(b, table);
  // Creating it first makes the delete idempotent within one transaction.
  b.Cmd(NFT_MSG_NEWCHAIN, NLM_F_CREATE);
  ChainId(b, table, chain);
  b.End();
  FlushChain(b, table, chain);
  b.Cmd(NFT_MSG_DELCHAIN);
  ChainId(b, table, chain);
  b.End();
  BatchEnd(b);
  return Commit(b, "delete chain inet " + table + " " + chain);
}

}  // namespace bridge
