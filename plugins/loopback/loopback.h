// The loopback plugin: brings `lo` up in the container's namespace, as the
// reference plugin does. CNI_IFNAME is ignored (it is always `lo`).
#ifndef LINEN_PLUGINS_LOOPBACK_LOOPBACK_H_
#define LINEN_PLUGINS_LOOPBACK_LOOPBACK_H_

#include "libcni/error.h"
#include "libcni/skel.h"
#include "libcni/types.h"

namespace loopback {

// Sets lo up in args.netns. Result: interface lo (mac all zeros, sandbox = netns)
// with lo's first v4 and first v6 address, or prevResult unchanged when given.
cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args);
// Sets lo down. Idempotent: no netns, or a netns that is gone, is success.
cni::Status CmdDel(const cni::CmdArgs& args);
// Fails unless lo is administratively up.
cni::Status CmdCheck(const cni::CmdArgs& args);

}  // namespace loopback

#endif  // LINEN_PLUGINS_LOOPBACK_LOOPBACK_H_
