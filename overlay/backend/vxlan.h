// vxlan: pod traffic to peers is encapsulated through the VTEP device linen.<VNI>.
#ifndef LINEN_OVERLAY_BACKEND_VXLAN_H_
#define LINEN_OVERLAY_BACKEND_VXLAN_H_

#include <memory>

#include "overlay/backend/backend.h"

namespace linen::overlay {

std::unique_ptr<Backend> NewVxlanBackend(cni::nl::Handle& h, const LocalNode& node,
                                         LogSink log);

}  // namespace linen::overlay

#endif  // LINEN_OVERLAY_BACKEND_VXLAN_H_
