#include "libcni/netlink/nftables.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "libcni/netlink/nl_error.h"
#include "libcni/mac.h"

namespace cni::nft {
namespace {

constexpr uint32_t kReg1 = NFT_REG_1;
constexpr uint8_t kUdataComment = 0;  // NFTNL_UDATA_{CHAIN,RULE,SET_ELEM}_COMMENT
constexpr size_t kCommentMax = 128;   // what nft itself accepts
constexpr int kDumpAttempts = 5;      // NLM_F_DUMP_INTR: the ruleset changed meanwhile

void Put(std::string& b, const void* p, size_t n) { b.append(static_cast<const char*>(p), n); }
void Align(std::string& b) { b.resize(NLA_ALIGN(b.size()), '\0'); }

void Attr(std::string& b, uint16_t type, const void* data, size_t len) {
  nlattr a{};
  a.nla_type = type;
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  Put(b, &a, sizeof a);
  Put(b, data, len);
  Align(b);
}
void Str(std::string& b, uint16_t type, const std::string& s) {
  Attr(b, type, s.c_str(), s.size() + 1);
}
void U32(std::string& b, uint16_t type, uint32_t host_order) {
  uint32_t be = htonl(host_order);
  Attr(b, type, &be, sizeof be);
}
size_t Nest(std::string& b, uint16_t type) {
  size_t at = b.size();
  nlattr a{};
  a.nla_type = static_cast<uint16_t>(type | NLA_F_NESTED);
  Put(b, &a, sizeof a);
  return at;
}
void Close(std::string& b, size_t at) {
  const auto len = static_cast<uint16_t>(b.size() - at);
  std::memcpy(b.data() + at, &len, sizeof len);  // nla_len is the first field
}
// A one-entry udata TLV holding a comment, as libnftnl writes it.
void Comment(std::string& b, uint16_t type, const std::string& c) {
  std::string text = c.substr(0, kCommentMax - 1);
  std::string tlv;
  tlv += static_cast<char>(kUdataComment);
  tlv += static_cast<char>(text.size() + 1);
  tlv += text;
  tlv += '\0';
  Attr(b, type, tlv.data(), tlv.size());
}
void Data(std::string& b, uint16_t type, const void* v, size_t len) {
  size_t n = Nest(b, type);
  Attr(b, NFTA_DATA_VALUE, v, len);
  Close(b, n);
}
void JumpVerdict(std::string& b, uint16_t type, int code, const std::string& chain) {
  size_t data = Nest(b, type);
  size_t verdict = Nest(b, NFTA_DATA_VERDICT);
  U32(b, NFTA_VERDICT_CODE, static_cast<uint32_t>(code));
  if (!chain.empty()) Str(b, NFTA_VERDICT_CHAIN, chain);
  Close(b, verdict);
  Close(b, data);
}

// One expression: NFTA_LIST_ELEM { name, data { body } }.
template <typename F>
void Expr(std::string& b, const char* name, F body) {
  size_t elem = Nest(b, NFTA_LIST_ELEM);
  Str(b, NFTA_EXPR_NAME, name);
  size_t data = Nest(b, NFTA_EXPR_DATA);
  body();
  Close(b, data);
  Close(b, elem);
}

// Attributes of one message (or nest): type -> payload view.
using Attrs = std::map<uint16_t, std::string_view>;
Attrs ParseAttrs(const char* p, size_t len) {
  Attrs out;
  while (len >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, p, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > len) break;
    out[static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK)] =
        std::string_view(p + NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    const size_t step = NLA_ALIGN(a.nla_len);
    if (step >= len) break;
    p += step;
    len -= step;
  }
  return out;
}
// Every NFTA_LIST_ELEM of a nest, in order.
std::vector<std::string_view> NestedElems(std::string_view nest) {
  std::vector<std::string_view> out;
  const char* p = nest.data();
  size_t len = nest.size();
  while (len >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, p, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > len) break;
    out.emplace_back(p + NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    const size_t step = NLA_ALIGN(a.nla_len);
    if (step >= len) break;
    p += step;
    len -= step;
  }
  return out;
}
Attrs Sub(const Attrs& a, uint16_t type) {
  auto it = a.find(type);
  if (it == a.end()) return {};
  return ParseAttrs(it->second.data(), it->second.size());
}
std::string StrAttr(const Attrs& a, uint16_t type) {
  auto it = a.find(type);
  if (it == a.end()) return "";
  std::string s(it->second);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}
// The comment TLV of a udata attribute, "" if none.
std::string UdataComment(const Attrs& a, uint16_t type) {
  auto it = a.find(type);
  if (it == a.end()) return "";
  std::string_view u = it->second;
  while (u.size() >= 2) {
    const auto t = static_cast<uint8_t>(u[0]);
    const auto l = static_cast<uint8_t>(u[1]);
    if (size_t{2} + l > u.size()) break;
    if (t == kUdataComment) {
      std::string s(u.substr(2, l));
      while (!s.empty() && s.back() == '\0') s.pop_back();
      return s;
    }
    u.remove_prefix(size_t{2} + l);
  }
  return "";
}

Elem ParseElem(std::string_view attrs) {
  Attrs e = ParseAttrs(attrs.data(), attrs.size());
  Elem out;
  Attrs key = Sub(e, NFTA_SET_ELEM_KEY);
  if (auto it = key.find(NFTA_DATA_VALUE); it != key.end()) out.key = std::string(it->second);
  Attrs data = Sub(e, NFTA_SET_ELEM_DATA);
  if (auto it = data.find(NFTA_DATA_VALUE); it != data.end()) out.data = std::string(it->second);
  Attrs verdict = Sub(data, NFTA_DATA_VERDICT);
  out.jump_chain = StrAttr(verdict, NFTA_VERDICT_CHAIN);
  out.comment = UdataComment(e, NFTA_SET_ELEM_USERDATA);
  return out;
}

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kInet: return "inet";
    case Family::kIp: return "ip";
    case Family::kIp6: return "ip6";
    case Family::kBridge: return "bridge";
  }
  return "?";
}

