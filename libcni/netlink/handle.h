// The netlink layer: one NETLINK_ROUTE socket bound to one namespace, typed
// operations on links, addresses, routes, neighbours and bridge FDB entries.
// This directory is the only place that includes libnl; nothing from libnl appears
// in this header. Errors name the operation and object, then the kernel's words;
// ENODEV/ENOENT/ESRCH give the kNotFound cause and EEXIST the kExists cause.
#ifndef LINEN_LIBCNI_NETLINK_HANDLE_H_
#define LINEN_LIBCNI_NETLINK_HANDLE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"
#include "netns/netns.h"

struct nl_sock;

namespace cni::nl {

// Routes, neighbours and FDB entries linen programs carry this protocol /
// are recognised by their device, so reconcilers never touch foreign entries.
inline constexpr uint8_t kLinenRouteProtocol = 0x4c;  // 'L', unused by iproute2's list
inline constexpr int kMainTable = 254;
// IFA_F_NODAD: an IPv6 address usable at once, without duplicate address detection
// (for addresses that are unique by construction).
inline constexpr uint32_t kAddrNoDad = 0x02;
// The metric the kernel gives an IPv6 route added without one (IP6_RT_PRIO_USER);
// it reports that value back, where an IPv4 route without one reads back as 0.
inline constexpr uint32_t kIpv6DefaultMetric = 1024;

struct VxlanInfo {
  uint32_t vni = 0;
  std::optional<IpAddr> local;
  int dev_index = 0;   // underlay device, 0 = none
  uint16_t port = 0;   // host order; 0 = kernel default (8472)
  bool learning = true;
  bool operator==(const VxlanInfo&) const = default;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;      // "veth", "bridge", "vxlan", "" for plain devices
  std::string mac;       // "aa:bb:cc:dd:ee:ff", lower case
  int mtu = 0;
  int master_index = 0;
  bool admin_up = false;  // IFF_UP
  bool oper_up = false;   // IF_OPER_UP (or UNKNOWN with carrier, e.g. lo)
  bool promisc = false;
  int peer_index = 0;     // veth: IFLA_LINK (peer's index, maybe in another netns)
  std::optional<VxlanInfo> vxlan;
  // The device's /proc/sys/net/ipv6/conf/<name>/{accept_ra,accept_dad}, as the
  // link message carries them (IFLA_AF_SPEC): reading them costs no path lookup.
  // nullopt when the device has no IPv6.
  std::optional<int> ipv6_accept_ra;
  std::optional<int> ipv6_accept_dad;
  std::string alias;  // IFLA_IFALIAS ("ip link set X alias ..."), "" when none
};

struct VethSpec {
  std::string name;           // in this handle's namespace
  std::string peer_name;
  const NetNs* peer_ns = nullptr;  // peer created directly there; nullptr = same ns
  int mtu = 0;                // 0 = kernel default; applied to both ends
  std::string mac;            // "" = kernel random
  std::string peer_mac;
  // TX/RX queues allocated per end; 0 = the kernel's (one per possible CPU, of
  // which veth uses 1 unless raised later with ethtool -L).
  int queues = 0;
  // The bridge (or other master) the first end joins in the same request; 0 = none.
  int master_index = 0;
};

struct BridgeSpec {
  std::string name;
  int mtu = 0;
  std::string mac;  // "" = kernel's; set explicitly so it does not follow ports
};

struct VxlanSpec {
  std::string name;
  VxlanInfo info;
  int mtu = 0;
  std::string mac;
};

struct AddrInfo {
  int ifindex = 0;
  IpNet addr;          // with host bits
  int scope = 0;       // RT_SCOPE_UNIVERSE
  uint32_t flags = 0;  // IFA_F_*
};

struct RouteInfo {
  IpNet dst;                 // 0.0.0.0/0 for default
  std::optional<IpAddr> gw;
  int oif = 0;               // 0 = let the kernel pick from gw
  bool onlink = false;
  int scope = 0;             // RT_SCOPE_UNIVERSE; RT_SCOPE_LINK = 253
  uint32_t priority = 0;     // metric
  int table = kMainTable;
  uint8_t protocol = 3;      // RTPROT_BOOT as `ip route add`; kLinenRouteProtocol for ours
  uint8_t type = 1;          // RTN_UNICAST
  int mtu = 0;               // RTAX_MTU, 0 = unset
  bool operator==(const RouteInfo&) const = default;
};

struct NeighInfo {
  int ifindex = 0;
  IpAddr dst;
  std::string lladdr;
  uint16_t state = 0x80;  // NUD_PERMANENT
  bool operator==(const NeighInfo&) const = default;
};

// A bridge FDB entry; for a VXLAN device `dst` is the remote VTEP and `self` is set.
struct FdbInfo {
  int ifindex = 0;
  std::string lladdr;
  std::optional<IpAddr> dst;
  uint16_t state = 0x80;  // NUD_PERMANENT
  bool self = true;       // NTF_SELF
  bool operator==(const FdbInfo&) const = default;
};

struct IfbSpec {
  std::string name;
  int mtu = 0;  // 0 = kernel default
  bool up = true;
};

// Traffic control. Handles are "major:minor" packed in 32 bits, as tc(8) writes them.
inline constexpr uint32_t kTcRoot = 0xffffffffu;       // TC_H_ROOT
inline constexpr uint32_t kTcIngress = 0xfffffff1u;    // TC_H_INGRESS (parent of the ingress qdisc)
inline constexpr uint32_t kTcIngressHandle = 0xffff0000u;  // "ffff:"
inline constexpr uint16_t kEthPAll = 0x0003;           // ETH_P_ALL, host order
// A TBF bucket travels as 64 ns ticks in 32 bits: at most ~274.9 s at the rate.
inline constexpr uint32_t kTbfMaxBufferTicks = 0xffffffffu;

// A token bucket filter as the kernel's tc_tbf_qopt carries it (no peak rate).
struct TbfParams {
  uint64_t rate = 0;    // bytes per second (64-bit through TCA_TBF_RATE64)
  uint32_t buffer = 0;  // bucket size as transmit time, in psched ticks (64 ns)
  uint32_t limit = 0;   // bytes queued before dropping
  bool operator==(const TbfParams&) const = default;
};

struct QdiscInfo {
  int ifindex = 0;
  uint32_t handle = 0;
  uint32_t parent = 0;
  std::string kind;              // "tbf", "ingress", "noqueue", ...
  std::optional<TbfParams> tbf;  // kind == "tbf"
};

struct FilterInfo {
  int ifindex = 0;
  uint32_t parent = 0;
  uint32_t handle = 0;
  uint16_t priority = 0;
  uint16_t protocol = 0;  // host order
  std::string kind;       // "u32", ...
  uint32_t classid = 0;   // u32's flowid, 0 = none
  // Target devices of its `mirred egress redirect` actions.
  std::vector<int> redirect_to;
};

class Handle {
 public:
  // A socket in the calling thread's namespace.
  static Result<Handle> Open();
  // A socket inside `ns`; it stays there after the thread switches back.
  static Result<Handle> OpenIn(const NetNs& ns);

