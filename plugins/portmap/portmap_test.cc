// portmap on a real kernel: a node namespace with a bridge (linen's, or the
// reference's) and pods behind it, a client namespace on an underlay veth. Servers
// and clients are sockets this process opens inside the namespaces, so every check
// is a real packet through the node's nftables and conntrack, and waits are bounded
// polls on socket readiness.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "libcni/sys/fd.h"
#include "libcni/types.h"
#include "netns/netns.h"
#include "test/support/test_support.h"

namespace portmap {
namespace {

using cni::UniqueFd;
using linen::test::ProcResult;
using linen::test::TempDir;
using linen::test::TempNetns;
using namespace std::chrono_literals;

constexpr const char* kRefBridge = "/usr/lib/cni/bridge";
constexpr const char* kNodeIp = "10.99.0.1";
constexpr const char* kNodeIp2 = "10.99.0.11";  // a second node address, for hostIP
constexpr const char* kNodeIp6 = "fd99::1";
constexpr uint16_t kPodTcp = 80;
constexpr uint16_t kPodUdp = 5353;

sockaddr_storage SockAddr(const std::string& ip, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    *len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    *len = sizeof(sockaddr_in6);
  }
  return ss;
}

// A socket opened inside `ns` (it stays there).
UniqueFd SocketIn(const TempNetns& ns, int family, int type) {
  auto sw = cni::ScopedNetnsSwitch::Enter(ns.ns());
  if (!sw) return UniqueFd();
  return UniqueFd(socket(family, type | SOCK_CLOEXEC, 0));
}

bool Readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// A pod's servers: TCP port 80 answers with the pod's name and closes; UDP port
// 5353 answers every datagram with the name. Dual-stack sockets.
class PodServer {
 public:
  PodServer(const TempNetns& pod, std::string name) : name_(std::move(name)) {
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      UniqueFd fd = SocketIn(pod, AF_INET6, type);
      EXPECT_TRUE(fd);
      int zero = 0, one = 1;
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      socklen_t len;
      sockaddr_storage a = SockAddr("::", type == SOCK_STREAM ? kPodTcp : kPodUdp, &len);
      EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len), 0) << strerror(errno);
      if (type == SOCK_STREAM) {
        EXPECT_EQ(listen(fd.get(), 16), 0);
      }
      (type == SOCK_STREAM ? tcp_ : udp_) = std::move(fd);
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~PodServer() {
    stop_ = true;
    thread_.join();
  }
  // The source address of the last TCP client, as the pod saw it.
  std::string last_peer() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_peer_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p[2] = {{tcp_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      if (p[0].revents & POLLIN) {
        sockaddr_storage peer{};
        socklen_t plen = sizeof peer;
        UniqueFd c(accept4(tcp_.get(), reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC));
        if (c) {
          {
            std::lock_guard<std::mutex> l(mu_);
            last_peer_ = PeerAddr(peer);
          }
          (void)!write(c.get(), name_.data(), name_.size());
        }
      }
      if (p[1].revents & POLLIN) {
        char buf[512];
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        if (recvfrom(udp_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) >= 0) {
          sendto(udp_.get(), name_.data(), name_.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
    }
  }
  // The peer of a dual-stack socket; IPv4 clients as dotted quads.
  static std::string PeerAddr(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = "";
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
      inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof buf);
    }
    return buf;
  }
  std::string name_;
  mutable std::mutex mu_;
  std::string last_peer_;
  UniqueFd tcp_, udp_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// What a TCP connection from `from` to ip:port reads before EOF ("" = no
// connection within the bound, or refused).
std::string TcpGet(const TempNetns& from, const std::string& ip, uint16_t port) {
  socklen_t len;
  sockaddr_storage a = SockAddr(ip, port, &len);
  UniqueFd fd = SocketIn(from, a.ss_family, SOCK_STREAM | SOCK_NONBLOCK);
  if (!fd) return "";
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 && errno != EINPROGRESS) {
    return "";
  }
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;  // EOF, or refused/unreachable
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// A UDP client with a fixed source port: conntrack sees one flow for all its
// datagrams, as with a client that keeps sending.
class UdpClient {
 public:
  UdpClient(const TempNetns& ns, const std::string& ip, uint16_t port) {
    to_ = SockAddr(ip, port, &len_);
    fd_ = SocketIn(ns, to_.ss_family, SOCK_DGRAM);
    EXPECT_TRUE(fd_);
  }
  // Sends one datagram and returns the answer, "" if none came within `wait`.
  std::string Ask(std::chrono::milliseconds wait = 300ms) {
    char drain[512];
    while (recv(fd_.get(), drain, sizeof drain, MSG_DONTWAIT) >= 0 || errno == ECONNREFUSED) {
    }
    if (sendto(fd_.get(), "?", 1, 0, reinterpret_cast<sockaddr*>(&to_), len_) < 0) return "";
    if (!Readable(fd_.get(), wait)) return "";
    char buf[512];
    ssize_t n = recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Keeps asking until `want` answers, at most `tries` datagrams.
  bool AnsweredBy(const std::string& want, int tries = 15) {
    for (int i = 0; i < tries; ++i) {
      if (Ask() == want) return true;
    }
    return false;
  }

 private:
  sockaddr_storage to_{};
  socklen_t len_ = 0;
  UniqueFd fd_;
};

class PortmapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (creates network namespaces)";
    for (auto* slot : {&node_, &client_}) {
      auto n = TempNetns::Create(slot == &node_ ? "pmn" : "pmc");
      ASSERT_TRUE(n) << n.error().msg();
      slot->emplace(std::move(*n));
    }
    const std::string veth = linen::test::UniqueName("pmu");
    ASSERT_EQ(Sh("ip link add " + veth + " netns " + node_->name() + " type veth peer name eth0 netns " +
                 client_->name()).exit_code, 0);
    ASSERT_EQ(Node("ip link set " + veth + " up && ip addr add 10.99.0.1/24 dev " + veth +
                   " && ip addr add 10.99.0.11/24 dev " + veth +
                   " && ip addr add fd99::1/64 dev " + veth + " nodad" +
                   " && sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1")
                  .exit_code, 0);
    // The client reaches the node only; 10.123.0.0/24 leads through the node to
    // nowhere (an address that is not the node's, for the interception check).
    ASSERT_EQ(In(*client_, "ip link set eth0 up && ip addr add 10.99.0.2/24 dev eth0 && "
                           "ip addr add fd99::2/64 dev eth0 nodad && "
                           "ip route add 10.123.0.0/24 via 10.99.0.1").exit_code, 0);
    bin_ = dir_.path() + "/bin";
    std::filesystem::create_directories(bin_);
    std::filesystem::create_symlink(linen::test::CniBin("host-local"), bin_ + "/host-local");
  }

  static ProcResult Sh(const std::string& cmd) { return linen::test::Sh(cmd); }
  ProcResult Node(const std::string& cmd) const { return In(*node_, cmd); }
  static ProcResult In(const TempNetns& ns, const std::string& cmd) {
    return Sh("ip netns exec " + ns.name() + " sh -c '" + cmd + "'");
  }

  ProcResult Exec(const std::string& plugin, const std::string& command, const std::string& netns,
                  const std::string& cid, const std::string& conf) const {
    std::map<std::string, std::string> env = {
        {"CNI_COMMAND", command}, {"CNI_CONTAINERID", cid}, {"CNI_NETNS", netns},
        {"CNI_IFNAME", "eth0"},   {"CNI_PATH", bin_},       {"CNI_ARGS", ""}};
    auto sw = cni::ScopedNetnsSwitch::Enter(node_->ns());
    if (!sw) return ProcResult{127, "", sw.error().msg()};
    return linen::test::Run({plugin}, env, conf);
  }

  // hairpinMode: with br_netfilter loaded (bridge-nf-call-iptables), a DNAT back
  // out of the bridge the packet came from is bridged, not routed, and so leaves
  // through the port it came in by; the reference needs the same.
  std::string BridgeConf() const {
    return R"({"cniVersion":"1.0.0","name":"pmnet","type":"bridge","bridge":"pmbr0",
      "isDefaultGateway":true,"hairpinMode":true,"ipam":{"type":"host-local","dataDir":")" + dir_.path() +
           R"(/ipam","ranges":[[{"subnet":"10.77.0.0/24"}],[{"subnet":"fd77::/64"}]]}})";
  }
  std::string PortmapConf(const std::string& mappings, const std::string& prev,
                          const std::string& extra = "") const {
    return R"({"cniVersion":"1.0.0","name":"pmnet","type":"portmap")" + extra +
           R"(,"runtimeConfig":{"portMappings":)" + mappings + "}" +
           (prev.empty() ? "" : R"(,"prevResult":)" + prev) + "}";
  }
  static std::string Mappings() {
    return R"([{"hostPort":8080,"containerPort":80,"protocol":"tcp"},
               {"hostPort":5353,"containerPort":5353,"protocol":"udp"},
               {"hostPort":9090,"containerPort":80,"protocol":"tcp","hostIP":"10.99.0.11"}])";
  }

  struct Pod {
    std::optional<TempNetns> ns;
    std::string cid, result, ip;
  };
  // bridge (`bridge` = its executable) then portmap ADD, as a runtime chains them.
  Pod AddPod(const std::string& cid, const std::string& mappings,
             const std::string& bridge = "") {
    Pod p;
    auto ns = TempNetns::Create("pmp");
    EXPECT_TRUE(ns) << ns.error().msg();
    p.ns.emplace(std::move(*ns));
    p.cid = cid;
    ProcResult br = Exec(bridge.empty() ? linen::test::CniBin("bridge") : bridge, "ADD",
                         p.ns->path(), cid, BridgeConf());
    EXPECT_EQ(br.exit_code, 0) << br.out << br.err;
    p.result = br.out;
    ProcResult pm = Exec(linen::test::CniBin("portmap"), "ADD", p.ns->path(), cid,
                         PortmapConf(mappings, br.out));
    EXPECT_EQ(pm.exit_code, 0) << pm.out << pm.err;
    // portmap passes the result through (an empty "dns" object is no information).
    cni::json want = cni::json::parse(br.out);
    if (want.contains("dns") && want["dns"].empty()) want.erase("dns");
    EXPECT_EQ(cni::json::parse(pm.out), want);
    std::string a = cni::json::parse(br.out)["ips"][0]["address"];
    p.ip = a.substr(0, a.find('/'));
    return p;
  }
  ProcResult DelPortmap(const Pod& p, const std::string& mappings, bool with_prev = true) {
    return Exec(linen::test::CniBin("portmap"), "DEL", with_prev ? p.ns->path() : "", p.cid,
                PortmapConf(mappings, with_prev ? p.result : ""));
  }
  std::string Ruleset() const { return Node("nft list ruleset").out; }

  TempDir dir_;
  std::string bin_;
  std::optional<TempNetns> node_, client_;
};

