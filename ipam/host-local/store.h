// Where host-local keeps its reservations. The allocator is pure policy over this
// interface; DiskStore is the real one (reference-compatible files), FakeStore the
// in-memory one for unit tests.
#ifndef LINEN_IPAM_HOST_LOCAL_STORE_H_
#define LINEN_IPAM_HOST_LOCAL_STORE_H_

#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/error.h"
#include "libcni/ip_net.h"

namespace host_local {

// One reserved address and the owner text stored for it, whitespace-trimmed:
// "<containerID>\r\n<ifname>", or just "<containerID>" in files written by old
// reference versions.
struct Reservation {
  cni::IpAddr ip;
  std::string owner;
};

// The owner text for (id, ifname), exactly as the reference writes it.
std::string OwnerKey(std::string_view id, std::string_view ifname);
// The reference's matching rule: the full key, or the bare ID of a legacy file.
bool OwnedBy(const Reservation& r, std::string_view id, std::string_view ifname);
// Splits an owner text into (id, ifname); ifname is empty for legacy files.
std::pair<std::string, std::string> SplitOwner(std::string_view owner);
// Go's strings.TrimSpace for the ASCII whitespace the files can hold.
std::string_view TrimSpace(std::string_view s);

class Store {
 public:
  virtual ~Store() = default;

  // Exclusive across processes (flock on <dir>/lock for DiskStore). Not re-entrant.
  virtual cni::Status Lock() = 0;
  virtual void Unlock() = 0;

  // Atomically reserves `ip` for (id, ifname): true if it was free and is now ours,
  // false if someone holds it. Records it as the range set's last reserved address.
  virtual cni::Result<bool> Reserve(std::string_view id, std::string_view ifname,
                                    const cni::IpAddr& ip, int range_id) = 0;
  // The last address Reserve recorded for this range set; nullopt when none or
  // unreadable (round robin then restarts at the range start, as the reference).
  virtual std::optional<cni::IpAddr> LastReservedIp(int range_id) = 0;
  // Every reservation. Cost is proportional to the number of reservations.
  virtual cni::Result<std::vector<Reservation>> List() = 0;
  // Frees one address; freeing a free address is success.
  virtual cni::Status Release(const cni::IpAddr& ip) = 0;

  // Like List() but safe WITHOUT the lock: it changes nothing (no clean-up of a dead
  // writer's temp files), and a file created or removed meanwhile may or may not be in it.
  virtual cni::Result<std::vector<Reservation>> Scan() { return List(); }
  // The trimmed owner text of one address; nullopt if it is free.
  virtual cni::Result<std::optional<std::string>> Owner(const cni::IpAddr& ip);

  // An owner -> addresses index, so that ADD and DEL read a file or two instead of
  // every reservation (their cost then does not grow with the pods on the node).
  // A hint only: entries are checked against the address files (HeldPerIndex), and
  // an owner without one (reserved by the reference plugin, or by a process killed
  // before writing it) is found by a scan. Stores without an index keep the defaults.
  virtual bool has_index() const { return false; }
  // True when the index names every reservation: it was complete when last marked
  // (MarkIndexCurrent) and nobody has added or removed a file since (the reference
  // plugin keeps no index). Then an owner the index does not know holds nothing,
  // and ADD need not read every file. Caller holds the lock.
  virtual bool IndexCurrent() { return false; }
  // The caller holds the lock and knows the index names every reservation.
  virtual void MarkIndexCurrent() {}
  // nullopt: no entry for (id, ifname).
  virtual std::optional<std::vector<cni::IpAddr>> Indexed(std::string_view id,
                                                          std::string_view ifname) {
    return std::nullopt;
  }
  // Best effort: false leaves the owner to be found by a scan.
  virtual bool Index(std::string_view id, std::string_view ifname,
                     const std::vector<cni::IpAddr>& ips) {
    return false;
  }
  virtual void Unindex(std::string_view id, std::string_view ifname) {}
  // Drops entries none of whose addresses is still held by their owner (GC).
  virtual void PruneIndex() {}
};

// Whether the index names every reservation of `all` (a listing made under the lock).
bool IndexCovers(Store& store, const std::vector<Reservation>& all);

// The addresses the index names for (id, ifname) that the address files confirm
// are (still) theirs; nullopt when the index has nothing to say (no index, no
// entry, or no address confirmed), and the caller must scan.
cni::Result<std::optional<std::vector<cni::IpAddr>>> HeldPerIndex(Store& store,
                                                                  std::string_view id,
                                                                  std::string_view ifname);

// Holds Store::Lock() for a scope.
class StoreLock {
 public:
  static cni::Result<StoreLock> Acquire(Store& store);
  StoreLock(StoreLock&& o) noexcept : store_(std::exchange(o.store_, nullptr)) {}
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  StoreLock& operator=(StoreLock&&) = delete;
  ~StoreLock() {
    if (store_) store_->Unlock();
  }

 private:
  explicit StoreLock(Store* s) : store_(s) {}
  Store* store_;
};

// DEL's semantics on any store: frees every address whose owner is (id, ifname);
// when there is none, frees the legacy ID-only ones, as the reference does. Missing
// is success. Caller holds the lock.
cni::Status ReleaseById(Store& store, std::string_view id, std::string_view ifname);
// The same result as ReleaseById under Lock(), but the directory is scanned before
// the lock is taken and only the candidates' owners are re-read under it, so parallel
// DELs hold the lock for a few file operations each instead of a full scan. Takes and
// releases the lock itself (none when there is nothing to free).
cni::Status ReleaseByIdPrescan(Store& store, std::string_view id, std::string_view ifname);
// The addresses held by (id, ifname), legacy ID-only files included.
cni::Result<std::vector<cni::IpAddr>> GetById(Store& store, std::string_view id,
                                              std::string_view ifname);

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_STORE_H_
