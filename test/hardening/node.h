// A node for hardening tests: a TempNetns playing the node (with an underlay veth
// holding the node IP, so the overlay plugins find themselves), a TempNetns playing
// the container, a TempDir holding every state directory of the plugin under test,
// and the plugin's valid config. Plugins run "on the node" through `ip netns exec`.
#ifndef LINEN_TEST_HARDENING_NODE_H_
#define LINEN_TEST_HARDENING_NODE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/test_support.h"

namespace linen::hardening {

// The executables under test.
const std::vector<std::string>& AllPlugins();

// A plugin name as a gtest name part: "host-local" -> "host_local".
std::string TestName(const std::string& plugin);

class Node {
 public:
  // Creates namespaces and directories; nullptr with *err set on failure.
  static std::unique_ptr<Node> Create(const std::string& plugin, std::string* err);

  const std::string& plugin() const { return plugin_; }
  const std::string& ns_name() const { return node_->name(); }
  std::string ctr_path() const { return ctr_->path(); }
  const std::string& ctr_name() const { return ctr_->name(); }
  std::string node_path() const { return node_->path(); }
  const std::string& dir() const { return dir_.path(); }
  std::string data_dir() const { return dir_.path() + "/data"; }

  // A config that a valid ADD accepts.
  nlohmann::json Config() const;
  // A valid ADD environment for container `cid`.
  std::map<std::string, std::string> Env(const std::string& command,
                                         const std::string& cid = "hcid1") const;
  // Runs the plugin in the node namespace. An unset key in `env` is simply absent.
  test::ProcResult Exec(const std::map<std::string, std::string>& env,
                        const std::string& stdin_data) const;

  // Everything a plugin could change: node links/addresses/routes/rules/neighbours,
  // bridge FDB, nftables ruleset, the container's links/addresses/routes, and a
  // recursive listing (type, mode, size, content) of the state directory.
  std::string Snapshot() const;
  // The same without the state directory listing.
  std::string KernelSnapshot() const;
  // The IP reservation files in <dataDir>/<net> (not lock / last_reserved_ip.*).
  std::vector<std::string> IpFiles(const std::string& net = "hnet") const;

 private:
  Node(std::string plugin, test::TempNetns node, test::TempNetns ctr)
      : plugin_(std::move(plugin)), node_(std::move(node)), ctr_(std::move(ctr)) {}
  std::string plugin_;
  std::optional<test::TempNetns> node_;
  std::optional<test::TempNetns> ctr_;
  test::TempDir dir_;
};

// Recursive listing of `root` (sorted): "path type mode size [content-if-small]".
std::string ListTree(const std::string& root);
// A short description of where two snapshots differ (first differing lines).
std::string DiffSnapshots(const std::string& before, const std::string& after);

}  // namespace linen::hardening

#endif  // LINEN_TEST_HARDENING_NODE_H_