  Handle(Handle&&) noexcept;
  Handle& operator=(Handle&&) noexcept;
  ~Handle();

  // Links.
  Result<LinkInfo> LinkByName(const std::string& name);
  Result<LinkInfo> LinkByIndex(int index);
  Result<std::vector<LinkInfo>> ListLinks();
  Status CreateVeth(const VethSpec& spec);      // exclusive: kExists if present
  Status CreateBridge(const BridgeSpec& spec);  // exclusive
  Status CreateVxlan(const VxlanSpec& spec);    // exclusive
  Status DeleteLink(const std::string& name);   // absent is success
  Status DeleteLinkByIndex(int index);          // absent is success
  Status SetUp(int index, bool up = true);
  Status SetMtu(int index, int mtu);
  Status SetMac(int index, const std::string& mac);
  Status SetMaster(int index, int master_index);  // 0 = no master
  Status SetPromisc(int index, bool on);
  Status SetNetns(int index, const NetNs& ns);
  Status SetName(int index, const std::string& name);
  // Bridge port flags of a device enslaved to a bridge (IFLA_BRPORT_*).
  Status SetHairpin(int index, bool on);
  Status SetPortIsolated(int index, bool on);
  // Waits on link events (no polling) until `index` is oper-up or the timeout ends.
  Status WaitOperUp(int index, std::chrono::milliseconds timeout);
  // net/ipv4/conf/<dev>/arp_notify, set through netlink (no /proc/sys lookup).
  Status SetArpNotify(int index, bool on);
  // IPv6 link-local address generation off (addr_gen_mode "none"): a link that
  // needs no IPv6 address of its own (a bridge port) then gets none, and so no
  // DAD, router solicitations or their timers when it comes up.
  Status SetNoIpv6LinkLocal(int index);