TEST_F(PortmapTest, HostPortsReachThePodOnlyWhenAddressedToTheNode) {
  Pod a = AddPod("pm-a", Mappings());
  PodServer server(*a.ns, "pod-a");
  // TCP and UDP from the underlay, IPv4 and IPv6.
  EXPECT_EQ(TcpGet(*client_, kNodeIp, 8080), "pod-a");
  EXPECT_EQ(TcpGet(*client_, kNodeIp6, 8080), "pod-a");
  UdpClient udp4(*client_, kNodeIp, 5353), udp6(*client_, kNodeIp6, 5353);
  EXPECT_TRUE(udp4.AnsweredBy("pod-a"));
  EXPECT_TRUE(udp6.AnsweredBy("pod-a"));
  // hostIP: 9090 only on the second address.
  EXPECT_EQ(TcpGet(*client_, kNodeIp2, 9090), "pod-a");
  EXPECT_EQ(TcpGet(*client_, kNodeIp, 9090), "");
  // Not addressed to the node: forwarded as it was, not turned to the pod.
  EXPECT_EQ(TcpGet(*client_, "10.123.0.5", 8080), "");
  // A client on the node itself, and the pod through the node's address (hairpin).
  EXPECT_EQ(TcpGet(*node_, kNodeIp, 8080), "pod-a");
  EXPECT_EQ(TcpGet(*node_, kNodeIp6, 8080), "pod-a");
  EXPECT_EQ(TcpGet(*a.ns, kNodeIp, 8080), "pod-a");
  EXPECT_EQ(TcpGet(*a.ns, kNodeIp6, 8080), "pod-a");

  // CHECK agrees; then DEL leaves nothing of the pod and closes the ports.
  ProcResult check = Exec(linen::test::CniBin("portmap"), "CHECK", a.ns->path(), a.cid,
                          PortmapConf(Mappings(), a.result));
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(Ruleset().find("pm-a/eth0"), std::string::npos);
  ProcResult del = DelPortmap(a, Mappings());
  ASSERT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(Ruleset().find("pm-a/eth0"), std::string::npos) << Ruleset();
  EXPECT_EQ(Ruleset().find(a.ip), std::string::npos) << Ruleset();
  EXPECT_EQ(TcpGet(*client_, kNodeIp, 8080), "");
  // The same flow that reached the pod before DEL does not any more: its conntrack
  // entry went with the mapping.
  EXPECT_EQ(udp4.Ask(), "");
  // CHECK now fails; a second DEL is fine.
  EXPECT_NE(Exec(linen::test::CniBin("portmap"), "CHECK", a.ns->path(), a.cid,
                 PortmapConf(Mappings(), a.result)).exit_code, 0);
  EXPECT_EQ(DelPortmap(a, Mappings()).exit_code, 0);
}

