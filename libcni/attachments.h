// GC's list of attachments that are still in use, as the runtime passes it in the
// network config. One reader for every plugin that collects garbage.
#ifndef LINEN_LIBCNI_ATTACHMENTS_H_
#define LINEN_LIBCNI_ATTACHMENTS_H_

#include <string>
#include <vector>

#include "libcni/error.h"
#include "libcni/types.h"

namespace cni {

struct Attachment {
  std::string container_id;
  std::string ifname;  // "" when the runtime left it out
};

// `cni.dev/valid-attachments` (spec), or the older `cni.dev/attachments` (libcni
// before cni#1101) when the first is absent or null. Neither key -> an empty list:
// nothing is in use. Not a list, or an entry without a string containerID -> code 6.
Result<std::vector<Attachment>> ValidAttachments(const json& conf);

}  // namespace cni

#endif  // LINEN_LIBCNI_ATTACHMENTS_H_
