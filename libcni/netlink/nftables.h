// nftables over netlink: the one module through which linen programs nf_tables
// (pod and node masquerade, the MAC spoof check) and reads back what CHECK and GC
// need. Messages are built by hand on a NETLINK_NETFILTER socket, as `nft` sends
// them, so `nft list ruleset` shows our objects as if nft had made them. No
// libnftables (it would cost every exec ~1 MB of mapped libraries and cannot be
// loaded from a static binary without a second libc), no child process.
//
// A Batch is one nf_tables transaction: every command in it takes effect, or none
// does. Errors name the command and carry the kernel's errno (ENOENT -> kNotFound
// cause, EEXIST -> kExists) and its extended-ack text when it sent one.
#ifndef LINEN_LIBCNI_NETLINK_NFTABLES_H_
#define LINEN_LIBCNI_NETLINK_NFTABLES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace cni::nft {

// NFPROTO_* values.
enum class Family : uint8_t { kInet = 1, kIp = 2, kBridge = 7, kIp6 = 10 };

// nft's datatype numbers, so that nft lists our set keys in their own words.
inline constexpr uint32_t kTypeIpv4Addr = 7;
inline constexpr uint32_t kTypeIpv6Addr = 8;
inline constexpr uint32_t kTypeIfname = 41;
inline constexpr uint32_t kTypeEtherAddr = 9;
inline constexpr uint32_t kTypeInetProto = 12;    // meta l4proto: 1 byte
inline constexpr uint32_t kTypeInetService = 13;  // a port: 2 bytes, network order
inline constexpr size_t kIfnameLen = 16;  // IFNAMSIZ: meta iifname loads this many bytes

struct Hook {
  uint32_t hooknum = 0;  // NF_INET_POST_ROUTING, NF_BR_PRE_ROUTING, ...
  int32_t priority = 0;
  std::string type;      // "nat", "filter"
};

// A hash set or, with `verdict_map`, a map from key to verdict (`vmap`).
// nft's type number of a concatenation `a . b . c` (each part 6 bits), and the
// byte length nft gives it: every part padded to a 4-byte register slot.
uint32_t ConcatType(const std::vector<uint32_t>& types);

// A hash set or, with `verdict_map`, a map from key to verdict (`vmap`), or, with
// `data_len`, a map from key to a value (`: ipv4_addr . inet_service`).
struct SetSpec {
  std::string name;
  uint32_t key_type = 0;  // kType* or ConcatType(...)
  uint32_t key_len = 0;   // bytes (concatenations: parts padded to 4)
  bool verdict_map = false;
  uint32_t data_type = 0;  // value maps only
  uint32_t data_len = 0;   // value maps only; 0 = not a value map
};

struct Elem {
  std::string key;         // raw key bytes (an address, an ifname padded to 16, ConcatKey)
  std::string jump_chain;  // verdict maps: `jump <chain>`
  std::string comment;     // "" = none
  std::string data;        // value maps: raw value bytes (ConcatKey of the parts)
};

// What a rule can load into registers for a set lookup or a map: the parts of a
// concatenated key, in order.
// kIifname: meta iifname (16 bytes); in postrouting it is the interface a
// forwarded packet came in by.
// kEtherSaddr: the Ethernet source (bridge family).
enum class Field { kSaddr4, kDaddr4, kSaddr6, kDaddr6, kL4Proto, kThDport, kIifname, kEtherSaddr };

// The expressions of one rule, in order. Registers: everything loads into and
// compares from register 1 (NFT_REG_1), as nft does for simple matches.
class Rule {
 public:
  // meta nfproto == family (ipv4/ipv6) — what nft adds before `ip`/`ip6` matches
  // in an inet table.
  Rule& NfProto(bool v4);
  // ip/ip6 saddr or daddr == addr, or != net (the prefix may be any length).
  Rule& AddrEq(bool saddr, const IpAddr& addr);
  Rule& AddrIn(bool saddr, const IpNet& net);
  Rule& AddrNotIn(bool saddr, const IpNet& net);
  // ip saddr / ip6 saddr / iifname looked up in `set`: with a verdict map the
  // verdict it maps to; with a plain set, a match (or with `negate`, a non-match).
  Rule& SaddrVmap(bool v4, const std::string& set);
  Rule& IifnameVmap(const std::string& set);
  // ether saddr != mac ("aa:bb:cc:dd:ee:ff"); malformed text fails the batch.
  Rule& EtherSaddrNot(const std::string& mac);
  // `a . b . c @set`: the fields, loaded as nft loads a concatenation (each part
  // in the next free 4-byte register slot), looked up in a plain set.
  // A named map works too: only the key's presence counts.
  Rule& InSet(const std::vector<Field>& key, const std::string& set);
  // `a . b != @set`: matches when the key is not in the set.
  Rule& NotInSet(const std::vector<Field>& key, const std::string& set);
  // `dnat ip[6] to a . b . c map @map`: the map's value is address . port.
  Rule& DnatMap(bool v4, const std::vector<Field>& key, const std::string& map);
  // fib daddr type local
  Rule& FibDaddrLocal();
  // ct status dnat: the connection's destination was rewritten (by any DNAT).
  Rule& CtStatusDnat();
  Rule& Counter();
  Rule& Masquerade();
  Rule& Drop();
  Rule& Jump(const std::string& chain);