TEST_F(PortmapTest, SecondOwnerOfAHostPortIsRefusedAndNothingChanges) {
  Pod a = AddPod("pm-a", Mappings());
  auto ns = TempNetns::Create("pmp");
  ASSERT_TRUE(ns);
  ProcResult br = Exec(linen::test::CniBin("bridge"), "ADD", ns->path(), "pm-b", BridgeConf());
  ASSERT_EQ(br.exit_code, 0) << br.out;
  const std::string before = Ruleset();
  ProcResult pm = Exec(linen::test::CniBin("portmap"), "ADD", ns->path(), "pm-b",
                       PortmapConf(R"([{"hostPort":7070,"containerPort":80},
                                       {"hostPort":8080,"containerPort":80,"protocol":"tcp"}])",
                                   br.out));
  EXPECT_NE(pm.exit_code, 0);
  auto err = cni::json::parse(pm.out);
  EXPECT_EQ(err["code"], 7) << pm.out;
  EXPECT_NE(err["msg"].get<std::string>().find("8080/tcp"), std::string::npos) << pm.out;
  EXPECT_NE(err["msg"].get<std::string>().find("pm-a/eth0"), std::string::npos) << pm.out;
  EXPECT_EQ(Ruleset(), before);
  // Another protocol or another hostIP on the same port is a different mapping.
  pm = Exec(linen::test::CniBin("portmap"), "ADD", ns->path(), "pm-b",
            PortmapConf(R"([{"hostPort":8080,"containerPort":80,"protocol":"udp"},
                            {"hostPort":9090,"containerPort":80,"hostIP":"10.99.0.1"}])",
                        br.out));
  EXPECT_EQ(pm.exit_code, 0) << pm.out;
  // Bad input changes nothing either.
  const std::string after = Ruleset();
  pm = Exec(linen::test::CniBin("portmap"), "ADD", ns->path(), "pm-c",
            PortmapConf(R"([{"hostPort":70000,"containerPort":80}])", br.out));
  EXPECT_EQ(cni::json::parse(pm.out)["code"], 7) << pm.out;
  EXPECT_EQ(Ruleset(), after);
}

