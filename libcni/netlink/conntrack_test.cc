// ctnetlink deletion against the kernel: entries made by real datagrams in a
// namespace the test creates; only the matching ones go.
#include "libcni/netlink/conntrack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "libcni/sys/fd.h"
#include "netns/netns.h"
#include "test/support/test_support.h"

namespace cni::ct {
namespace {

using linen::test::TempNetns;

class ConntrackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = TempNetns::Create("ctk");
    ASSERT_TRUE(ns.ok()) << ns.error().msg();
    ns_.emplace(std::move(*ns));
    // A rule that uses conntrack makes the namespace track connections.
    ASSERT_EQ(linen::test::Run({"/usr/sbin/ip", "netns", "exec", ns_->name(), "nft", "-f", "-"}, {},
                               "table inet t { chain out { type filter hook output priority 0;\n"
                               " ct state new counter\n }\n}\n")
                  .exit_code,
              0);
    auto sw = ScopedNetnsSwitch::Enter(ns_->ns());
    ASSERT_TRUE(sw.ok());
    sock_ = UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock_);
  }
  // One datagram to 127.0.0.1:port: one conntrack entry.
  void Send(uint16_t port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(sendto(sock_.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
  }
  Result<int> Delete(uint16_t port, const char* dst = nullptr) {
    auto sw = ScopedNetnsSwitch::Enter(ns_->ns());
    if (!sw) return sw.error();
    Match m{Family::kV4, IPPROTO_UDP, port, std::nullopt};
    if (dst) m.dst = *IpAddr::Parse(dst);
    return DeleteEntries(m);
  }
  std::optional<TempNetns> ns_;
  UniqueFd sock_;
};

TEST_F(ConntrackTest, DeletesOnlyTheMatchingEntries) {
  Send(5001);
  Send(5002);
  Send(5003);
  auto one = Delete(5001);
  ASSERT_TRUE(one.ok()) << one.error().msg();
  EXPECT_EQ(*one, 1);
  EXPECT_EQ(*Delete(5001), 0);  // gone, and nothing else on that port
  EXPECT_EQ(*Delete(5003, "127.0.0.2"), 0);  // another destination address
  EXPECT_EQ(*Delete(5003, "127.0.0.1"), 1);
  EXPECT_EQ(*Delete(5002), 1);  // untouched by the deletions above
  auto tcp = [&] {
    auto sw = ScopedNetnsSwitch::Enter(ns_->ns());
    return DeleteEntries({Family::kV4, IPPROTO_TCP, 5002, std::nullopt});
  }();
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(*tcp, 0);
}

}  // namespace
}  // namespace cni::ct
