#include "agent/registry_factory.h"

#include <cstdlib>

#include "overlay/registry/etcd/etcd_registry.h"
#include "overlay/registry/kubernetes/kube_registry.h"
#include "overlay/registry/static_registry.h"

namespace linen::agent {

cni::Result<std::unique_ptr<overlay::Registry>> MakeRegistry(const Options& opts) {
  if (opts.registry == "file") {
    auto r = overlay::StaticRegistry::FromFile(opts.topology);
    if (!r) return r.error();
    return std::unique_ptr<overlay::Registry>(std::move(*r));
  }
  if (opts.registry == "kubernetes") {
    kube::RegistryOptions ko;
    auto client = opts.kubeconfig.empty()
                      ? kube::InClusterConfig([](const char* k) { return std::getenv(k); },
                                              kube::kServiceAccountDir)
                      : kube::LoadKubeconfig(opts.kubeconfig);
    if (!client) return client.error();
    ko.client = *client;
    ko.node_name = opts.node_name;
    ko.net_config_path = opts.net_config_path;
    ko.annotation_prefix = opts.kube_annotation_prefix;
    auto r = kube::KubeRegistry::Create(ko);
    if (!r) return r.error();
    return std::unique_ptr<overlay::Registry>(std::move(*r));
  }
  etcd::RegistryOptions ro;
  ro.client.endpoints = opts.etcd_endpoints;
  ro.client.ca_file = opts.etcd_cafile;
  ro.client.cert_file = opts.etcd_certfile;
  ro.client.key_file = opts.etcd_keyfile;
  ro.client.username = opts.etcd_username;
  ro.client.password = opts.etcd_password;
  ro.prefix = opts.etcd_prefix;
  ro.lease_ttl = opts.lease_ttl;
  auto r = etcd::EtcdRegistry::Create(ro);
  if (!r) return r.error();
  return std::unique_ptr<overlay::Registry>(std::move(*r));
}

}  // namespace linen::agent
