#include "agent/options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <sstream>

namespace linen::agent {

cni::Result<Options> ParseOptions(int argc, const char* const* argv) {
  Options o;
  int64_t ttl = o.lease_ttl.count();
  int64_t resync_ms = o.resync_interval.count();
  CLI::App app{"linend: linen node agent. Leases this node's pod subnet, publishes it, "
               "and keeps routes / VXLAN FDB / neighbours in step with its peers."};
  app.set_version_flag("--version", "linend 0.1.0");
  app.set_config("--config", "", "Read flags from this file (INI/TOML: flag-name = value)");
  app.add_option("--registry", o.registry,
                 "Where leases live: etcd, file, or kubernetes (Node podCIDRs + annotations)")
      ->check(CLI::IsMember({"etcd", "file", "kubernetes"}))
      ->capture_default_str();
  app.add_option("--etcd-endpoints", o.etcd_endpoints, "etcd client URLs (comma separated)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--etcd-prefix", o.etcd_prefix, "etcd key prefix")->capture_default_str();
  app.add_option("--etcd-cafile", o.etcd_cafile,
                 "CA certificate(s) that signed etcd's server certificate (https:// endpoints; "
                 "default: the system store)");
  app.add_option("--etcd-certfile", o.etcd_certfile,
                 "Client certificate presented to etcd (with --etcd-keyfile)");
  app.add_option("--etcd-keyfile", o.etcd_keyfile, "Private key of --etcd-certfile");
  app.add_option("--etcd-username", o.etcd_username, "etcd user to log in as (etcd auth)")
      ->envname("LINEN_ETCD_USERNAME");
  app.add_option("--etcd-password", o.etcd_password,
                 "Password of --etcd-username; prefer the environment or the config file, "
                 "which no process list shows")
      ->envname("LINEN_ETCD_PASSWORD");
  app.add_option("--subnet-lease-ttl", ttl, "Seconds a lease lives without renewal")
      ->check(CLI::Range(int64_t{1}, int64_t{30} * 24 * 3600))
      ->capture_default_str();
  app.add_option("--topology", o.topology, "Static topology JSON (--registry file)");
  app.add_option("--net-config-path", o.net_config_path,
                 "flannel net-conf.json with the cluster network (--registry kubernetes)")
      ->capture_default_str();
  app.add_option("--kubeconfig", o.kubeconfig,
                 "kubeconfig to reach the API server (--registry kubernetes; default: the "
                 "pod's service account)");
  app.add_option("--kube-annotation-prefix", o.kube_annotation_prefix,
                 "Prefix of the Node annotations linen reads and writes (flannel's by default, "
                 "so flannel and linen nodes see each other)")
      ->capture_default_str();
  app.add_option("--node-name", o.node_name, "This node's name (default: $NODE_NAME, else hostname)")
      ->envname("NODE_NAME");
  app.add_option("--iface", o.iface, "Underlay interface (default: the one holding --public-ip)");
  app.add_option("--public-ip", o.public_ip, "Node IP peers use (default: first IPv4 of --iface)");
  app.add_option("--public-ipv6", o.public_ipv6,
                 "Node IPv6 address peers use when the cluster enables IPv6 (default: first "
                 "global IPv6 of --iface, or of the interface holding --public-ip)");
  app.add_option("--subnet-file", o.subnet_file, "Where to write subnet.env")
      ->capture_default_str();
  app.add_option("--metrics-address", o.metrics_address,
                 "host:port for /healthz, /readyz and /metrics; empty disables")
      ->capture_default_str();
  app.add_option("--resync-interval-ms", resync_ms,
                 "Re-apply the data path this often, repairing drift")
      ->check(CLI::Range(int64_t{50}, int64_t{3600} * 1000))
      ->capture_default_str();
  app.add_flag("--cleanup", o.cleanup,
               "Remove everything linend owns (routes, VXLAN device, lease, subnet file) and exit");
  app.add_flag("-v,--verbose", o.verbose, "Log every reconcile");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return cni::Error(cni::Code::kOk, app.help());
  } catch (const CLI::CallForVersion&) {
    return cni::Error(cni::Code::kOk, app.version());
  } catch (const CLI::ParseError& e) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, std::string("linend: ") + e.what());
  }
  // flanneld's spelling, so an existing flanneld environment file carries over.
  for (auto [dst, var] : {std::pair{&o.etcd_username, "FLANNELD_ETCD_USERNAME"},
                          std::pair{&o.etcd_password, "FLANNELD_ETCD_PASSWORD"}}) {
    const char* v = std::getenv(var);
    if (dst->empty() && v != nullptr) *dst = v;
  }
  o.lease_ttl = std::chrono::seconds(ttl);
  o.resync_interval = std::chrono::milliseconds(resync_ms);
  if (o.node_name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "linend: --node-name not given and the hostname is unknown");
    }
    o.node_name = host;
  }
  if (o.registry == "file" && o.topology.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "linend: --registry file needs --topology");
  }
  if (o.registry == "etcd" && o.etcd_endpoints.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "linend: --etcd-endpoints is empty");
  }
  if (o.registry == "etcd" && o.etcd_certfile.empty() != o.etcd_keyfile.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "linend: --etcd-certfile and --etcd-keyfile go together");
  }
  if (o.registry == "etcd" && !o.etcd_password.empty() && o.etcd_username.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "linend: an etcd password was given without --etcd-username");
  }
  if (o.registry == "etcd" && !o.etcd_username.empty() && o.etcd_password.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "linend: --etcd-username " + o.etcd_username +
                          " has no password: set LINEN_ETCD_PASSWORD in the environment, "
                          "etcd-password in the --config file, or --etcd-password");
  }
  if ((o.registry == "etcd" || o.registry == "kubernetes") && o.iface.empty() &&
      o.public_ip.empty() && o.public_ipv6.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "linend: give --iface or --public-ip (which address peers reach us on)");
  }
  return o;
}

}  // namespace linen::agent