TEST_F(PortmapTest, DelWithoutNetnsOrPrevResultAndGc) {
  Pod a = AddPod("pm-a", Mappings());
  Pod b = AddPod("pm-b", R"([{"hostPort":8081,"containerPort":80}])");
  Pod c = AddPod("pm-c", R"([{"hostPort":8082,"containerPort":80}])");
  // The runtime lost the namespace and the cached result.
  ProcResult del = DelPortmap(a, "[]", /*with_prev=*/false);
  ASSERT_EQ(del.exit_code, 0) << del.out;
  std::string rs = Ruleset();
  EXPECT_EQ(rs.find("pm-a/eth0"), std::string::npos) << rs;
  EXPECT_NE(rs.find("pm-b/eth0"), std::string::npos) << rs;
  // GC keeps only the attachments it is told about.
  ProcResult gc = Exec(linen::test::CniBin("portmap"), "GC", "", "",
                       R"({"cniVersion":"1.1.0","name":"pmnet","type":"portmap",
                           "cni.dev/valid-attachments":[{"containerID":"pm-c","ifname":"eth0"}]})");
  ASSERT_EQ(gc.exit_code, 0) << gc.out;
  rs = Ruleset();
  EXPECT_EQ(rs.find("pm-b/eth0"), std::string::npos) << rs;
  EXPECT_NE(rs.find("pm-c/eth0"), std::string::npos) << rs;
  ProcResult status = Exec(linen::test::CniBin("portmap"), "STATUS", "", "",
                           R"({"cniVersion":"1.1.0","name":"pmnet","type":"portmap"})");
  EXPECT_EQ(status.exit_code, 0) << status.out;
}

