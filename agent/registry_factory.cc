#include "agent/registry_factory.h"

#include "overlay/registry/etcd/etcd_registry.h"
#include "overlay/registry/static_registry.h"

namespace linen::agent {

cni::Result<std::unique_ptr<overlay::Registry>> MakeRegistry(const Options& opts) {
  if (opts.registry == "file") {
    auto r = overlay::StaticRegistry::FromFile(opts.topology);
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