std::string Obj(Family f, const std::string& table, const std::string& name = "") {
  std::string s = std::string(FamilyName(f)) + " " + table;
  if (!name.empty()) s += " " + name;
  return s;
}

}  // namespace

// ---- Rule -------------------------------------------------------------------

void Rule::Payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
  Expr(exprs_, "payload", [&] {
    U32(exprs_, NFTA_PAYLOAD_DREG, dreg);
    U32(exprs_, NFTA_PAYLOAD_BASE, base);
    U32(exprs_, NFTA_PAYLOAD_OFFSET, offset);
    U32(exprs_, NFTA_PAYLOAD_LEN, len);
  });
}

void Rule::Cmp(uint32_t op, const void* data, size_t len) {
  Expr(exprs_, "cmp", [&] {
    U32(exprs_, NFTA_CMP_SREG, kReg1);
    U32(exprs_, NFTA_CMP_OP, op);
    Data(exprs_, NFTA_CMP_DATA, data, len);
  });
}

void Rule::Lookup(const std::string& set, bool vmap, bool invert) {
  Expr(exprs_, "lookup", [&] {
    Str(exprs_, NFTA_LOOKUP_SET, set);
    U32(exprs_, NFTA_LOOKUP_SREG, kReg1);
    if (vmap) U32(exprs_, NFTA_LOOKUP_DREG, NFT_REG_VERDICT);
    if (invert) U32(exprs_, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  });
}

Rule& Rule::NfProto(bool v4) {
  Expr(exprs_, "meta", [&] {
    U32(exprs_, NFTA_META_DREG, kReg1);
    U32(exprs_, NFTA_META_KEY, NFT_META_NFPROTO);
  });
  const uint8_t proto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
  Cmp(NFT_CMP_EQ, &proto, 1);
  return *this;
}

// IPv4 header: saddr at 12, daddr at 16; IPv6: saddr at 8, daddr at 24.
static uint32_t AddrOffset(bool v4, bool saddr) {
  return v4 ? (saddr ? 12 : 16) : (saddr ? 8 : 24);
}

Rule& Rule::AddrEq(bool saddr, const IpAddr& addr) {
  Payload(NFT_PAYLOAD_NETWORK_HEADER, AddrOffset(addr.is_v4(), saddr),
          static_cast<uint32_t>(addr.byte_len()));
  Cmp(NFT_CMP_EQ, addr.bytes(), static_cast<size_t>(addr.byte_len()));
  return *this;
}

// Encoded as nft does: whole bytes are compared directly, a prefix that is not a
// byte multiple goes through a bitwise mask first.
Rule& Rule::AddrIn(bool saddr, const IpNet& net) {
  AddrMatch(saddr, net, NFT_CMP_EQ);
  return *this;
}

Rule& Rule::AddrNotIn(bool saddr, const IpNet& net) {
  AddrMatch(saddr, net, NFT_CMP_NEQ);
  return *this;
}

void Rule::AddrMatch(bool saddr, const IpNet& net, uint32_t op) {
  const IpAddr n = net.Network();
  const int len = n.byte_len();
  const uint32_t off = AddrOffset(n.is_v4(), saddr);
  if (net.prefix > 0 && net.prefix % 8 == 0) {
    Payload(NFT_PAYLOAD_NETWORK_HEADER, off, static_cast<uint32_t>(net.prefix / 8));
    Cmp(op, n.bytes(), static_cast<size_t>(net.prefix / 8));
    return;
  }
  uint8_t mask[16] = {}, zero[16] = {};
  for (int i = 0; i < net.prefix; ++i) mask[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  Payload(NFT_PAYLOAD_NETWORK_HEADER, off, static_cast<uint32_t>(len));
  Expr(exprs_, "bitwise", [&] {
    U32(exprs_, NFTA_BITWISE_SREG, kReg1);
    U32(exprs_, NFTA_BITWISE_DREG, kReg1);
    U32(exprs_, NFTA_BITWISE_LEN, static_cast<uint32_t>(len));
    Data(exprs_, NFTA_BITWISE_MASK, mask, static_cast<size_t>(len));
    Data(exprs_, NFTA_BITWISE_XOR, zero, static_cast<size_t>(len));
  });
  Cmp(op, n.bytes(), static_cast<size_t>(len));
}

Rule& Rule::SaddrVmap(bool v4, const std::string& set) {
  Payload(NFT_PAYLOAD_NETWORK_HEADER, AddrOffset(v4, true), v4 ? 4 : 16);
  Lookup(set, true);
  return *this;
}

Rule& Rule::IifnameVmap(const std::string& set) {
  Expr(exprs_, "meta", [&] {
    U32(exprs_, NFTA_META_DREG, kReg1);
    U32(exprs_, NFTA_META_KEY, NFT_META_IIFNAME);
  });
  Lookup(set, true);
  return *this;
}

Rule& Rule::EtherSaddrNot(const std::string& mac) {
  auto bytes = ParseMac(mac);
  if (!bytes) {
    error_ = "invalid MAC address \"" + mac + "\"";
    return *this;
  }
  Payload(NFT_PAYLOAD_LL_HEADER, 6, 6);
  Cmp(NFT_CMP_NEQ, bytes->data(), bytes->size());
  return *this;
}

// nft numbers a register slot (4 bytes from the start of register 1) with the
// 16-byte register's number when it starts one, else with its 32-bit number.
static uint32_t SlotReg(uint32_t slot) {
  return slot % 4 == 0 ? NFT_REG_1 + slot / 4 : NFT_REG32_00 + slot;
}

uint32_t Rule::LoadConcat(const std::vector<Field>& key) {
  uint32_t slot = 0;
  for (Field f : key) {
    const uint32_t reg = SlotReg(slot);
    uint32_t len = 0;
    switch (f) {
      case Field::kSaddr4:
      case Field::kDaddr4:
        len = 4;
        Payload(NFT_PAYLOAD_NETWORK_HEADER, AddrOffset(true, f == Field::kSaddr4), len, reg);
        break;
      case Field::kSaddr6:
      case Field::kDaddr6:
        len = 16;
        Payload(NFT_PAYLOAD_NETWORK_HEADER, AddrOffset(false, f == Field::kSaddr6), len, reg);
        break;
      case Field::kL4Proto:
        len = 1;
        Expr(exprs_, "meta", [&] {
          U32(exprs_, NFTA_META_DREG, reg);
          U32(exprs_, NFTA_META_KEY, NFT_META_L4PROTO);
        });
        break;
      case Field::kThDport:
        len = 2;
        Payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, len, reg);
        break;
      case Field::kEtherSaddr:
        len = 6;
        Payload(NFT_PAYLOAD_LL_HEADER, 6, len, reg);
        break;
      case Field::kIifname:
        len = static_cast<uint32_t>(kIfnameLen);
        Expr(exprs_, "meta", [&] {
          U32(exprs_, NFTA_META_DREG, reg);
          U32(exprs_, NFTA_META_KEY, NFT_META_IIFNAME);
        });
        break;
    }
    slot += (len + 3) / 4;
  }
  return slot;
}

Rule& Rule::InSet(const std::vector<Field>& key, const std::string& set) {
  LoadConcat(key);
  Lookup(set, false);
  return *this;
}

Rule& Rule::NotInSet(const std::vector<Field>& key, const std::string& set) {
  LoadConcat(key);
  Lookup(set, false, true);
  return *this;
}

Rule& Rule::DnatMap(bool v4, const std::vector<Field>& key, const std::string& map) {
  LoadConcat(key);
  Expr(exprs_, "lookup", [&] {
    Str(exprs_, NFTA_LOOKUP_SET, map);
    U32(exprs_, NFTA_LOOKUP_SREG, kReg1);
    U32(exprs_, NFTA_LOOKUP_DREG, kReg1);
  });
  // The value is address . port: the port sits in the slot after the address.
  const uint32_t port_reg = SlotReg(v4 ? 1 : 4);
  Expr(exprs_, "nat", [&] {
    U32(exprs_, NFTA_NAT_TYPE, NFT_NAT_DNAT);
    U32(exprs_, NFTA_NAT_FAMILY, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
    U32(exprs_, NFTA_NAT_REG_ADDR_MIN, kReg1);
    U32(exprs_, NFTA_NAT_REG_PROTO_MIN, port_reg);
  });
  return *this;
}

Rule& Rule::FibDaddrLocal() {
  Expr(exprs_, "fib", [&] {
    U32(exprs_, NFTA_FIB_DREG, kReg1);
    U32(exprs_, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    U32(exprs_, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
  });
  const uint32_t local = RTN_LOCAL;  // host order, as the fib expression stores it
  Cmp(NFT_CMP_EQ, &local, sizeof local);
  return *this;
}

Rule& Rule::CtStatusDnat() {
  Expr(exprs_, "ct", [&] {
    U32(exprs_, NFTA_CT_DREG, kReg1);
    U32(exprs_, NFTA_CT_KEY, NFT_CT_STATUS);
  });
  // Host order, as the ct expression stores the status word.
  const uint32_t mask = IPS_DST_NAT, zero = 0;
  Expr(exprs_, "bitwise", [&] {
    U32(exprs_, NFTA_BITWISE_SREG, kReg1);
    U32(exprs_, NFTA_BITWISE_DREG, kReg1);
    U32(exprs_, NFTA_BITWISE_LEN, sizeof mask);
    Data(exprs_, NFTA_BITWISE_MASK, &mask, sizeof mask);
    Data(exprs_, NFTA_BITWISE_XOR, &zero, sizeof zero);
  });
  Cmp(NFT_CMP_NEQ, &zero, sizeof zero);
  return *this;
}

Rule& Rule::Jump(const std::string& chain) {
  Expr(exprs_, "immediate", [&] {
    U32(exprs_, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    JumpVerdict(exprs_, NFTA_IMMEDIATE_DATA, NFT_JUMP, chain);
  });
  return *this;
}

Rule& Rule::Counter() {
  Expr(exprs_, "counter", [] {});
  return *this;
}

Rule& Rule::Masquerade() {
  Expr(exprs_, "masq", [] {});
  return *this;
}

Rule& Rule::Drop() {
  Expr(exprs_, "immediate", [&] {
    U32(exprs_, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    JumpVerdict(exprs_, NFTA_IMMEDIATE_DATA, NF_DROP, "");
  });
  return *this;
}

// ---- Batch ------------------------------------------------------------------

Batch::Batch() {
  // BATCH_BEGIN: sequence numbers are filled in by Socket::Commit.
  nlmsghdr h{};
  h.nlmsg_type = NFNL_MSG_BATCH_BEGIN;
  h.nlmsg_flags = NLM_F_REQUEST;
  h.nlmsg_len = NLMSG_LENGTH(sizeof(nfgenmsg));
  Put(buf_, &h, sizeof h);
  nfgenmsg g{};
  g.nfgen_family = AF_UNSPEC;
  g.version = NFNETLINK_V0;
  g.res_id = htons(NFNL_SUBSYS_NFTABLES);
  Put(buf_, &g, sizeof g);
}

void Batch::Begin(uint16_t msg, uint16_t flags, Family f) {
  msg_start_ = buf_.size();
  nlmsghdr h{};
  h.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg);
  // Every command is acked, so the one that fails is known.
  h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
  Put(buf_, &h, sizeof h);
  nfgenmsg g{};
  g.nfgen_family = static_cast<uint8_t>(f);
  g.version = NFNETLINK_V0;
  Put(buf_, &g, sizeof g);
  ++commands_;
}

void Batch::End() {
  const auto len = static_cast<uint32_t>(buf_.size() - msg_start_);
  std::memcpy(buf_.data() + msg_start_, &len, sizeof len);  // nlmsg_len comes first
}

void Batch::AddTable(Family f, const std::string& table, bool exclusive) {
  Begin(NFT_MSG_NEWTABLE, NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0), f);
  Str(buf_, NFTA_TABLE_NAME, table);
  U32(buf_, NFTA_TABLE_FLAGS, 0);
  End();
  what_.push_back("add table " + Obj(f, table));
}

void Batch::DeleteTable(Family f, const std::string& table) {
  Begin(NFT_MSG_DELTABLE, 0, f);
  Str(buf_, NFTA_TABLE_NAME, table);
  End();
  what_.push_back("delete table " + Obj(f, table));
}

void Batch::AddChain(Family f, const std::string& table, const std::string& chain,
                     const std::optional<Hook>& hook, const std::string& comment,
                     bool exclusive) {
  Begin(NFT_MSG_NEWCHAIN, NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0), f);
  Str(buf_, NFTA_CHAIN_TABLE, table);
  Str(buf_, NFTA_CHAIN_NAME, chain);
  if (hook) {
    size_t h = Nest(buf_, NFTA_CHAIN_HOOK);
    U32(buf_, NFTA_HOOK_HOOKNUM, hook->hooknum);
    U32(buf_, NFTA_HOOK_PRIORITY, static_cast<uint32_t>(hook->priority));
    Close(buf_, h);
    U32(buf_, NFTA_CHAIN_POLICY, NF_ACCEPT);
    Str(buf_, NFTA_CHAIN_TYPE, hook->type);
  }
  if (!comment.empty()) Comment(buf_, NFTA_CHAIN_USERDATA, comment);
  End();
  what_.push_back("add chain " + Obj(f, table, chain));
}

void Batch::FlushChain(Family f, const std::string& table, const std::string& chain) {
  Begin(NFT_MSG_DELRULE, 0, f);
  Str(buf_, NFTA_RULE_TABLE, table);
  Str(buf_, NFTA_RULE_CHAIN, chain);
  End();
  what_.push_back("flush chain " + Obj(f, table, chain));
}

void Batch::DeleteRule(Family f, const std::string& table, const std::string& chain,
                       uint64_t handle) {
  Begin(NFT_MSG_DELRULE, 0, f);
  Str(buf_, NFTA_RULE_TABLE, table);
  Str(buf_, NFTA_RULE_CHAIN, chain);
  const uint64_t be = htobe64(handle);
  Attr(buf_, NFTA_RULE_HANDLE, &be, sizeof be);
  End();
  what_.push_back("delete rule " + Obj(f, table, chain) + " handle " + std::to_string(handle));
}

void Batch::DeleteSet(Family f, const std::string& table, const std::string& set) {
  Begin(NFT_MSG_DELSET, 0, f);
  Str(buf_, NFTA_SET_TABLE, table);
  Str(buf_, NFTA_SET_NAME, set);
  End();
  what_.push_back("delete set " + Obj(f, table, set));
}

void Batch::DeleteChain(Family f, const std::string& table, const std::string& chain) {
  Begin(NFT_MSG_DELCHAIN, 0, f);
  Str(buf_, NFTA_CHAIN_TABLE, table);
  Str(buf_, NFTA_CHAIN_NAME, chain);
  End();
  what_.push_back("delete chain " + Obj(f, table, chain));
}

void Batch::AddSet(Family f, const std::string& table, const SetSpec& set, bool exclusive) {
  Begin(NFT_MSG_NEWSET, NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0), f);
  Str(buf_, NFTA_SET_TABLE, table);
  Str(buf_, NFTA_SET_NAME, set.name);
  const bool map = set.verdict_map || set.data_len > 0;
  U32(buf_, NFTA_SET_FLAGS, map ? NFT_SET_MAP : 0);
  U32(buf_, NFTA_SET_KEY_TYPE, set.key_type);
  U32(buf_, NFTA_SET_KEY_LEN, set.key_len);
  if (set.verdict_map) {
    U32(buf_, NFTA_SET_DATA_TYPE, NFT_DATA_VERDICT);
  } else if (set.data_len > 0) {
    U32(buf_, NFTA_SET_DATA_TYPE, set.data_type);
    U32(buf_, NFTA_SET_DATA_LEN, set.data_len);
  }
  U32(buf_, NFTA_SET_ID, static_cast<uint32_t>(commands_));
  // nft prints a lone string-typed key or value (an ifname) only when the set's
  // user data says its byte order is the host's, so say it as nft does (its
  // NFTNL_UDATA_SET_KEYBYTEORDER/DATABYTEORDER; 1 = host, 2 = big endian).
  if (set.key_type == kTypeIfname || (!set.verdict_map && set.data_type == kTypeIfname)) {
    std::string udata;
    auto order = [&](uint8_t what, uint32_t type) {
      const uint32_t v = type == kTypeIfname ? 1 : 2;
      udata += static_cast<char>(what);
      udata += static_cast<char>(sizeof v);
      Put(udata, &v, sizeof v);
    };
    order(0, set.key_type);
    if (set.data_len > 0 && !set.verdict_map) order(1, set.data_type);
    Attr(buf_, NFTA_SET_USERDATA, udata.data(), udata.size());
  }
  End();
  what_.push_back("add set " + Obj(f, table, set.name));
}

void Batch::AddRule(Family f, const std::string& table, const std::string& chain,
                    const Rule& rule, const std::string& comment) {
  if (!rule.error_.empty() && error_.empty()) error_ = rule.error_;
  Begin(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, f);
  Str(buf_, NFTA_RULE_TABLE, table);
  Str(buf_, NFTA_RULE_CHAIN, chain);
  size_t exprs = Nest(buf_, NFTA_RULE_EXPRESSIONS);
  buf_ += rule.exprs();
  Close(buf_, exprs);
  if (!comment.empty()) Comment(buf_, NFTA_RULE_USERDATA, comment);
  End();
  what_.push_back("add rule " + Obj(f, table, chain));
}

void Batch::AddElems(Family f, const std::string& table, const std::string& set,
                     const std::vector<Elem>& elems, bool exclusive) {
  Begin(NFT_MSG_NEWSETELEM, NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0), f);
  Str(buf_, NFTA_SET_ELEM_LIST_TABLE, table);
  Str(buf_, NFTA_SET_ELEM_LIST_SET, set);
  size_t list = Nest(buf_, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (const Elem& e : elems) {
    size_t el = Nest(buf_, NFTA_LIST_ELEM);
    Data(buf_, NFTA_SET_ELEM_KEY, e.key.data(), e.key.size());
    if (!e.jump_chain.empty()) JumpVerdict(buf_, NFTA_SET_ELEM_DATA, NFT_JUMP, e.jump_chain);
    if (!e.data.empty()) Data(buf_, NFTA_SET_ELEM_DATA, e.data.data(), e.data.size());
    if (!e.comment.empty()) Comment(buf_, NFTA_SET_ELEM_USERDATA, e.comment);
    Close(buf_, el);
  }
  Close(buf_, list);
  End();
  what_.push_back("add element " + Obj(f, table, set));
}

void Batch::DeleteElems(Family f, const std::string& table, const std::string& set,
                        const std::vector<std::string>& keys) {
  std::vector<Elem> elems;
  for (const std::string& k : keys) elems.push_back({k, "", "", ""});
  DeleteElems(f, table, set, elems);
}

void Batch::DeleteElems(Family f, const std::string& table, const std::string& set,
                        const std::vector<Elem>& elems) {
  Begin(NFT_MSG_DELSETELEM, 0, f);
  Str(buf_, NFTA_SET_ELEM_LIST_TABLE, table);
  Str(buf_, NFTA_SET_ELEM_LIST_SET, set);
  size_t list = Nest(buf_, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (const Elem& e : elems) {
    size_t el = Nest(buf_, NFTA_LIST_ELEM);
    Data(buf_, NFTA_SET_ELEM_KEY, e.key.data(), e.key.size());
    Close(buf_, el);
  }
  Close(buf_, list);
  End();
  what_.push_back("delete element " + Obj(f, table, set));
}

// ---- Socket -----------------------------------------------------------------

Result<Socket> Socket::Open() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return ErrnoError("nftables: open netfilter socket", errno);
  // The kernel's own sentence on errors, without the request echoed back.
  int one = 1;
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return Socket(fd);
}

Socket::Socket(Socket&& o) noexcept : fd_(o.fd_), seq_(o.seq_) { o.fd_ = -1; }

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    seq_ = o.seq_;
    o.fd_ = -1;
  }
  return *this;
}

