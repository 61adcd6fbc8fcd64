// linend's settings: command-line flags (CLI11), optionally from a config file
// (--config, INI/TOML: `key = value` lines using the long flag names). The etcd
// login can also come from the environment (LINEN_ETCD_USERNAME/_PASSWORD, or
// flanneld's FLANNELD_ETCD_USERNAME/_PASSWORD) so the password need not appear in a
// process list; precedence: flag, config file, LINEN_*, FLANNELD_*.
#ifndef LINEN_AGENT_OPTIONS_H_
#define LINEN_AGENT_OPTIONS_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"

namespace linen::agent {

struct Options {
  std::string registry = "etcd";         // "etcd" | "file" | "kubernetes"
  std::vector<std::string> etcd_endpoints = {"http://127.0.0.1:2379"};
  std::string etcd_prefix = "/linen/network";
  // flannel's names: --etcd-cafile/--etcd-certfile/--etcd-keyfile for https://
  // endpoints, --etcd-username/--etcd-password for etcd auth.
  std::string etcd_cafile;
  std::string etcd_certfile;
  std::string etcd_keyfile;
  std::string etcd_username;
  std::string etcd_password;
  std::chrono::seconds lease_ttl{24 * 3600};
  std::string topology;                  // --registry file
  // --registry kubernetes (flanneld --kube-subnet-mgr's flag names where it has them).
  std::string net_config_path = "/etc/kube-flannel/net-conf.json";
  std::string kubeconfig;                // "" = in-cluster service account
  std::string kube_annotation_prefix = "flannel.alpha.coreos.com";
  std::string node_name;                 // default: $NODE_NAME, else hostname
  std::string iface;                     // underlay device; "" = the one holding public_ip
  std::string public_ip;                 // default: first IPv4 address of iface
  std::string public_ipv6;               // IPv6 clusters; default: first global IPv6 of iface
  std::string subnet_file = "/run/linen/subnet.env";
  std::string metrics_address = "127.0.0.1:9925";  // "" = no HTTP endpoint
  std::chrono::milliseconds resync_interval{10000};
  bool cleanup = false;                  // remove what linend owns, then exit
  bool verbose = false;
};

// Parses argv. --help/--version are reported as an Error with code kOk whose msg
// is the text to print (exit 0); bad flags are code 7 naming the flag.
cni::Result<Options> ParseOptions(int argc, const char* const* argv);

}  // namespace linen::agent

#endif  // LINEN_AGENT_OPTIONS_H_
