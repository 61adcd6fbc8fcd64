// host-local's configuration: the `ipam` object of the network config plus the
// requested addresses from CNI_ARGS, args and runtimeConfig, validated up front so
// nothing is reserved for a config that cannot work.
#ifndef LINEN_IPAM_HOST_LOCAL_CONFIG_H_
#define LINEN_IPAM_HOST_LOCAL_CONFIG_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ipam/host-local/range_set.h"
#include "libcni/attachments.h"
#include "libcni/error.h"
#include "libcni/types.h"

namespace host_local {

inline constexpr const char* kDefaultDataDir = "/var/lib/cni/networks";

struct IpamConfig {
  std::string name;         // network name: the store lives in <data_dir>/<name>
  std::string cni_version;
  std::vector<RangeSet> ranges;  // one address per set; index = last_reserved_ip.<index>
  std::vector<cni::Route> routes;
  std::string data_dir = kDefaultDataDir;
  std::string resolv_conf;
  // CNI_ARGS IP=, then args.cni.ips, then runtimeConfig.ips.
  std::vector<cni::IpAddr> requested;
};

// Builds the config the way the reference's LoadIPAMConfig does: runtimeConfig.ipRanges
// first, then the legacy top-level range of `ipam` (if it has a subnet), then
// `ipam.ranges`. JSON syntax or type errors -> code 6; anything semantically wrong
// (bad CIDR, range outside subnet, overlaps, no ranges) -> code 7, naming the value.
// `cni_args` is the parsed CNI_ARGS; only IP is read, other keys are ignored.
cni::Result<IpamConfig> LoadIpamConfig(std::string_view stdin_data,
                                       const std::map<std::string, std::string>& cni_args);

// ADD only (DEL with the same CNI_ARGS must still clean up): every requested address
// lies in some range set, else code 7 naming them. Checked before the store is
// opened, so a request that can never be met leaves no directory, lock or cursor.
cni::Status ValidateRequested(const IpamConfig& conf);

// GC's list of attachments still in use (libcni/attachments.h) from stdin.
using Attachment = cni::Attachment;
cni::Result<std::vector<Attachment>> ParseValidAttachments(std::string_view stdin_data);

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_CONFIG_H_