Socket::~Socket() {
  if (fd_ >= 0) close(fd_);
}

namespace {

// The errno and ext-ack text of an NLMSG_ERROR message.
int ErrorOf(const nlmsghdr* h, std::string* extack) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return EPROTO;
  nlmsgerr e;
  std::memcpy(&e, NLMSG_DATA(h), sizeof e);
  if (e.error != 0 && (h->nlmsg_flags & NLM_F_ACK_TLVS) && (h->nlmsg_flags & NLM_F_CAPPED)) {
    const char* tlvs = static_cast<const char*>(NLMSG_DATA(h)) + sizeof e;
    const size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof e);
    *extack = StrAttr(ParseAttrs(tlvs, len), NLMSGERR_ATTR_MSG);
  }
  return -e.error;
}

}  // namespace

Status Socket::Commit(const Batch& b, std::string_view what) {
  if (!b.error_.empty()) {
    return Error(Code::kInvalidNetworkConfig, std::string(what) + ": " + b.error_);
  }
  std::string buf = b.buf_;
  // BATCH_END, then number every message from this socket's sequence.
  nlmsghdr end{};
  end.nlmsg_type = NFNL_MSG_BATCH_END;
  end.nlmsg_flags = NLM_F_REQUEST;
  end.nlmsg_len = NLMSG_LENGTH(sizeof(nfgenmsg));
  Put(buf, &end, sizeof end);
  nfgenmsg g{};
  g.res_id = htons(NFNL_SUBSYS_NFTABLES);
  Put(buf, &g, sizeof g);
  std::map<uint32_t, int> command_of_seq;  // seq -> index in what_ (-1: the batch itself)
  int index = -1;
  const uint32_t first_seq = seq_ + 1;
  for (size_t off = 0; off + sizeof(nlmsghdr) <= buf.size();) {
    nlmsghdr h;
    std::memcpy(&h, buf.data() + off, sizeof h);
    h.nlmsg_seq = ++seq_;
    std::memcpy(buf.data() + off, &h, sizeof h);
    command_of_seq[h.nlmsg_seq] = index++;
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof kernel) < 0) {
    return ErrnoError("nftables: send " + std::string(what), errno);
  }
  int pending = b.commands_;
  int first_err = 0;
  std::string first_what, extack;
  std::vector<char> rbuf(65536);
  while (pending > 0) {
    // After an error the kernel aborts the batch and may not ack the rest.
    ssize_t n = recv(fd_, rbuf.data(), rbuf.size(), first_err ? MSG_DONTWAIT : 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (first_err && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return ErrnoError("nftables: receive ack for " + std::string(what), errno);
    }
    const size_t got = static_cast<size_t>(n);
    for (size_t off = 0; off + sizeof(nlmsghdr) <= got;) {
      auto* h = reinterpret_cast<nlmsghdr*>(rbuf.data() + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > got - off) break;
      off += NLMSG_ALIGN(h->nlmsg_len);
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first_seq) continue;
      auto it = command_of_seq.find(h->nlmsg_seq);
      if (it == command_of_seq.end()) continue;
      std::string text;
      int err = ErrorOf(h, &text);
      if (it->second >= 0) --pending;
      if (err != 0 && !first_err) {
        first_err = err;
        extack = text;
        first_what = it->second >= 0 && static_cast<size_t>(it->second) < b.what_.size()
                         ? b.what_[static_cast<size_t>(it->second)]
                         : "commit";
      }
    }
  }
  if (first_err) {
    return nl::KernelError("nftables: " + std::string(what) + ": " + first_what, first_err,
                           extack);
  }
  return OkStatus();
}

