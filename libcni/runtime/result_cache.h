// The runtime's record of each attachment, in the reference libcni's format so that
// cnitool, containerd/CRI-O (through libcni) and linen can read each other's files:
//   <cache_dir>/results/<network>-<containerID>-<ifname>   (dir 0700, file 0600)
//   {"kind":"cniCacheV1","containerId","config":<base64 of the conflist bytes>,
//    "ifName","networkName","netns","cniArgs":[["K","V"]],"capabilityArgs":{},"result":{}}
// netns, cniArgs, capabilityArgs and result are omitted when empty, as Go's omitempty.
#ifndef LINEN_LIBCNI_RUNTIME_RESULT_CACHE_H_
#define LINEN_LIBCNI_RUNTIME_RESULT_CACHE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libcni/error.h"
#include "libcni/types.h"

namespace cni::runtime {

inline constexpr const char* kDefaultCacheDir = "/var/lib/cni";
inline constexpr const char* kCacheKindV1 = "cniCacheV1";

using CniArgPairs = std::vector<std::pair<std::string, std::string>>;

struct CacheEntry {
  bool legacy = false;  // an old file holding only the raw result
  std::string container_id;
  std::string ifname;
  std::string network_name;
  std::string netns;
  std::string config;  // raw conflist bytes (decoded from base64)
  CniArgPairs cni_args;
  json capability_args = json::object();
  std::optional<json> result;  // as the last plugin printed it (its own cniVersion)
};

// The file's bytes, fields in the reference's order.
std::string SerializeCacheEntry(const CacheEntry& e);
// A cniCacheV1 document, or (legacy) any other JSON object taken as a bare result.
Result<CacheEntry> ParseCacheEntry(std::string_view bytes);

class ResultCache {
 public:
  explicit ResultCache(std::string cache_dir = kDefaultCacheDir) : dir_(std::move(cache_dir)) {}
  const std::string& dir() const { return dir_; }

  // All three parts must be non-empty (code 4 otherwise, naming them).
  Result<std::string> FilePath(std::string_view network, std::string_view container_id,
                               std::string_view ifname) const;
  // Temp file + fsync + rename, so a reader never sees half a file.
  Status Write(const CacheEntry& e) const;
  // nullopt when there is no file (not an error: no prevResult). A file that cannot be
  // parsed is an error (code 6) naming it.
  Result<std::optional<CacheEntry>> Read(std::string_view network, std::string_view container_id,
                                         std::string_view ifname) const;
  Status Remove(std::string_view network, std::string_view container_id,
                std::string_view ifname) const;  // absent is success
  // Every readable cniCacheV1 entry (optionally of one container), sorted by file name;
  // unreadable, legacy or incomplete files are skipped, as libcni does.
  std::vector<CacheEntry> List(std::string_view container_id = "") const;

 private:
  std::string dir_;
};

}  // namespace cni::runtime

#endif  // LINEN_LIBCNI_RUNTIME_RESULT_CACHE_H_