  const std::string& exprs() const { return exprs_; }

 private:
  friend class Batch;
  void Payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg = 1);
  void Cmp(uint32_t op, const void* data, size_t len);
  void Lookup(const std::string& set, bool vmap, bool invert = false);
  // Loads `key` from register 1 on; returns the slots used.
  uint32_t LoadConcat(const std::vector<Field>& key);
  void AddrMatch(bool saddr, const IpNet& net, uint32_t op);
  std::string exprs_;  // NFTA_LIST_ELEM attributes, ready to nest
  std::string error_;  // set by a builder step that got bad input
};

class Socket;

class Batch {
 public:
  Batch();

  // NLM_F_CREATE: exists is fine; `exclusive` turns an existing object into
  // EEXIST for the whole batch (the "add only if absent" idiom).
  void AddTable(Family f, const std::string& table, bool exclusive = false);
  void DeleteTable(Family f, const std::string& table);
  // A base chain when `hook` is given (policy accept), else a regular chain.
  void AddChain(Family f, const std::string& table, const std::string& chain,
                const std::optional<Hook>& hook, const std::string& comment,
                bool exclusive = false);
  void FlushChain(Family f, const std::string& table, const std::string& chain);
  void DeleteChain(Family f, const std::string& table, const std::string& chain);
  // One rule, by the handle a listing gave (RuleInfo::handle).
  void DeleteRule(Family f, const std::string& table, const std::string& chain, uint64_t handle);
  void AddSet(Family f, const std::string& table, const SetSpec& set, bool exclusive = false);
  // The set with its elements; fails while a rule uses it.
  void DeleteSet(Family f, const std::string& table, const std::string& set);
  void AddRule(Family f, const std::string& table, const std::string& chain, const Rule& rule,
               const std::string& comment);
  // Adding an element that exists with the same verdict is fine; with another
  // verdict, or with `exclusive`, EEXIST.
  void AddElems(Family f, const std::string& table, const std::string& set,
                const std::vector<Elem>& elems, bool exclusive = false);
  // Deleting an absent element fails the batch (ENOENT).
  void DeleteElems(Family f, const std::string& table, const std::string& set,
                   const std::vector<std::string>& keys);
  // The same, by each element's key; other fields are ignored.
  void DeleteElems(Family f, const std::string& table, const std::string& set,
                   const std::vector<Elem>& elems);

  bool empty() const { return commands_ == 0; }

 private:
  friend class Socket;
  void Begin(uint16_t msg, uint16_t flags, Family f);
  void End();
  std::string buf_;
  std::vector<std::string> what_;  // per command, for errors
  std::string error_;              // a rule that could not be built
  size_t msg_start_ = 0;
  int commands_ = 0;
};

struct ChainInfo {
  std::string name;
  std::string comment;
  bool base = false;
};

struct RuleInfo {
  uint64_t handle = 0;
  std::string comment;
  std::string chain;
};

// One NETLINK_NETFILTER socket in the calling thread's namespace. Closing a socket
// right after a commit waits for nf_tables' transaction clean-up (an RCU grace
// period): keep it open until the rest of the work is done.
class Socket {
 public:
  static Result<Socket> Open();
  Socket(Socket&& o) noexcept;
  Socket& operator=(Socket&& o) noexcept;
  ~Socket();

  // Sends the batch as one transaction; `what` heads the error.
  Status Commit(const Batch& b, std::string_view what);

  // One object by name; kNotFound cause when absent.
  Status GetTable(Family f, const std::string& table);
  Result<ChainInfo> GetChain(Family f, const std::string& table, const std::string& chain);
  // The element with `key`; kNotFound cause when the set or the element is absent.
  Result<Elem> GetElem(Family f, const std::string& table, const std::string& set,
                       const std::string& key);
  // Listings (for CHECK and GC). A missing table gives the kNotFound cause.
  Result<std::vector<ChainInfo>> ListChains(Family f, const std::string& table);
  // `chain` "": the rules of every chain of the table, in one dump.
  Result<std::vector<RuleInfo>> ListRules(Family f, const std::string& table,
                                          const std::string& chain);
  Result<std::vector<Elem>> ListElems(Family f, const std::string& table,
                                      const std::string& set);

 private:
  explicit Socket(int fd) : fd_(fd) {}
  // Sends one request and hands every reply message's payload to `on_reply`.
  Status Request(uint16_t msg, uint16_t flags, Family f, const std::string& attrs,
                 std::string_view what, const std::function<void(const void*, size_t)>& on_reply);
  int fd_ = -1;
  uint32_t seq_ = 0;
};

// Key bytes for an address or a padded interface name.
std::string AddrKey(const IpAddr& a);
std::string IfnameKey(const std::string& name);
// A concatenated key or value: each part padded with zeros to a multiple of 4.
std::string ConcatKey(const std::vector<std::string>& parts);
// A port (network order, 2 bytes) and an L4 protocol number (1 byte), as parts.
std::string PortKey(uint16_t port);
std::string ProtoKey(uint8_t proto);

}  // namespace cni::nft

#endif  // LINEN_LIBCNI_NETLINK_NFTABLES_H_
