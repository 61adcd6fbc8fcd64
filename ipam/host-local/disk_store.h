// The reference-compatible on-disk store: <dataDir>/<network>/ holds one file per
// reserved address named by its text ("10.1.0.5", "fd00::5") with content
// "<containerID>\r\n<ifname>", the round-robin cursors last_reserved_ip.<set index>,
// and `lock`, flock'ed by every process touching the directory (ours and the Go
// reference alike), so the two can share one dataDir.
#ifndef LINEN_IPAM_HOST_LOCAL_DISK_STORE_H_
#define LINEN_IPAM_HOST_LOCAL_DISK_STORE_H_

#include <memory>
#include <string>

#include "ipam/host-local/store.h"

namespace host_local {

class DiskStore : public Store {
 public:
  // Creates <data_dir>/<network> (0755, parents too) and the lock file (0750, the
  // mode the reference's go-filemutex uses). I/O failures -> code 5.
  static cni::Result<std::unique_ptr<DiskStore>> Open(const std::string& data_dir,
                                                      const std::string& network);
  // For DEL, CHECK, GC and STATUS, which must not create state: opens the store
  // only if <data_dir>/<network>/lock already exists, creating nothing. A missing
  // directory or lock file means nothing was ever reserved: returns nullptr.
  static cni::Result<std::unique_ptr<DiskStore>> OpenExisting(const std::string& data_dir,
                                                              const std::string& network);
  ~DiskStore() override;
  DiskStore(const DiskStore&) = delete;
  DiskStore& operator=(const DiskStore&) = delete;

  cni::Status Lock() override;
  void Unlock() override;
  // The file appears complete or not at all: the owner text is written to an
  // unnamed O_TMPFILE inode which is then link()ed to the address's name, which
  // fails with EEXIST exactly like the reference's O_CREAT|O_EXCL. A process killed
  // at any point leaves no empty or partial reservation file.
  cni::Result<bool> Reserve(std::string_view id, std::string_view ifname, const cni::IpAddr& ip,
                            int range_id) override;
  std::optional<cni::IpAddr> LastReservedIp(int range_id) override;
  // Reads every address file. Leftover temp files of a killed writer (only made when
  // the filesystem lacks O_TMPFILE) are removed on the way; call with the lock held.
  cni::Result<std::vector<Reservation>> List() override;
  cni::Status Release(const cni::IpAddr& ip) override;
  // Lock-free read-only listing (temp files are skipped, not removed).
  cni::Result<std::vector<Reservation>> Scan() override;
  // One file read instead of a directory scan.
  cni::Result<std::optional<std::string>> Owner(const cni::IpAddr& ip) override;

  // The index: <dataDir>/<network>.linen-ids/<32 hex of SHA-512(owner)>, holding the
  // container ID, the ifname and the addresses, a line each; rewritten by rename.
  // Current while the store directory's change time is the one recorded (in
  // <network>.linen-ids/stamp) when the index was last written under the lock.
  bool has_index() const override { return true; }
  bool IndexCurrent() override;
  void MarkIndexCurrent() override { WriteStamp(); }
  std::optional<std::vector<cni::IpAddr>> Indexed(std::string_view id,
                                                  std::string_view ifname) override;
  bool Index(std::string_view id, std::string_view ifname,
             const std::vector<cni::IpAddr>& ips) override;
  void Unindex(std::string_view id, std::string_view ifname) override;
  void PruneIndex() override;

  const std::string& dir() const { return dir_; }

 private:
  DiskStore(std::string dir, int dir_fd, int lock_fd)
      : dir_(std::move(dir)), dir_fd_(dir_fd), lock_fd_(lock_fd) {}
  cni::Result<bool> LinkNew(const std::string& name, std::string_view content);
  cni::Result<std::vector<Reservation>> ReadAll(bool remove_temp);
  // The store directory's ctime as text, "" if it cannot be read.
  std::string DirStamp() const;
  void WriteStamp();
  std::string dir_;
  int dir_fd_;
  int lock_fd_;
};

// Fault injection for the crash tests, which run host-local-faults (a test-only build
// of main.cc); nothing in the shipped plugin sets it.
struct DiskStoreFaults {
  // Called at "before-link" (owner text written, not yet visible) and "after-reserve"
  // (address file in place, cursor and result not yet written); the tests SIGKILL
  // there, which a kill from outside could not time.
  void (*at)(const char* point) = nullptr;
  // Takes the path of filesystems without O_TMPFILE, so that path is tested too.
  bool no_tmpfile = false;
};
void SetDiskStoreFaults(const DiskStoreFaults& faults);

// Name prefixes the store owns besides address files.
inline constexpr const char* kLastReservedPrefix = "last_reserved_ip.";
inline constexpr const char* kLockFileName = "lock";
inline constexpr const char* kTempPrefix = ".linen-tmp.";

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_DISK_STORE_H_
