#include "ipam/host-local/gc.h"

#include <string>

namespace host_local {

cni::Result<size_t> CollectGarbage(Store& store, const std::vector<Attachment>& valid) {
  auto lock = StoreLock::Acquire(store);
  if (!lock) return lock.error();
  auto all = store.List();
  if (!all) return all.error();
  size_t freed = 0;
  std::string failures;
  for (const Reservation& r : *all) {
    const auto [id, ifname] = SplitOwner(r.owner);
    bool keep = false;
    for (const Attachment& a : valid) {
      // A legacy file names no interface: any attachment of that container keeps it.
      if (a.container_id == id && (ifname.empty() || a.ifname == ifname)) {
        keep = true;
        break;
      }
    }
    if (keep) continue;
    if (auto s = store.Release(r.ip); !s) {
      failures += (failures.empty() ? "" : "; ") + s.error().msg();
      continue;
    }
    ++freed;
  }
  store.PruneIndex();
  if (!failures.empty()) {
    return cni::Error(cni::Code::kIoFailure, "gc: some reservations could not be freed: " + failures);
  }
  return freed;
}

cni::Status CheckStatus(Store& store, const std::vector<RangeSet>& sets, std::string_view network) {
  auto lock = StoreLock::Acquire(store);
  if (!lock) return lock.error();
  auto all = store.List();
  if (!all) return all.error();
  std::string exhausted;
  for (size_t i = 0; i < sets.size(); ++i) {
    unsigned __int128 used = 0;
    for (const Reservation& r : *all) {
      const Range* range = sets[i].RangeFor(r.ip);
      if (range && !range->IsReserved(r.ip)) ++used;
    }
    if (used >= sets[i].Capacity()) {
      exhausted += (exhausted.empty() ? "" : ", ") + std::to_string(i) + " (" +
                   sets[i].ToString() + ")";
    }
  }
  if (!exhausted.empty()) {
    return cni::Error(cni::Code::kNotAvailable,
                      "network \"" + std::string(network) +
                          "\": no IP addresses available in range set " + exhausted);
  }
  return cni::OkStatus();
}

}  // namespace host_local