Status Socket::Request(uint16_t msg, uint16_t flags, Family f, const std::string& attrs,
                       std::string_view what,
                       const std::function<void(const void*, size_t)>& on_reply) {
  const bool dump = (flags & NLM_F_DUMP) != 0;
  for (int attempt = 1;; ++attempt) {
    std::string buf;
    nlmsghdr h{};
    h.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg);
    h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    h.nlmsg_seq = ++seq_;
    Put(buf, &h, sizeof h);
    nfgenmsg g{};
    g.nfgen_family = static_cast<uint8_t>(f);
    g.version = NFNETLINK_V0;
    Put(buf, &g, sizeof g);
    buf += attrs;
    const auto len = static_cast<uint32_t>(buf.size());
    std::memcpy(buf.data(), &len, sizeof len);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
      return ErrnoError("nftables: send " + std::string(what), errno);
    }
    std::vector<std::string> replies;
    bool interrupted = false, done = false;
    std::vector<char> rbuf(65536);
    while (!done) {
      ssize_t n = recv(fd_, rbuf.data(), rbuf.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("nftables: receive " + std::string(what), errno);
      }
      const size_t got = static_cast<size_t>(n);
      for (size_t off = 0; off + sizeof(nlmsghdr) <= got;) {
        auto* r = reinterpret_cast<nlmsghdr*>(rbuf.data() + off);
        if (r->nlmsg_len < sizeof(nlmsghdr) || r->nlmsg_len > got - off) break;
        off += NLMSG_ALIGN(r->nlmsg_len);
        if (r->nlmsg_seq != h.nlmsg_seq) continue;  // a late ack of an earlier batch
        if (r->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        if (r->nlmsg_type == NLMSG_DONE) {
          done = true;
        } else if (r->nlmsg_type == NLMSG_ERROR) {
          std::string text;
          int err = ErrorOf(r, &text);
          if (err != 0) return nl::KernelError("nftables: " + std::string(what), err, text);
          done = true;  // the ack after a GET's reply, or after a dump's DONE
        } else if (r->nlmsg_len >= NLMSG_LENGTH(sizeof(nfgenmsg))) {
          const char* p = static_cast<const char*>(NLMSG_DATA(r)) + NLMSG_ALIGN(sizeof(nfgenmsg));
          replies.emplace_back(p, r->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nfgenmsg))));
        }
      }
    }
    if (dump && interrupted) {
      if (attempt < kDumpAttempts) continue;
      return Error(Code::kTryAgainLater,
                   "nftables: " + std::string(what) + ": the ruleset kept changing during the listing");
    }
    for (const std::string& r : replies) on_reply(r.data(), r.size());
    return OkStatus();
  }
}