// A repeated ADD of the same attachment with other mappings: only the new ones are
// left (elements, not just traffic: the old keys are gone from the maps), and a
// repeated ADD with no mappings leaves none.
TEST_F(PortmapTest, RepeatedAddKeepsOnlyTheNewMappings) {
  Pod a = AddPod("pm-a", Mappings());
  const std::string now = R"([{"hostPort":8085,"containerPort":80,"protocol":"tcp"}])";
  ProcResult pm = Exec(linen::test::CniBin("portmap"), "ADD", a.ns->path(), a.cid,
                       PortmapConf(now, a.result));
  ASSERT_EQ(pm.exit_code, 0) << pm.out;
  const auto elems = [&](const char* map) {
    return Node(std::string("nft list map inet linen_portmap ") + map +
                " | grep -o \"[a-z]* \\. [0-9]* comment \\\"[^\\\"]*\\\"\"").out;
  };
  EXPECT_EQ(elems("any4"), "tcp . 8085 comment \"pm-a/eth0\"\n");
  EXPECT_EQ(elems("any6"), "tcp . 8085 comment \"pm-a/eth0\"\n");
  EXPECT_EQ(Node("nft list map inet linen_portmap hostip4 | grep -c comment").out, "0\n");
  {
    PodServer server(*a.ns, "pod-a");
    EXPECT_EQ(TcpGet(*client_, kNodeIp, 8085), "pod-a");
    EXPECT_EQ(TcpGet(*client_, kNodeIp, 8080), "");
  }
  ProcResult check = Exec(linen::test::CniBin("portmap"), "CHECK", a.ns->path(), a.cid,
                          PortmapConf(now, a.result));
  EXPECT_EQ(check.exit_code, 0) << check.out;
  pm = Exec(linen::test::CniBin("portmap"), "ADD", a.ns->path(), a.cid, PortmapConf("[]", a.result));
  ASSERT_EQ(pm.exit_code, 0) << pm.out;
  EXPECT_EQ(Ruleset().find("pm-a/eth0"), std::string::npos) << Ruleset();
}

