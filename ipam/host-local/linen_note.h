// An ELF note that marks an executable as linen's host-local. linen's bridge looks
// for it in the first page of the host-local CNI_PATH resolves to and, when found,
// runs host-local's code in its own process instead of exec'ing the same code
// (plugins/bridge/ipam_exec.cc). Any other host-local (the reference's) lacks it and
// is exec'd. The protocol number changes if in-process and exec'd ever differ.
#ifndef LINEN_IPAM_HOST_LOCAL_LINEN_NOTE_H_
#define LINEN_IPAM_HOST_LOCAL_LINEN_NOTE_H_

#include <cstdint>

namespace host_local {

// Searched for as bytes; unique enough not to occur by chance in a file's first page.
inline constexpr char kInProcessMarker[] = "linen.host-local.inprocess.v1";

struct LinenNote {
  uint32_t namesz = 6;  // "linen" + NUL
  uint32_t descsz = sizeof(kInProcessMarker);
  uint32_t type = 1;
  char name[8] = "linen";
  char desc[(sizeof(kInProcessMarker) + 3) / 4 * 4] = {};
};

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_LINEN_NOTE_H_