Status Socket::GetTable(Family f, const std::string& table) {
  std::string a;
  Str(a, NFTA_TABLE_NAME, table);
  return Request(NFT_MSG_GETTABLE, 0, f, a, "get table " + Obj(f, table),
                 [](const void*, size_t) {});
}

Result<ChainInfo> Socket::GetChain(Family f, const std::string& table, const std::string& chain) {
  std::string a;
  Str(a, NFTA_CHAIN_TABLE, table);
  Str(a, NFTA_CHAIN_NAME, chain);
  ChainInfo info;
  auto s = Request(NFT_MSG_GETCHAIN, 0, f, a, "get chain " + Obj(f, table, chain),
                   [&](const void* p, size_t len) {
                     Attrs c = ParseAttrs(static_cast<const char*>(p), len);
                     info.name = StrAttr(c, NFTA_CHAIN_NAME);
                     info.base = c.count(NFTA_CHAIN_HOOK) > 0;
                     info.comment = UdataComment(c, NFTA_CHAIN_USERDATA);
                   });
  if (!s) return s.error();
  return info;
}

Result<Elem> Socket::GetElem(Family f, const std::string& table, const std::string& set,
                             const std::string& key) {
  std::string a;
  Str(a, NFTA_SET_ELEM_LIST_TABLE, table);
  Str(a, NFTA_SET_ELEM_LIST_SET, set);
  size_t list = Nest(a, NFTA_SET_ELEM_LIST_ELEMENTS);
  size_t el = Nest(a, NFTA_LIST_ELEM);
  Data(a, NFTA_SET_ELEM_KEY, key.data(), key.size());
  Close(a, el);
  Close(a, list);
  std::optional<Elem> found;
  auto s = Request(NFT_MSG_GETSETELEM, 0, f, a, "get element of " + Obj(f, table, set),
                   [&](const void* p, size_t len) {
                     Attrs m = ParseAttrs(static_cast<const char*>(p), len);
                     auto it = m.find(NFTA_SET_ELEM_LIST_ELEMENTS);
                     if (it == m.end()) return;
                     for (std::string_view e : NestedElems(it->second)) {
                       if (!found) found = ParseElem(e);
                     }
                   });
  if (!s) return s.error();
  if (!found) {
    return Error(Code::kInternal, "nftables: no such element in " + Obj(f, table, set), "",
                 Cause::kNotFound);
  }
  return *found;
}

