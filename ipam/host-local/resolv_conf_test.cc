#include "ipam/host-local/resolv_conf.h"

#include <gtest/gtest.h>

namespace host_local {
namespace {

TEST(HostLocalResolvConfTest, ParsesLikeTheReference) {
  cni::Dns dns = ParseResolvConfText(
      "# comment\n"
      "; another\n"
      "nameserver 10.0.0.10\n"
      "  nameserver   fd00::10  \n"
      "domain example.com\n"
      "domain cluster.local\n"
      "search a.example b.example\n"
      "search c.example\n"
      "options ndots:5 edns0\n"
      "options\ttimeout:1\r\n"  // tabs and a CRLF ending are white space too
      "nameserver\n"
      "sortlist 1.2.3.4\n");
  EXPECT_EQ(dns.nameservers, (std::vector<std::string>{"10.0.0.10", "fd00::10"}));
  EXPECT_EQ(dns.domain, "cluster.local");
  EXPECT_EQ(dns.search, (std::vector<std::string>{"a.example", "b.example", "c.example"}));
  EXPECT_EQ(dns.options, (std::vector<std::string>{"ndots:5", "edns0", "timeout:1"}));
}

TEST(HostLocalResolvConfTest, MissingFileIsIoError) {
  auto r = ReadResolvConf("/nonexistent/linen-resolv.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), cni::Code::kIoFailure);
  EXPECT_NE(r.error().msg().find("/nonexistent/linen-resolv.conf"), std::string::npos);
}

}  // namespace
}  // namespace host_local
