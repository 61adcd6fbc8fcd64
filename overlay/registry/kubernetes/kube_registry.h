// linen::overlay::Registry on the Kubernetes API, compatible with flanneld's
// --kube-subnet-mgr (annotation format: node_codec.h):
//   - the cluster config is flannel's net-conf.json, read from a file (a ConfigMap);
//   - this node's subnet(s) are its spec.podCIDR(s), allocated by the controller
//     manager; linen allocates nothing. No podCIDR yet: Acquire fails with code 50
//     ("not ready, waiting for podCIDR") and the agent retries; the podCIDR's size is
//     the subnet length peers are judged by (--node-cidr-mask-size, whatever
//     net-conf.json's SubnetLen says);
//   - Acquire publishes the node's backend data as annotations (merge patch on
//     nodes/<name>/status, only when they differ), reusing the VTEP MAC the node
//     published before (flannel#1795) and honouring public-ip-overwrite;
//   - peers come from a Node list + watch (resourceVersion, bookmarks). A watch that
//     ends with 410 Gone / an ERROR event / a lost connection is followed by a fresh
//     list inside WaitPeers, and the events returned are the difference between the
//     accepted sets before and after, so no change in the gap is lost. Only nodes with
//     kube-subnet-manager "true" and a podCIDR count; each goes through
//     overlay::ValidateLeases like any other registry's leases;
//   - DataPathUp sets the NetworkUnavailable condition to False with a strategic
//     merge patch keyed by condition type, so the kubelet's conditions stay;
//   - Release (only linend --cleanup calls it) removes the annotations: the data path
//     is gone, peers must stop sending to it. A normal stop keeps them, as it keeps the
//     data path, so a rolling restart never withdraws the node.
//
// Not thread-safe: one registry per agent loop.
#ifndef LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_REGISTRY_H_
#define LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_REGISTRY_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "overlay/registry/kubernetes/kube_client.h"
#include "overlay/registry/kubernetes/node_codec.h"
#include "overlay/registry/registry.h"

namespace linen::kube {

inline constexpr const char* kDefaultNetConfigPath = "/etc/kube-flannel/net-conf.json";

struct RegistryOptions {
  KubeClientConfig client;
  std::string node_name;
  std::string net_config_path = kDefaultNetConfigPath;
  std::string annotation_prefix = kDefaultAnnotationPrefix;
  // The server closes a watch after this long; it is then reopened from the last
  // resourceVersion (no re-list).
  int watch_timeout_seconds = 300;
};

class KubeRegistry : public overlay::Registry {
 public:
  static cni::Result<std::unique_ptr<KubeRegistry>> Create(const RegistryOptions& opts);

  // net-conf.json, read again on every call (code 7, kNotFound cause when missing).
  cni::Result<overlay::ClusterConfig> Config() override;
  cni::Result<overlay::NodeLease> Acquire(const overlay::NodeLease& wanted) override;
  // Nothing to renew; reports (kNotFound cause) that our node was deleted or its
  // podCIDR changed, so the agent acquires again.
  cni::Status Renew() override;
  cni::Status Release() override;
  cni::Result<std::vector<overlay::NodeLease>> ListPeers() override;
  cni::Result<std::vector<overlay::PeerEvent>> WaitPeers(std::chrono::milliseconds timeout) override;
  std::vector<overlay::RejectedLease> Rejected() const override { return rejected_; }
  cni::Status DataPathUp() override;

  Client& client() { return *client_; }
  const std::string& resource_version() const { return rv_; }
  // How many full lists were made (tests: a 410 led to a re-list).
  int lists() const { return lists_; }

 private:
  KubeRegistry(RegistryOptions opts, AnnotationNames names, std::unique_ptr<Client> client);
  cni::Result<KubeNode> GetOwnNode();
  // Lists every node into nodes_ (following continue tokens).
  cni::Status ListNodes();
  void ApplyWatchEvent(const WatchEvent& ev);
  // Judges nodes_ into peers_ and rejected_; returns the accepted-set changes.
  std::vector<overlay::PeerEvent> Judge();
  cni::Status PatchStatus(const std::string& content_type, const std::string& body,
                          const std::string& what);
  // Publishes (again) what Acquire published when the node no longer shows it.
  void CheckOwnNode(const KubeNode& n);

  RegistryOptions opts_;
  AnnotationNames names_;
  std::unique_ptr<Client> client_;

  std::optional<overlay::ClusterConfig> cluster_;
  std::optional<overlay::NodeLease> own_;
  std::vector<std::string> own_cidrs_;  // the podCIDRs own_ was made from
  std::map<std::string, std::string> published_;  // our annotations as last patched
  bool own_lost_ = false;
  bool republish_ = false;
  bool want_available_ = false;  // DataPathUp was called; patch pending while set
  bool available_done_ = false;

  std::map<std::string, KubeNode> nodes_;            // every node, by name
  std::map<std::string, overlay::NodeLease> peers_;  // accepted, by node name
  std::vector<overlay::RejectedLease> rejected_;
  std::string rv_;  // resourceVersion to watch from
  bool listed_ = false;
  int lists_ = 0;
  std::unique_ptr<NodeWatch> watch_;
};

}  // namespace linen::kube

#endif  // LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_REGISTRY_H_