Result<std::vector<ChainInfo>> Socket::ListChains(Family f, const std::string& table) {
  std::vector<ChainInfo> out;
  auto s = Request(NFT_MSG_GETCHAIN, NLM_F_DUMP, f, "", "list chains of " + Obj(f, table),
                   [&](const void* p, size_t len) {
                     Attrs c = ParseAttrs(static_cast<const char*>(p), len);
                     if (StrAttr(c, NFTA_CHAIN_TABLE) != table) return;
                     out.push_back({StrAttr(c, NFTA_CHAIN_NAME),
                                    UdataComment(c, NFTA_CHAIN_USERDATA),
                                    c.count(NFTA_CHAIN_HOOK) > 0});
                   });
  if (!s) return s.error();
  return out;
}

Result<std::vector<RuleInfo>> Socket::ListRules(Family f, const std::string& table,
                                                const std::string& chain) {
  std::string a;
  Str(a, NFTA_RULE_TABLE, table);
  if (!chain.empty()) Str(a, NFTA_RULE_CHAIN, chain);
  std::vector<RuleInfo> out;
  auto s = Request(NFT_MSG_GETRULE, NLM_F_DUMP, f, a, "list rules of " + Obj(f, table, chain),
                   [&](const void* p, size_t len) {
                     Attrs r = ParseAttrs(static_cast<const char*>(p), len);
                     // Older kernels ignore the filter; apply it here as well.
                     if (StrAttr(r, NFTA_RULE_TABLE) != table ||
                         (!chain.empty() && StrAttr(r, NFTA_RULE_CHAIN) != chain)) {
                       return;
                     }
                     RuleInfo info;
                     info.chain = StrAttr(r, NFTA_RULE_CHAIN);
                     if (auto it = r.find(NFTA_RULE_HANDLE);
                         it != r.end() && it->second.size() == 8) {
                       uint64_t be;
                       std::memcpy(&be, it->second.data(), 8);
                       info.handle = be64toh(be);
                     }
                     info.comment = UdataComment(r, NFTA_RULE_USERDATA);
                     out.push_back(std::move(info));
                   });
  if (!s) return s.error();
  return out;
}

