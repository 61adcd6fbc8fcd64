// Builds the registry --registry names: etcd (EtcdRegistry), file (static topology
// watched with inotify) or kubernetes (KubeRegistry: kubeconfig or in-cluster).
#ifndef LINEN_AGENT_REGISTRY_FACTORY_H_
#define LINEN_AGENT_REGISTRY_FACTORY_H_

#include <memory>

#include "agent/options.h"
#include "libcni/error.h"
#include "overlay/registry/registry.h"

namespace linen::agent {

cni::Result<std::unique_ptr<overlay::Registry>> MakeRegistry(const Options& opts);

}  // namespace linen::agent

#endif  // LINEN_AGENT_REGISTRY_FACTORY_H_