// Pod B reaches pod A's host port through the node's address, with and without
// br_netfilter (bridge-nf-call-iptables is per namespace). Without it, A's answer
// would go straight back to B on the bridge with A's own address unless the
// request is masqueraded; an underlay client's address is kept either way.
TEST_F(PortmapTest, AnotherPodsHostPortThroughTheNodeAddress) {
  Pod a = AddPod("pm-a", Mappings());
  Pod b = AddPod("pm-b", "[]");
  PodServer server(*a.ns, "pod-a");
  for (const char* brnf : {"1", "0"}) {
    SCOPED_TRACE(std::string("bridge-nf-call-iptables=") + brnf);
    ASSERT_EQ(Node(std::string("sysctl -qw net.bridge.bridge-nf-call-iptables=") + brnf +
                   " net.bridge.bridge-nf-call-ip6tables=" + brnf).exit_code, 0);
    EXPECT_EQ(TcpGet(*b.ns, kNodeIp, 8080), "pod-a");
    EXPECT_EQ(TcpGet(*b.ns, kNodeIp6, 8080), "pod-a");
    EXPECT_EQ(TcpGet(*a.ns, kNodeIp, 8080), "pod-a");
    EXPECT_EQ(TcpGet(*client_, kNodeIp, 8080), "pod-a");
    EXPECT_EQ(server.last_peer(), "10.99.0.2");
  }
}

// protocol "sctp": the element is programmed (read back), and when the kernel has
// SCTP a real association from the underlay reaches the pod through it.
TEST_F(PortmapTest, SctpHostPort) {
  Pod a = AddPod("pm-a", R"([{"hostPort":9132,"containerPort":132,"protocol":"SCTP"}])");
  EXPECT_NE(Node("nft list map inet linen_portmap any4").out.find(
                "sctp . 9132 comment \"pm-a/eth0\" : " + a.ip + " . 132"),
            std::string::npos)
      << Ruleset();
  // The kernel's own answer decides whether there can be traffic (no sctp module:
  // EPROTONOSUPPORT).
  UniqueFd srv;
  {
    auto sw = cni::ScopedNetnsSwitch::Enter(a.ns->ns());
    ASSERT_TRUE(sw);
    srv = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP));
    if (!srv) GTEST_SKIP() << "SCTP traffic: socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): " << strerror(errno);
  }
  socklen_t len;
  sockaddr_storage any = SockAddr("0.0.0.0", 132, &len);
  ASSERT_EQ(bind(srv.get(), reinterpret_cast<sockaddr*>(&any), len), 0) << strerror(errno);
  ASSERT_EQ(listen(srv.get(), 4), 0) << strerror(errno);
  UniqueFd cli;
  {
    auto sw = cni::ScopedNetnsSwitch::Enter(client_->ns());
    ASSERT_TRUE(sw);
    cli = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP));
    ASSERT_TRUE(cli) << strerror(errno);
  }
  sockaddr_storage node = SockAddr(kNodeIp, 9132, &len);
  ASSERT_TRUE(connect(cli.get(), reinterpret_cast<sockaddr*>(&node), len) == 0 || errno == EINPROGRESS)
      << strerror(errno);
  ASSERT_TRUE(Readable(srv.get(), 3000ms)) << "no SCTP association reached the pod";
  UniqueFd conn(accept4(srv.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn) << strerror(errno);
  ASSERT_EQ(write(conn.get(), "pod-a", 5), 5);
  ASSERT_TRUE(Readable(cli.get(), 3000ms));
  char buf[16] = {};
  EXPECT_EQ(read(cli.get(), buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "pod-a");
}

// A client keeps sending over one UDP flow while the pod is deleted and a new pod
// (another address) takes the host port: the new pod gets the datagrams.
TEST_F(PortmapTest, UdpFlowFollowsTheMappingAcrossDeleteAndReAdd) {
  const std::string udp = R"([{"hostPort":5353,"containerPort":5353,"protocol":"udp"}])";
  Pod a = AddPod("pm-a", udp);
  std::optional<PodServer> sa;
  sa.emplace(*a.ns, "pod-a");
  UdpClient client(*client_, kNodeIp, 5353);
  ASSERT_TRUE(client.AnsweredBy("pod-a"));
  ASSERT_EQ(DelPortmap(a, udp).exit_code, 0);
  ASSERT_EQ(Exec(linen::test::CniBin("bridge"), "DEL", a.ns->path(), a.cid, BridgeConf()).exit_code,
            0);
  sa.reset();
  EXPECT_EQ(client.Ask(), "");  // meanwhile: the node has nothing on 5353
  Pod b = AddPod("pm-b", udp);
  ASSERT_NE(b.ip, a.ip);
  PodServer sb(*b.ns, "pod-b");
  EXPECT_TRUE(client.AnsweredBy("pod-b"));
}

// Attachments are map elements, not rules: the rule count stays what
// one attachment needs, and DEL of one among them removes only its own. portmap never
// enters the pod, so a prevResult naming an address is all it needs here.
TEST_F(PortmapTest, RulesStayFixedAsAttachmentsGrow) {
  const auto rules = [&] { return Node("nft -a list table inet linen_portmap | grep -c \"# handle\"").out; };
  const auto prev = [](int i) {
    return R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.80.)" +
           std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + R"(/16","interface":0}]})";
  };
  const auto maps = [](int i) {
    return R"([{"hostPort":)" + std::to_string(20000 + i) + R"(,"containerPort":80}])";
  };
  constexpr int kPods = 64;
  std::string one;
  for (int i = 0; i < kPods; ++i) {
    ProcResult r = Exec(linen::test::CniBin("portmap"), "ADD", "/x", "scale" + std::to_string(i),
                        PortmapConf(maps(i), prev(i)));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    if (i == 0) one = rules();
  }
  EXPECT_EQ(rules(), one);
  EXPECT_EQ(Node("nft list map inet linen_portmap any4 | grep -o \"comment\" | wc -l").out,
            std::to_string(kPods) + "\n");
  ProcResult del = Exec(linen::test::CniBin("portmap"), "DEL", "", "scale7", PortmapConf("[]", ""));
  ASSERT_EQ(del.exit_code, 0) << del.out;
  const std::string rs = Ruleset();
  EXPECT_EQ(rs.find("\"scale7/eth0\""), std::string::npos);
  EXPECT_NE(rs.find("\"scale8/eth0\""), std::string::npos);
  EXPECT_EQ(Node("nft list map inet linen_portmap any4 | grep -o \"comment\" | wc -l").out,
            std::to_string(kPods - 1) + "\n");
}

