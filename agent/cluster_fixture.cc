#include "agent/cluster_fixture.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace linen::agent::testing {

using linen::test::Sh;

cni::Result<std::unique_ptr<Process>> Process::Start(
    const cni::NetNs& ns, const std::vector<std::string>& argv, const std::string& log_path,
    const std::map<std::string, std::string>& env) {
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  // The environment is built before fork: the child only calls async-signal-safe code.
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (env.count(kv.substr(0, kv.find('='))) == 0) envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cenv;
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return cni::ErrnoError("open " + log_path, errno);
  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return cni::ErrnoError("fork", errno);
  }
  if (pid == 0) {
    if (setns(ns.fd(), CLONE_NEWNET) != 0) _exit(126);
    dup2(log, 1);
    dup2(log, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(log);
  return std::unique_ptr<Process>(new Process(pid, log_path));
}

int Process::Stop(int sig) {
  if (pid_ <= 0) return 0;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

Process::~Process() {
  if (pid_ > 0) Stop(SIGKILL);
}

std::string Process::Log() const {
  std::ifstream f(log_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void ClusterTest::SetUp() {
  auto hub = linen::test::TempNetns::Create("hub");
  ASSERT_TRUE(hub) << hub.error().msg();
  hub_.emplace(std::move(*hub));
  dir_.emplace();
  const std::string h = hub_->name();
  // A fixed MAC: a bridge without one carries its lowest port's, and when that port
  // goes the MAC behind etcd's 10.99.0.1 changes to one the bridge no longer delivers
  // locally; nodes that resolved it before lose etcd until their neighbour entry
  // expires (scripts/repro-bridge-mac.sh, docs/etcd.md "The test-cluster stall").
  auto r = Sh("ip -n " + h + " link add br0 address 02:99:00:00:00:01 type bridge && ip -n " + h +
              " addr add 10.99.0.1/24 dev br0 && ip -n " + h + " link set br0 up");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  etcd_options_.listen_ip = "10.99.0.1";
  etcd_options_.port = 2379;
  auto etcd = etcd::testing::EtcdServer::Start(hub_->ns(), dir_->path(), etcd_options_);
  ASSERT_TRUE(etcd) << etcd.error().msg();
  etcd_ = std::move(*etcd);
  auto sw = cni::ScopedNetnsSwitch::Enter(hub_->ns());
  ASSERT_TRUE(sw) << sw.error().msg();
  inside_.emplace(std::move(*sw));
}

void ClusterTest::TearDown() {
  for (auto& n : nodes_) {
    if (n->agent && (HasFailure() || getenv("LINEN_SHOW_LOGS") != nullptr)) {
      std::cerr << "---- linend log of " << n->name << " ----\n" << n->agent->Log();
    }
    n->agent.reset();
  }
  if (HasFailure() && dir_) {
    // etcd's own warnings (slow requests, connection errors) next to the agents'.
    std::ifstream log(dir_->path() + "/etcd.log");
    std::cerr << "---- etcd log (warnings) ----\n" << log.rdbuf() << "\n";
  }
  nodes_.clear();
  kube_.reset();
  inside_.reset();
  etcd_.reset();
  hub_.reset();
  dir_.reset();
}

void ClusterTest::WriteConfig(const std::string& json) {
  auto c = etcd::Client::Create(etcd_->client_options());
  ASSERT_TRUE(c) << c.error().msg();
  auto put = (*c)->Put(prefix_ + "/config", json);
  ASSERT_TRUE(put) << put.error().msg();
}

Node& ClusterTest::AddNode() {
  auto n = std::make_unique<Node>();
  n->index = static_cast<int>(nodes_.size()) + 1;
  n->name = "node" + std::to_string(n->index);
  n->ip = "10.99.0." + std::to_string(10 + n->index);
  n->ip6 = "fd00:99::" + std::to_string(10 + n->index);
  n->subnet_file = dir_->path() + "/" + n->name + "/subnet.env";
  auto ns = linen::test::TempNetns::Create("nd");
  EXPECT_TRUE(ns) << ns.error().msg();
  n->ns.emplace(std::move(*ns));
  const std::string h = hub_->name(), nn = n->ns->name();
  const std::string port = "p" + nn;
  // No DAD on the node's links (set before eth0 exists): a fresh link-local address
  // stays tentative for a second or more, and until then the node sends no neighbour
  // solicitation for a packet it forwards (host-gw over IPv6 would lose first pings).
  auto r = Sh("ip netns exec " + nn + " sysctl -qw net.ipv6.conf.all.accept_dad=0 " +
              "net.ipv6.conf.default.accept_dad=0 && ip -n " + h + " link add " + port +
              " type veth peer name eth0 netns " + nn +
              " && ip -n " + h + " link set " + port + " master br0 up && ip -n " + nn +
              " addr add " + n->ip + "/24 dev eth0 && ip -n " + nn + " addr add " + n->ip6 +
              "/64 dev eth0 nodad && ip -n " + nn + " link set eth0 up" +
              " && ip netns exec " + nn + " sysctl -qw net.ipv4.ip_forward=1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nodes_.push_back(std::move(n));
  return *nodes_.back();
}

void ClusterTest::StartAgent(Node& n, const std::vector<std::string>& extra,
                             const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {
      linen::test::CniBin("linend"), "--registry", "etcd",
      "--etcd-endpoints", etcd_->endpoint(),
      "--etcd-prefix", prefix_,
      "--node-name", n.name,
      "--iface", "eth0",
      "--subnet-lease-ttl", lease_ttl_,
      "--subnet-file", n.subnet_file,
      "--metrics-address", n.ip + ":9925",
      "--resync-interval-ms", resync_ms_,
  };
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = Process::Start(n.ns->ns(), argv, dir_->path() + "/" + n.name + ".log", env);
  ASSERT_TRUE(p) << p.error().msg();
  n.agent = std::move(*p);
}

void ClusterTest::StartKubeApi(const std::string& net_conf) {
  kube::testing::KubeApiServerOptions o;
  o.listen_ip = "10.99.0.1";
  auto k = kube::testing::KubeApiServer::Start(hub_->ns(), o);
  ASSERT_TRUE(k) << k.error().msg();
  kube_ = std::move(*k);
  kubeconfig_ = dir_->path() + "/kubeconfig";
  ASSERT_TRUE(kube_->WriteKubeconfig(kubeconfig_));
  net_conf_path_ = dir_->path() + "/net-conf.json";
  std::ofstream(net_conf_path_) << net_conf;
}

void ClusterTest::RegisterKubeNode(const Node& n, const std::vector<std::string>& pod_cidrs) {
  auto rv = kube_->PutNode(kube::testing::MakeNodeJson(n.name, n.ip, pod_cidrs));
  ASSERT_TRUE(rv) << rv.error().msg();
}

void ClusterTest::StartKubeAgent(Node& n, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      linen::test::CniBin("linend"), "--registry", "kubernetes",
      "--kubeconfig", kubeconfig_,
      "--net-config-path", net_conf_path_,
      "--node-name", n.name,
      "--iface", "eth0",
      "--subnet-file", n.subnet_file,
      "--metrics-address", n.ip + ":9925",
      "--resync-interval-ms", resync_ms_,
  };
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = Process::Start(n.ns->ns(), argv, dir_->path() + "/" + n.name + ".log");
  ASSERT_TRUE(p) << p.error().msg();
  n.agent = std::move(*p);
}

void ClusterTest::StartFileAgent(Node& n, const std::string& topology) {
  std::vector<std::string> argv = {
      linen::test::CniBin("linend"), "--registry", "file", "--topology", topology,
      "--node-name", n.name, "--iface", "eth0", "--subnet-file", n.subnet_file,
      "--metrics-address", n.ip + ":9925", "--resync-interval-ms", resync_ms_,
  };
  auto p = Process::Start(n.ns->ns(), argv, dir_->path() + "/" + n.name + ".log");
  ASSERT_TRUE(p) << p.error().msg();
  n.agent = std::move(*p);
}

// What the underlay looked like when a node could not reach etcd: the MAC it holds
// for etcd's address against the hub bridge's, the hub's forwarding table and the
// node's TCP connections. Evidence for a stall, printed only on failure.
std::string ClusterTest::UnderlayState(const Node& n) {
  const std::string h = hub_->name(), nn = n.ns->name();
  auto r = Sh("echo '-- node neighbours'; ip -n " + nn + " neigh show; echo '-- hub br0'; ip -n " +
              h + " -br link show br0; echo '-- hub fdb'; bridge -n " + h +
              " fdb show br br0; echo '-- node tcp'; ip netns exec " + nn + " ss -tni");
  return "\n---- underlay state of " + n.name + " ----\n" + r.out + r.err;
}

std::string ClusterTest::WaitSubnet(Node& n, const std::string& key) {
  std::string subnet;
  // 30 s: under a loaded CI an agent's first etcd request can time out (5 s) once or
  // twice before its retry gets through; it is readiness, not a timing assertion.
  bool ok = Eventually([&] {
    std::ifstream f(n.subnet_file);
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind(key + "=", 0) == 0) {
        auto net = cni::IpNet::Parse(line.substr(key.size() + 1));
        if (net) subnet = net->Masked().ToString();
      }
    }
    return !subnet.empty();
  }, std::chrono::seconds(30));
  EXPECT_TRUE(ok) << n.name << " wrote no subnet file; log:\n" << (n.agent ? n.agent->Log() : "")
                  << UnderlayState(n);
  return subnet;
}

void ClusterTest::AddPod(Node& n, const std::string& subnet) {
  auto net = cni::IpNet::Parse(subnet);
  ASSERT_TRUE(net.has_value()) << subnet;
  const std::string gw = net->Network().Add(1).ToString();
  n.pod_ip = net->Network().Add(2).ToString();
  auto pod = linen::test::TempNetns::Create("pod");
  ASSERT_TRUE(pod) << pod.error().msg();
  n.pod.emplace(std::move(*pod));
  const std::string nn = n.ns->name(), pn = n.pod->name();
  const std::string plen = std::to_string(net->prefix);
  auto r = Sh("ip -n " + nn + " link add cni0 type bridge && ip -n " + nn + " addr add " + gw +
              "/" + plen + " dev cni0 && ip -n " + nn + " link set cni0 up && ip -n " + nn +
              " link add vpod type veth peer name eth0 netns " + pn + " && ip -n " + nn +
              " link set vpod master cni0 up && ip -n " + pn + " addr add " + n.pod_ip + "/" +
              plen + " dev eth0 && ip -n " + pn + " link set eth0 up && ip -n " + pn +
              " route add default via " + gw);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string ClusterTest::AddPluginPod(Node& n, const std::string& type) {
  auto pod = linen::test::TempNetns::Create("pod");
  EXPECT_TRUE(pod) << pod.error().msg();
  if (!pod) return "";
  n.pod.emplace(std::move(*pod));
  const std::string conf = R"({"cniVersion":"1.0.0","name":"linen","type":")" + type +
                           R"(","subnetFile":")" + n.subnet_file + R"(","dataDir":")" +
                           dir_->path() + "/" + n.name + R"(-cni"})";
  // host-local keeps its state under /var/lib/cni/networks/<name> unless told; the
  // meta-plugin passes ipam keys through, so point it into the test's directory.
  const std::string conf_with_ipam =
      conf.substr(0, conf.size() - 1) + R"(,"ipam":{"dataDir":")" + dir_->path() + "/" + n.name +
      R"(-ipam"}})";
  auto r = linen::test::Run(
      {"/usr/sbin/ip", "netns", "exec", n.ns->name(), linen::test::CniBin(type)},
      {{"CNI_COMMAND", "ADD"},
       {"CNI_CONTAINERID", "ctr-" + n.name},
       {"CNI_NETNS", n.pod->path()},
       {"CNI_IFNAME", "eth0"},
       {"CNI_PATH", linen::test::CniBinDir()}},
      conf_with_ipam);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  if (!j.is_discarded() && j.contains("ips") && !j["ips"].empty()) {
    for (const auto& ipc : j["ips"]) {
      std::string addr = ipc.value("address", "");
      n.pod_ips.push_back(addr.substr(0, addr.find('/')));
    }
    n.pod_ip = n.pod_ips[0];
  }
  EXPECT_FALSE(n.pod_ip.empty()) << r.out;
  return r.out;
}

bool ClusterTest::Ping(const Node& a, const Node& b) { return PingIp(a, b.pod_ip); }

bool ClusterTest::PingIp(const Node& a, const std::string& ip) {
  auto r = Sh("ip netns exec " + a.pod->name() + " ping -c1 -W2 " + ip);
  return r.exit_code == 0;
}

bool ClusterTest::Eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

std::string ClusterTest::Ip(const Node& n, const std::string& args) {
  return Sh("ip -n " + n.ns->name() + " " + args).out;
}

std::string ClusterTest::Http(const Node& n, const std::string& path) {
  return Sh("curl -s --max-time 2 --noproxy '*' http://" + n.ip + ":9925" + path).out;
}

}  // namespace linen::agent::testing
