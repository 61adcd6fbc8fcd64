#include "test/hardening/node.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
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
// Raw sections, one per line header; JSON ones are normalised in NormaliseSection.
std::string NodeSnapshotScript(const std::string& ctr_name) {
  std::string s;
  s += "echo '# link'; ip -j link show\n";
  s += "echo '# addr'; ip -j addr show\n";
  s += "echo '# route4'; ip -j -4 route show table all\n";
  s += "echo '# route6'; ip -j -6 route show table all\n";
  s += "echo '# rule4'; ip -j -4 rule show\n";
  s += "echo '# rule6'; ip -j -6 rule show\n";
  s += "echo '# neigh'; ip -j neigh show nud permanent\n";
  // Learned entries come and go with the pods' own traffic: only configured ones count.
  s += "echo '# fdb'; bridge -j fdb show | jq -c '[.[] | select(.state != \"\")]'\n";
  s += "echo '# nft'; nft list ruleset\n";
  s += "echo '# forward'; cat /proc/sys/net/ipv4/ip_forward\n";
  // Traffic control (the bandwidth plugin): qdiscs, and filters under ingress qdiscs.
  s += "echo '# qdisc'; tc -j qdisc show\n";
  s += "echo '# tc-filter'; for d in $(ls /sys/class/net); do tc -j filter show dev $d ingress; done\n";
  s += "echo '# ctr-link'; ip -n " + ctr_name + " -j link show\n";
  s += "echo '# ctr-addr'; ip -n " + ctr_name + " -j addr show\n";
  s += "echo '# ctr-route'; ip -n " + ctr_name + " -j route show table all\n";
  return s;
}

// One JSON object per line, so a difference names the object that changed. Dropped:
// operstate and carrier flags (linkwatch settles them asynchronously), IPv6
// link-local addresses and their routes (the kernel's own; DAD flips "tentative"),
// the routes' "linkdown" flag (carrier again), and what the kernel adds on link up
// (IPv6 multicast routes, multicast FDB entries).
std::string NormaliseSection(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return text;
  std::string out;
  for (auto& e : j) {
    if (!e.is_object()) continue;
    e.erase("operstate");
    if (auto f = e.find("flags"); f != e.end() && f->is_array()) {
      nlohmann::json kept = nlohmann::json::array();
      for (auto& x : *f) {
        if (x != "LOWER_UP" && x != "NO-CARRIER" && x != "M-DOWN" && x != "linkdown") {
          kept.push_back(x);
        }
      }
      *f = kept;
    }
    if (auto a = e.find("addr_info"); a != e.end() && a->is_array()) {
      nlohmann::json kept = nlohmann::json::array();
      for (auto& x : *a) {
        if (!(x.value("family", "") == "inet6" && x.value("scope", "") == "link")) {
          kept.push_back(x);
        }
      }
      *a = kept;
    }
    if (auto d = e.find("dst"); d != e.end() && d->is_string() &&
        (d->get<std::string>().rfind("fe80:", 0) == 0 || *d == "ff00::/8")) {
      continue;  // link-local and multicast routes: added by the kernel on link up
    }
    if (auto m = e.find("mac"); m != e.end() && m->is_string() &&
        (m->get<std::string>().rfind("33:33:", 0) == 0 ||
         m->get<std::string>().rfind("01:00:5e:", 0) == 0)) {
      continue;  // multicast FDB entries: the kernel's, on link up
    }
    out += e.dump() + "\n";
  }
  return out;
}

}  // namespace

const std::vector<std::string>& AllPlugins() {
  static const std::vector<std::string> kAll = {"bridge", "host-local", "loopback", "host-gw",
                                                "vxlan", "portmap", "bandwidth"};
  return kAll;
}

std::string TestName(const std::string& plugin) {
  std::string s = plugin;
  for (char& ch : s) {
    if (ch == '-') ch = '_';
  }
  return s;
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
  // The container's loopback starts down, so a loopback ADD that wrongly went ahead
  // is visible in the snapshot.
  auto r = test::Run({"/usr/sbin/ip", "-n", ns, "-batch", "-"}, {},
                     "link add hu0 type veth peer name hu1\n"
                     "link set hu0 addrgenmode none\n"
                     "link set hu1 addrgenmode none\n"
                     "addr add " + std::string(kNodeIp) + "/24 dev hu0\n"
                     "link set hu0 up\n"
                     "link set hu1 up\n");
  if (r.exit_code == 0) r = test::Sh("ip -n " + n->ctr_name() + " link set lo down");
  // bandwidth is chained after a network plugin: the pod's veth is already there.
  if (r.exit_code == 0 && plugin == "bandwidth") {
    r = test::Run({"/usr/sbin/ip", "-n", ns, "-batch", "-"}, {},
                  "link add hbw0 type veth peer name eth0 netns " + n->ctr_name() + "\n"
                  "link set hbw0 addrgenmode none\n"
                  "link set hbw0 up\n");
  }
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
  if (plugin_ == "portmap") {
    // Chained after a network plugin that gave the container 10.77.0.5.
    json prev = {{"cniVersion", "1.0.0"},
                 {"interfaces", json::array({{{"name", "eth0"}, {"sandbox", ctr_path()}}})},
                 {"ips", json::array({{{"address", "10.77.0.5/24"}, {"interface", 0}}})}};
    json maps = json::array({{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}},
                             {{"hostPort", 5353}, {"containerPort", 53}, {"protocol", "udp"}}});
    return {{"cniVersion", "1.0.0"}, {"name", "hnet"}, {"type", plugin_},
            {"runtimeConfig", {{"portMappings", maps}}}, {"prevResult", prev}};
  }
  if (plugin_ == "bandwidth") {
    json prev = {{"cniVersion", "1.0.0"},
                 {"interfaces", json::array({{{"name", "hbw0"}},
                                             {{"name", "eth0"}, {"sandbox", ctr_path()}}})},
                 {"ips", json::array({{{"address", "10.77.0.5/24"}, {"interface", 1}}})}};
    return {{"cniVersion", "1.0.0"}, {"name", "hnet"},         {"type", plugin_},
            {"ingressRate", 8'000'000}, {"ingressBurst", 80'000}, {"egressRate", 8'000'000},
            {"egressBurst", 80'000},    {"prevResult", prev}};
  }
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
  std::string out, section;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0 && line.find(' ', 2) == std::string::npos) {
      out += NormaliseSection(section) + line + "\n";
      section.clear();
    } else {
      section += line + "\n";
    }
  }
  out += NormaliseSection(section);
  return out + "# stderr\n" + r.err;
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
  auto lines = [](const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.insert(l);
    return out;
  };
  auto a = lines(before), b = lines(after);
  std::string out;
  int shown = 0;
  for (const auto& l : a) {
    if (b.count(l) < a.count(l) && shown++ < 8) out += "- " + l.substr(0, 400) + "\n";
  }
  for (const auto& l : b) {
    if (a.count(l) < b.count(l) && shown++ < 16) out += "+ " + l.substr(0, 400) + "\n";
  }
  return out;
}

}  // namespace linen::hardening
