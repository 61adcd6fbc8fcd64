// resolv.conf -> the result's `dns`, with the reference's reading rules.
#ifndef LINEN_IPAM_HOST_LOCAL_RESOLV_CONF_H_
#define LINEN_IPAM_HOST_LOCAL_RESOLV_CONF_H_

#include <string>
#include <string_view>

#include "libcni/error.h"
#include "libcni/types.h"

namespace host_local {

// nameserver (one each), domain (last wins), search and options (all words
// appended). Comments (# ;) and lines with fewer than two words are skipped.
cni::Dns ParseResolvConfText(std::string_view text);
// Missing or unreadable file -> code 5 naming the path.
cni::Result<cni::Dns> ReadResolvConf(const std::string& path);

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_RESOLV_CONF_H_
