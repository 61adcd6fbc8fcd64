#include "test/hardening/node.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace linen::hardening {
namespace fs = std::filesystem;

namespace {

constexpr const char* kNodeIp = "192.168.77.1";
constexpr const char* kPeerIp = "192.168.77.2";

// operstate and carrier flags settle asynchronously (linkwatch) after a link comes
// up; they are not something a plugin leaves behind, so they are dropped.
constexpr const char* kLinkFilter =
    "jq -cS 'map(del(.operstate) | .flags -= [\"LOWER_UP\",\"NO-CARRIER\",\"M-DOWN\"])'";

std::string NodeSnapshotScript(const std::string& ctr_name) {
  const std::string f = kLinkFilter;
  std::string s;
  s += "echo '# link'; ip -j link show | " + f + "\n";
  s += "echo '# addr'; ip -j addr show | " + f + "\n";
  s += "echo '# route4'; ip -j -4 route show table all\n";
  s += "echo '# route6'; ip -j -6 route show table all\n";
  s += "echo '# rule4'; ip -j -4 rule show; echo '# rule6'; ip -j -6 rule show\n";
  s += "echo '# neigh'; ip -j neigh show nud permanent\n";
  s += "echo '# fdb'; bridge -j fdb show\n";
  s += "echo '# nft'; nft list ruleset\n";
  s += "echo '# forward'; cat /proc/sys/net/ipv4/ip_forward\n";
  s += "echo '# ctr'; ip -n " + ctr_name + " -j link show | " + f + "\n";
  s += "ip -n " + ctr_name + " -j addr show | " + f + "\n";
  s += "ip -n " + ctr_name + " -j route show table all\n";
  return s;
}

}  // namespace

const std::vector<std::string>& AllPlugins() {
  static const std::vector<std::string> kAll = {"bridge", "host-local", "loopback", "host-gw",
                                                "vxlan"};
  return kAll;
}

std::unique_ptr<Node> Node::Create(const std::string& plugin, std::string* err) {
  auto node = test::TempNetns::Create("hn");
  if (!node) {
    *err = node.error().msg();
    return nullptr;
  }
  auto ctr = test::TempNetns::Create("hc");
  if (!ctr) {
    *err = ctr.error().msg();
    return nullptr;
  }
  std::unique_ptr<Node> n(new Node(plugin, std::move(*node), std::move(*ctr)));
  // The underlay: a veth pair inside the node holding the node IP. No IPv6 link-local
  // address (DAD would change flags under our feet).
  std::string ns = n->ns_name();
  auto r = test::Sh("ip -n " + ns + " link add hu0 type veth peer name hu1 && " +
                    "ip -n " + ns + " link set hu0 addrgenmode none && " +
                    "ip -n " + ns + " link set hu1 addrgenmode none && " +
                    "ip -n " + ns + " addr add " + kNodeIp + "/24 dev hu0 && " +
                    "ip -n " + ns + " link set hu0 up && ip -n " + ns + " link set hu1 up && " +
                    // The container's loopback starts down, so a loopback ADD that
                    // wrongly went ahead is visible in the snapshot.
                    "ip -n " + n->ctr_name() + " link set lo down");
  if (r.exit_code != 0) {
    *err = "underlay setup: " + r.err;
    return nullptr;
  }
  fs::create_directories(n->dir() + "/run");
  return n;
}

nlohmann::json Node::Config() const {
  using nlohmann::json;
  json ipam = {{"type", "host-local"},
               {"ranges", json::array({json::array({{{"subnet", "10.77.0.0/24"}}})})},
               {"dataDir", data_dir()}};
  if (plugin_ == "bridge" || plugin_ == "host-local") {
    return {{"cniVersion", "1.0.0"}, {"name", "hnet"}, {"type", plugin_},
            {"bridge", "hbr0"},      {"isGateway", true}, {"ipMasq", true},
            {"ipam", ipam}};
  }
  if (plugin_ == "loopback") return {{"cniVersion", "1.0.0"}, {"name", "hnet"}, {"type", plugin_}};
  json topo = {{"network", "10.78.0.0/16"},
               {"subnetLen", 24},
               {"ipMasq", true},
               {"nodes", json::array({{{"name", "node1"}, {"ip", kNodeIp}, {"subnet", "10.78.1.0/24"}},
                                      {{"name", "node2"}, {"ip", kPeerIp}, {"subnet", "10.78.2.0/24"}}})}};
  return {{"cniVersion", "1.0.0"},
          {"name", "hnet"},
          {"type", plugin_},
          {"topology", topo},
          {"nodeName", "node1"},
          {"subnetFile", dir() + "/run/subnet.env"},
          {"dataDir", dir() + "/linen"},
          {"delegate", {{"bridge", "hbr0"}}},
          {"ipam", {{"dataDir", data_dir()}}}};
}

std::map<std::string, std::string> Node::Env(const std::string& command,
                                             const std::string& cid) const {
  return {{"CNI_COMMAND", command},       {"CNI_CONTAINERID", cid},
          {"CNI_NETNS", ctr_path()},      {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", test::CniBinDir()}};
}

test::ProcResult Node::Exec(const std::map<std::string, std::string>& env,
                            const std::string& stdin_data) const {
  return test::Run({"/usr/sbin/ip", "netns", "exec", ns_name(), test::CniBin(plugin_)}, env,
                   stdin_data);
}

std::string Node::KernelSnapshot() const {
  auto r = test::Run({"/usr/sbin/ip", "netns", "exec", ns_name(), "/bin/sh", "-s"}, {},
                     NodeSnapshotScript(ctr_->name()));
  return r.out + "# stderr\n" + r.err;
}

std::string Node::Snapshot() const { return KernelSnapshot() + "# tree\n" + ListTree(dir()); }

std::vector<std::string> Node::IpFiles(const std::string& net) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data_dir() + "/" + net, ec)) {
    std::string n = e.path().filename();
    if (n == "lock" || n.rfind("last_reserved_ip", 0) == 0) continue;
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ListTree(const std::string& root) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) continue;
    std::ostringstream line;
    line << fs::relative(it->path(), root).string() << " ";
    if (S_ISDIR(st.st_mode)) line << "d";
    else if (S_ISLNK(st.st_mode)) line << "l";
    else if (S_ISREG(st.st_mode)) line << "f";
    else line << "?";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    line << " " << mode;
    if (S_ISREG(st.st_mode)) {
      line << " " << st.st_size;
      if (st.st_size <= 256) {
        std::ifstream f(it->path(), std::ios::binary);
        std::string content((std::istreambuf_iterator<char>(f)), {});
        line << " [" << nlohmann::json(content).dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)
             << "]";
      }
    }
    lines.push_back(line.str());
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

std::string DiffSnapshots(const std::string& before, const std::string& after) {
  std::istringstream a(before), b(after);
  std::string la, lb, out;
  int shown = 0;
  while (shown < 6) {
    bool ga = static_cast<bool>(std::getline(a, la));
    bool gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) break;
    if (!ga) la = "<none>";
    if (!gb) lb = "<none>";
    if (la != lb) {
      out += "- " + la.substr(0, 600) + "\n+ " + lb.substr(0, 600) + "\n";
      ++shown;
    }
  }
  return out;
}

}  // namespace linen::hardening