Result<std::vector<Elem>> Socket::ListElems(Family f, const std::string& table,
                                            const std::string& set) {
  std::string a;
  Str(a, NFTA_SET_ELEM_LIST_TABLE, table);
  Str(a, NFTA_SET_ELEM_LIST_SET, set);
  std::vector<Elem> out;
  auto s = Request(NFT_MSG_GETSETELEM, NLM_F_DUMP, f, a, "list elements of " + Obj(f, table, set),
                   [&](const void* p, size_t len) {
                     Attrs m = ParseAttrs(static_cast<const char*>(p), len);
                     auto it = m.find(NFTA_SET_ELEM_LIST_ELEMENTS);
                     if (it == m.end()) return;
                     for (std::string_view e : NestedElems(it->second)) {
                       out.push_back(ParseElem(e));
                     }
                   });
  if (!s) return s.error();
  return out;
}

std::string AddrKey(const IpAddr& a) {
  return std::string(reinterpret_cast<const char*>(a.bytes()), static_cast<size_t>(a.byte_len()));
}

std::string IfnameKey(const std::string& name) {
  std::string k = name.substr(0, kIfnameLen - 1);
  k.resize(kIfnameLen, '\0');
  return k;
}

uint32_t ConcatType(const std::vector<uint32_t>& types) {
  uint32_t t = 0;
  for (uint32_t part : types) t = (t << 6) | part;  // nft's TYPE_BITS
  return t;
}

std::string ConcatKey(const std::vector<std::string>& parts) {
  std::string k;
  for (const std::string& p : parts) {
    k += p;
    k.resize((k.size() + 3) / 4 * 4, '\0');
  }
  return k;
}

std::string PortKey(uint16_t port) {
  const uint16_t be = htons(port);
  return std::string(reinterpret_cast<const char*>(&be), sizeof be);
}

std::string ProtoKey(uint8_t proto) { return std::string(1, static_cast<char>(proto)); }

}  // namespace cni::nft
