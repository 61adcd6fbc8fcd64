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

std::string_view PeerFailureName(PeerFailureReason r) {
  switch (r) {
    case PeerFailureReason::kForeignRoute: return "foreign_route";
    case PeerFailureReason::kNotOnLink: return "not_on_link";
    case PeerFailureReason::kNoVtepMac: return "no_vtep_mac";
    case PeerFailureReason::kKernelRefused: return "kernel_refused";
    case PeerFailureReason::kDeleteRefused: return "delete_refused";
  }
  return "unknown";
}

cni::Status FailuresAsError(const std::vector<PeerFailure>& failures) {
  if (failures.empty()) return cni::OkStatus();
  const PeerFailure& f = failures.front();
  std::string msg = f.detail;
  if (failures.size() > 1) {
    msg += " (and " + std::to_string(failures.size() - 1) + " more peer failure" +
           (failures.size() > 2 ? "s" : "") + ")";
  }
  return cni::Error(f.code, msg);
}

}  // namespace linen::overlay
