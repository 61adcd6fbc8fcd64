// A failed ADD of the host-gw / vxlan meta-plugins leaves the node as it found it:
// on a fresh node the node-level state this ADD created (vxlan device, routes,
// masquerade table, subnet.env) is removed again; on a node already set up only the
// pod's own saved delegate config goes. Runs the real executables on a node netns.
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/hardening/node.h"

namespace linen::overlay {
namespace {

using hardening::Node;
using nlohmann::json;

bool Exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

class MetaAddRollbackTest : public ::testing::TestWithParam<std::string> {};

// The delegate cannot run: the failure comes after every node-level step.
json BrokenDelegate(const Node& n) {
  json c = n.Config();
  c["delegate"]["type"] = "linen-no-such-plugin";
  return c;
}

TEST_P(MetaAddRollbackTest, FailedFirstAddUndoesNodeSetup) {
  std::string err;
  auto n = Node::Create(GetParam(), &err);
  ASSERT_NE(n, nullptr) << err;
  const std::string before = n->KernelSnapshot();
  auto r = n->Exec(n->Env("ADD"), BrokenDelegate(*n).dump());
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"code\""), std::string::npos) << r.out;
  const std::string after = n->KernelSnapshot();
  EXPECT_TRUE(before == after) << hardening::DiffSnapshots(before, after);
  EXPECT_FALSE(Exists(n->dir() + "/run/subnet.env"));
  EXPECT_FALSE(Exists(n->dir() + "/linen/hnet:hcid1:eth0"));
  // A valid ADD afterwards still works (nothing half-made in the way).
  auto ok = n->Exec(n->Env("ADD"), n->Config().dump());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
}

TEST_P(MetaAddRollbackTest, FailedLaterAddKeepsNodeStateDropsOwnConfig) {
  std::string err;
  auto n = Node::Create(GetParam(), &err);
  ASSERT_NE(n, nullptr) << err;
  auto warm = n->Exec(n->Env("ADD", "warm"), n->Config().dump());
  ASSERT_EQ(warm.exit_code, 0) << warm.out << warm.err;
  const std::string before = n->Snapshot();
  auto r = n->Exec(n->Env("ADD", "second"), BrokenDelegate(*n).dump());
  EXPECT_NE(r.exit_code, 0) << r.out;
  const std::string after = n->Snapshot();
  EXPECT_TRUE(before == after) << hardening::DiffSnapshots(before, after);
  EXPECT_TRUE(Exists(n->dir() + "/run/subnet.env"));
  EXPECT_FALSE(Exists(n->dir() + "/linen/hnet:second:eth0"));
  EXPECT_TRUE(Exists(n->dir() + "/linen/hnet:warm:eth0"));
}

// GC removes the saved delegate configs of attachments that are gone, in both
// name forms, and nothing of another network whose name shares a prefix.
TEST_P(MetaAddRollbackTest, GcRemovesSavedConfigsOfGoneAttachments) {
  std::string err;
  auto n = Node::Create(GetParam(), &err);
  ASSERT_NE(n, nullptr) << err;
  auto warm = n->Exec(n->Env("ADD", "warm"), n->Config().dump());
  ASSERT_EQ(warm.exit_code, 0) << warm.out << warm.err;
  const std::string d = n->dir() + "/linen/";
  auto plant = [&](const std::string& name, const std::string& net) {
    json saved = n->Config();
    saved["name"] = net;
    std::ofstream(d + name) << saved.dump();
  };
  plant("hnet:gone:eth0", "hnet");
  plant("hnet-old-eth0", "hnet");          // an earlier release's name
  plant("hnet-x-c1-eth0", "hnet-x");       // network "hnet-x", not ours
  plant("hnet-x:c2:eth0", "hnet-x");
  json gc = n->Config();
  gc["cniVersion"] = "1.1.0";
  gc["cni.dev/valid-attachments"] = json::array({{{"containerID", "warm"}, {"ifname", "eth0"}}});
  auto r = n->Exec(n->Env("GC", ""), gc.dump());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Exists(d + "hnet:warm:eth0"));
  EXPECT_FALSE(Exists(d + "hnet:gone:eth0"));
  EXPECT_FALSE(Exists(d + "hnet-old-eth0"));
  EXPECT_TRUE(Exists(d + "hnet-x-c1-eth0"));
  EXPECT_TRUE(Exists(d + "hnet-x:c2:eth0"));
  // Names cannot collide any more: network "a-b" + container "c" is not "a" + "b-c".
  auto del = n->Exec(n->Env("DEL", "warm"), n->Config().dump());
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_FALSE(Exists(d + "hnet:warm:eth0"));
}

INSTANTIATE_TEST_SUITE_P(Overlay, MetaAddRollbackTest, ::testing::Values("host-gw", "vxlan"),
                         [](const auto& info) {
                           return info.param == "host-gw" ? std::string("host_gw") : info.param;
                         });

}  // namespace
}  // namespace linen::overlay