  // net/ipv4/ip_forward or net/ipv6/conf/all/forwarding, read through netlink
  // (RTM_GETNETCONF); kNotFound if the family is not there.
  Result<bool> ForwardingEnabled(Family family);

  // Addresses. Add is exclusive (kExists if the same address is there). `flags`:
  // IFA_F_* for the new address, e.g. kAddrNoDad.
  Status AddAddr(int index, const IpNet& addr, uint32_t flags = 0);
  Status DeleteAddr(int index, const IpNet& addr);  // absent is success
  // Addresses of link `index` (0 = all links) in `family` (nullopt = both),
  // filtered by the kernel: a node with many pods has many link-local addresses.
  Result<std::vector<AddrInfo>> ListAddrs(int index = 0,
                                          std::optional<Family> family = std::nullopt);

  // Routes. Add is exclusive; Replace uses NLM_F_REPLACE; Delete of an absent route
  // is success. List returns routes of `table` (0 = all) in `family`.
  Status AddRoute(const RouteInfo& r);
  Status ReplaceRoute(const RouteInfo& r);
  Status DeleteRoute(const RouteInfo& r);
  Result<std::vector<RouteInfo>> ListRoutes(Family family, int table = kMainTable);
  // The routing entry the kernel matches for `dst` (`ip route get fibmatch`), one
  // lookup. For one of the node's own addresses that is its local-table entry
  // (type RTN_LOCAL), whose oif is the device holding the address. kNotFound when
  // no route matches.
  Result<RouteInfo> FibMatch(const IpAddr& dst);

  // Neighbours (ARP / NDP).
  Status ReplaceNeigh(const NeighInfo& n);
  Status DeleteNeigh(const NeighInfo& n);  // absent is success
  Result<std::vector<NeighInfo>> ListNeighs(int index, Family family);

  // Bridge FDB (AF_BRIDGE neighbours).
  Status ReplaceFdb(const FdbInfo& f);
  Status DeleteFdb(const FdbInfo& f);  // absent is success
  Result<std::vector<FdbInfo>> ListFdb(int index);

  // Intermediate functional block devices (kind "ifb"); exclusive create.
  Status CreateIfb(const IfbSpec& spec);
  Status SetAlias(int index, const std::string& alias);  // "" clears it

  // Traffic control (tc.cc), the messages `tc qdisc/filter` sends. Adds are
  // exclusive: an existing qdisc at that place (other than the kernel's default
  // one) is kExists and stays as it was.
  // `tc qdisc add dev <index> root handle <handle> tbf ...`.
  Status AddRootTbf(int index, uint32_t handle, const TbfParams& tbf);
  // `tc qdisc add dev <index> handle ffff: ingress`.
  Status AddIngressQdisc(int index);
  // `tc filter add dev <index> parent <parent> protocol all prio <prio> u32 match u32 0 0
  //  flowid <classid> action mirred egress redirect dev <target>`.
  Status AddRedirectFilter(int index, uint32_t parent, uint16_t priority, uint32_t classid,
                           int target_index);
  // `tc qdisc del dev <index> parent <parent> handle <handle>` (handle != 0);
  // absent (no such device, or the qdisc there has another handle, e.g. the
  // default one) is success, so another handle's qdisc is never removed.
  // Filters under it go too.
  Status DeleteQdisc(int index, uint32_t parent, uint32_t handle);
  // Qdiscs of link `index` (0 = all links), as `tc qdisc show` lists them; the
  // kernel's default ones (noqueue on a veth, ...) have handle 0.
  Result<std::vector<QdiscInfo>> ListQdiscs(int index = 0);
  // Filters of link `index` attached under qdisc `parent` (e.g. kTcIngressHandle).
  Result<std::vector<FilterInfo>> ListFilters(int index, uint32_t parent);

 private:
  explicit Handle(nl_sock* sock);
  nl_sock* sock_ = nullptr;
};

}  // namespace cni::nl

#endif  // LINEN_LIBCNI_NETLINK_HANDLE_H_
