#include "overlay/backend/backend.h"

#include "overlay/backend/host_gw.h"
#include "overlay/backend/vxlan.h"

namespace linen::overlay {

std::unique_ptr<Backend> NewBackend(cni::nl::Handle& handle, const LocalNode& node,
                                    LogSink log) {
  switch (node.cluster.backend) {
    case BackendType::kHostGw:
      return NewHostGwBackend(handle, node);
    case BackendType::kVxlan:
      return NewVxlanBackend(handle, node, std::move(log));
  }
  return nullptr;
}

std::string VxlanDeviceName(uint32_t vni) { return "linen." + std::to_string(vni); }

}  // namespace linen::overlay
