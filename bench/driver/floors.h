// The floors every plugin figure is compared with, measured in the same run:
// exec of /bin/true and of one `ip` command (the cheapest possible ADD is one exec),
// the kernel's own time to set up a pod (exec + that is the least an ADD can take),
// and the kernel's own time to delete a pod's veth, through netlink and through
// `ip link del` (no DEL can be faster than the delete it has to do).
#ifndef LINEN_BENCH_DRIVER_FLOORS_H_
#define LINEN_BENCH_DRIVER_FLOORS_H_

#include <optional>

#include "libcni/error.h"
#include "libcni/netlink/handle.h"
#include "test/support/test_support.h"

namespace linen::bench {

class Floors {
 public:
  // A node namespace with a bridge and a pod namespace, as the plugins see them.
  static cni::Result<Floors> Create();

  cni::Result<double> TrueExec();
  cni::Result<double> IpExec();             // `ip link show lo` inside the node
  // The kernel's part of a pod's ADD, in process (no exec): the veth into the pod,
  // its host end on the bridge and up, the pod's address, link and default route.
  // With an exec this is the least any exec'd plugin can take (the veth is removed
  // again, untimed).
  cni::Result<double> PodSetupNetlink();
  cni::Result<double> VethDeleteNetlink();  // one RTM_DELLINK of the pod end
  cni::Result<double> VethDeleteIp();       // `ip link del eth0` inside the pod
  // `n` pods' veths deleted at once, one forked process each (one RTM_DELLINK in
  // its pod), as n parallel DELs must at least do: wall ms, first fork to last reap.
  cni::Result<double> ParallelVethDelete(int n);

 private:
  Floors(test::TempNetns node, test::TempNetns pod, cni::nl::Handle node_h,
         cni::nl::Handle pod_h, int bridge)
      : node_(std::move(node)), pod_(std::move(pod)), node_h_(std::move(node_h)),
        pod_h_(std::move(pod_h)), bridge_(bridge) {}
  // A veth like a plugin makes (host end on the bridge, both up), untimed.
  cni::Status MakePodVeth();
  cni::Status MakePodVethIn(const test::TempNetns& pod, cni::nl::Handle& pod_h,
                            const std::string& host_name);

  test::TempNetns node_, pod_;
  cni::nl::Handle node_h_, pod_h_;
  int bridge_ = 0;
};

}  // namespace linen::bench

#endif  // LINEN_BENCH_DRIVER_FLOORS_H_