// ADD reads the base chains first and writes them only when they are not as this
// version writes them: an ADD on a ready node keeps the rules (same handles), and
// one after a hand edit restores them.
TEST_F(PortmapTest, BaseChainsAreWrittenOnlyWhenNotInPlace) {
  const auto add = [&](const std::string& cid, int port, int host) {
    const std::string prev = R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.80.0.)" +
                             std::to_string(host) + R"(/16","interface":0}]})";
    return Exec(linen::test::CniBin("portmap"), "ADD", "/x", cid,
                PortmapConf(R"([{"hostPort":)" + std::to_string(port) + R"(,"containerPort":80}])", prev));
  };
  const auto chains = [&] {
    std::string all;
    for (const char* c : {"hostports", "prerouting", "output", "postrouting"}) {
      all += Node(std::string("nft -a list chain inet linen_portmap ") + c).out;
    }
    return all;
  };
  ASSERT_EQ(add("bc1", 21001, 1).exit_code, 0);
  const std::string first = chains();
  ASSERT_NE(first.find("linen portmap 2: hairpinif4"), std::string::npos) << first;
  ASSERT_EQ(add("bc2", 21002, 2).exit_code, 0);
  EXPECT_EQ(chains(), first);
  // A hand edit: one rule gone. The next ADD puts the layout back.
  const std::string out = Node("nft -a list chain inet linen_portmap output").out;
  const size_t h = out.find("# handle ", out.find("to hostports ipv6"));
  ASSERT_NE(h, std::string::npos) << out;
  const std::string handle = out.substr(h + 9, out.find('\n', h) - h - 9);
  ASSERT_EQ(Node("nft delete rule inet linen_portmap output handle " + handle).exit_code, 0);
  EXPECT_EQ(Node("nft list chain inet linen_portmap output").out.find("to hostports ipv6"),
            std::string::npos);
  ASSERT_EQ(add("bc3", 21003, 3).exit_code, 0);
  EXPECT_NE(Node("nft list chain inet linen_portmap output").out.find("to hostports ipv6"),
            std::string::npos);
  EXPECT_EQ(Node("nft list chain inet linen_portmap output | grep -c \"linen portmap 2\"").out, "2\n");
}

// As a runtime drives it: cnitool with a bridge + portmap + bandwidth conflist (as
// conf-examples/10-linen-bridge-portmap-bandwidth.conflist) and both capabilities in
// CAP_ARGS; DEL comes from cnitool's cached result.
TEST_F(PortmapTest, CnitoolDrivesTheChainWithCapArgs) {
  TempDir conf, cache;
  cni::json bridge = cni::json::parse(BridgeConf());
  bridge.erase("cniVersion");
  bridge.erase("name");
  cni::json list = {{"cniVersion", "1.0.0"},
                    {"name", "pmnet"},
                    {"plugins",
                     {bridge,
                      {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}},
                      {{"type", "bandwidth"}, {"capabilities", {{"bandwidth", true}}}}}}};
  std::ofstream(conf.path() + "/10-pmnet.conflist") << list.dump();
  auto pod = TempNetns::Create("pmp");
  ASSERT_TRUE(pod) << pod.error().msg();
  const auto cnitool = [&](const std::string& verb) {
    return linen::test::Run(
        {"/usr/sbin/ip", "netns", "exec", node_->name(), linen::test::CniBin("cnitool"),
         "--cache-dir", cache.path(), verb, "pmnet", pod->path()},
        {{"NETCONFPATH", conf.path()}, {"CNI_PATH", linen::test::CniBinDir()}, {"CNI_ARGS", ""},
         {"CNI_IFNAME", ""}, {"CNI_CONTAINERID", ""},
         {"CAP_ARGS", R"({"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],)"
                      R"("bandwidth":{"ingressRate":100000000,"ingressBurst":1000000,)"
                      R"("egressRate":50000000,"egressBurst":1000000}})"}});
  };
  const auto tbf = [&] { return Node("tc qdisc show | grep -c \"qdisc tbf\"").out; };
  ProcResult add = cnitool("add");
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  {
    PodServer server(*pod, "pod-cnitool");
    EXPECT_EQ(TcpGet(*client_, kNodeIp, 8080), "pod-cnitool");
  }
  // bandwidth shaped both ways: a TBF on the host veth and one on the IFB.
  EXPECT_EQ(tbf(), "2\n") << Node("tc qdisc show").out;
  EXPECT_NE(Node("tc qdisc show").out.find("rate 50Mbit"), std::string::npos);
  EXPECT_EQ(cnitool("check").exit_code, 0);
  ProcResult del = cnitool("del");
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(Ruleset().find("/eth0\""), std::string::npos) << Ruleset();
  EXPECT_EQ(tbf(), "0\n");
  EXPECT_EQ(Node("ip -br link show type ifb").out, "");
}

TEST_F(PortmapTest, ChainedAfterTheReferenceBridge) {
  if (!std::filesystem::exists(kRefBridge)) GTEST_SKIP() << kRefBridge << " not installed";
  Pod a = AddPod("pm-ref", Mappings(), kRefBridge);
  PodServer server(*a.ns, "pod-ref");
  EXPECT_EQ(TcpGet(*client_, kNodeIp, 8080), "pod-ref");
  EXPECT_EQ(TcpGet(*a.ns, kNodeIp, 8080), "pod-ref");
  ASSERT_EQ(DelPortmap(a, Mappings()).exit_code, 0);
  EXPECT_EQ(Ruleset().find("pm-ref/eth0"), std::string::npos);
  EXPECT_EQ(Exec(kRefBridge, "DEL", a.ns->path(), a.cid, BridgeConf()).exit_code, 0);
}

}  // namespace
}  // namespace portmap
