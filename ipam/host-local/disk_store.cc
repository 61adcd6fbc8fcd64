#include "ipam/host-local/disk_store.h"

#include "libcni/sha512.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libcni/sys/fd.h"
#include "libcni/sys/file.h"

namespace host_local {
namespace {

DiskStoreFaults g_faults;

void FaultPoint(const char* point) {
  if (g_faults.at != nullptr) g_faults.at(point);
}

// Small files only: owner texts and cursors are tens of bytes.
cni::Result<std::string> ReadSmall(int dir_fd, const char* name) {
  int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return cni::ErrnoError(std::string("open ") + name, errno);
  std::string out;
  char buf[512];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return cni::ErrnoError(std::string("read ") + name, err);
    }
    out.append(buf, static_cast<size_t>(n));
    // A short read of a regular file is its end: ADD reads every owner file, so
    // the read() that would return 0 is skipped.
    if (static_cast<size_t>(n) < sizeof buf || out.size() > 4096) break;
  }
  close(fd);
  return out;
}

// <dataDir>/<network>. The network name becomes a path component; never let it
// climb out of dataDir.
cni::Result<std::string> StoreDir(const std::string& data_dir, const std::string& network) {
  if (network.empty() || network == "." || network == ".." ||
      network.find('/') != std::string::npos) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "network name \"" + network + "\" cannot be used as a directory name");
  }
  return (data_dir.empty() ? std::string("/var/lib/cni/networks") : data_dir) + "/" + network;
}

}  // namespace

void SetDiskStoreFaults(const DiskStoreFaults& faults) { g_faults = faults; }

cni::Result<std::unique_ptr<DiskStore>> DiskStore::Open(const std::string& data_dir,
                                                        const std::string& network) {
  auto dir_or = StoreDir(data_dir, network);
  if (!dir_or) return dir_or.error();
  const std::string& dir = *dir_or;
  if (auto s = cni::MakeDirs(dir); !s) return s.error().Context("data directory");
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return cni::ErrnoError("open data directory " + dir, errno);
  int lock_fd = openat(dir_fd, kLockFileName, O_CREAT | O_RDONLY | O_CLOEXEC, 0750);
  if (lock_fd < 0) {
    int err = errno;
    close(dir_fd);
    return cni::ErrnoError("open lock file " + dir + "/" + kLockFileName, err);
  }
  return std::unique_ptr<DiskStore>(new DiskStore(dir, dir_fd, lock_fd));
}

cni::Result<std::unique_ptr<DiskStore>> DiskStore::OpenExisting(const std::string& data_dir,
                                                                const std::string& network) {
  auto dir_or = StoreDir(data_dir, network);
  if (!dir_or) return dir_or.error();
  const std::string& dir = *dir_or;
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    if (errno == ENOENT) return std::unique_ptr<DiskStore>();
    return cni::ErrnoError("open data directory " + dir, errno);
  }
  // Every writer (ours and the reference's) creates the lock before its first
  // reservation, so a directory without one holds nothing we may touch.
  int lock_fd = openat(dir_fd, kLockFileName, O_RDONLY | O_CLOEXEC);
  if (lock_fd < 0) {
    int err = errno;
    close(dir_fd);
    if (err == ENOENT) return std::unique_ptr<DiskStore>();
    return cni::ErrnoError("open lock file " + dir + "/" + kLockFileName, err);
  }
  return std::unique_ptr<DiskStore>(new DiskStore(dir, dir_fd, lock_fd));
}

DiskStore::~DiskStore() {
  close(lock_fd_);  // also drops the flock if still held
  close(dir_fd_);
}

cni::Status DiskStore::Lock() {
  if (cni::RetryEintr([&] { return flock(lock_fd_, LOCK_EX); }) < 0) {
    return cni::ErrnoError("lock " + dir_ + "/" + kLockFileName, errno);
  }
  return cni::OkStatus();
}

void DiskStore::Unlock() { cni::RetryEintr([&] { return flock(lock_fd_, LOCK_UN); }); }

cni::Result<bool> DiskStore::LinkNew(const std::string& name, std::string_view content) {
  int fd = -1;
  if (g_faults.no_tmpfile) {
    errno = EOPNOTSUPP;
  } else {
    fd = openat(dir_fd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  }
  if (fd >= 0) {
    if (auto s = cni::WriteAll(fd, content, dir_ + "/" + name); !s) {
      close(fd);
      return s.error();
    }
    FaultPoint("before-link");
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    int rc = linkat(AT_FDCWD, proc.c_str(), dir_fd_, name.c_str(), AT_SYMLINK_FOLLOW);
    if (rc < 0 && errno == ENOENT) {
      // No /proc: AT_EMPTY_PATH does the same (needs CAP_DAC_READ_SEARCH).
      rc = linkat(fd, "", dir_fd_, name.c_str(), AT_EMPTY_PATH);
    }
    int err = errno;
    close(fd);
    if (rc == 0) return true;
    if (err == EEXIST) return false;
    return cni::ErrnoError("reserve " + dir_ + "/" + name, err);
  }
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return cni::ErrnoError("reserve " + dir_ + "/" + name, errno);
  }
  // Filesystem without O_TMPFILE: a named temp file, linked into place. We hold the
  // lock, so a temp file seen by List() later is a dead writer's and is removed there.
  const std::string tmp = std::string(kTempPrefix) + name + "." + std::to_string(getpid());
  unlinkat(dir_fd_, tmp.c_str(), 0);
  fd = openat(dir_fd_, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return cni::ErrnoError("create " + dir_ + "/" + tmp, errno);
  auto s = cni::WriteAll(fd, content, dir_ + "/" + tmp);
  close(fd);
  if (!s) {
    unlinkat(dir_fd_, tmp.c_str(), 0);
    return s.error();
  }
  FaultPoint("before-link");
  int rc = linkat(dir_fd_, tmp.c_str(), dir_fd_, name.c_str(), 0);
  int err = errno;
  unlinkat(dir_fd_, tmp.c_str(), 0);
  if (rc == 0) return true;
  if (err == EEXIST) return false;
  return cni::ErrnoError("reserve " + dir_ + "/" + name, err);
}

cni::Result<bool> DiskStore::Reserve(std::string_view id, std::string_view ifname,
                                     const cni::IpAddr& ip, int range_id) {
  auto linked = LinkNew(ip.ToString(), OwnerKey(id, ifname));
  if (!linked || !*linked) return linked;
  FaultPoint("after-reserve");
  // The cursor is only a hint (a torn one restarts round robin at the range start),
  // so it is rewritten in place without fsync. Not with O_TRUNC: on ext4 truncating
  // a file that has data forces a flush (auto_da_alloc) and costs milliseconds per
  // ADD; overwrite, then cut the tail only when the old text was longer.
  const std::string cursor = kLastReservedPrefix + std::to_string(range_id);
  const std::string text = ip.ToString();
  int fd = openat(dir_fd_, cursor.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    (void)Release(ip);
    return cni::ErrnoError("write " + dir_ + "/" + cursor, err);
  }
  auto s = cni::WriteAll(fd, text, dir_ + "/" + cursor);
  struct stat st;
  if (s && fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(text.size()) &&
      ftruncate(fd, static_cast<off_t>(text.size())) < 0) {
    s = cni::ErrnoError("truncate " + dir_ + "/" + cursor, errno);
  }
  close(fd);
  if (!s) {
    // Nothing half-made: the caller sees a failure, so the address must be free.
    (void)Release(ip);
    return s.error();
  }
  return true;
}

std::optional<cni::IpAddr> DiskStore::LastReservedIp(int range_id) {
  const std::string cursor = kLastReservedPrefix + std::to_string(range_id);
  auto text = ReadSmall(dir_fd_, cursor.c_str());
  if (!text) return std::nullopt;
  return cni::IpAddr::Parse(TrimSpace(*text));
}

cni::Result<std::vector<Reservation>> DiskStore::List() { return ReadAll(true); }

cni::Result<std::vector<Reservation>> DiskStore::Scan() { return ReadAll(false); }

cni::Result<std::optional<std::string>> DiskStore::Owner(const cni::IpAddr& ip) {
  const std::string name = ip.ToString();
  auto content = ReadSmall(dir_fd_, name.c_str());
  if (!content) return std::optional<std::string>();
  return std::optional<std::string>(std::string(TrimSpace(*content)));
}

cni::Result<std::vector<Reservation>> DiskStore::ReadAll(bool remove_temp) {
  int fd = dup(dir_fd_);
  if (fd < 0) return cni::ErrnoError("open data directory " + dir_, errno);
  DIR* d = fdopendir(fd);
  if (!d) {
    int err = errno;
    close(fd);
    return cni::ErrnoError("open data directory " + dir_, err);
  }
  rewinddir(d);  // the dup shares the offset with dir_fd_; start from the top
  std::vector<Reservation> out;
  while (dirent* e = readdir(d)) {
    const char* name = e->d_name;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    if (std::strncmp(name, kTempPrefix, std::strlen(kTempPrefix)) == 0) {
      if (remove_temp) unlinkat(dir_fd_, name, 0);
      continue;
    }
    // Only canonical address names are reservations; `lock`, the cursors and
    // anything else an operator left here are not.
    auto ip = cni::IpAddr::Parse(name);
    if (!ip || ip->ToString() != name) continue;
    auto content = ReadSmall(dir_fd_, name);
    if (!content) continue;  // vanished or unreadable: the reference skips it too
    out.push_back({*ip, std::string(TrimSpace(*content))});
  }
  closedir(d);
  return out;
}

namespace {

// Beside the store, not in it: the store's directory stays byte-for-byte what the
// reference writes (tools and tests that list it see no difference).
constexpr const char* kIndexSuffix = ".linen-ids";

std::string IndexFile(std::string_view id, std::string_view ifname) {
  return cni::HexPrefix(cni::Sha512(OwnerKey(id, ifname)), 32);
}

struct IndexEntry {
  std::string id, ifname;
  std::vector<cni::IpAddr> ips;
};

std::optional<IndexEntry> ParseIndex(const std::string& text) {
  IndexEntry e;
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() < 2) return std::nullopt;
  e.id = lines[0];
  e.ifname = lines[1];
  for (size_t i = 2; i < lines.size(); ++i) {
    if (auto ip = cni::IpAddr::Parse(lines[i])) e.ips.push_back(*ip);
  }
  return e;
}

}  // namespace

std::optional<std::vector<cni::IpAddr>> DiskStore::Indexed(std::string_view id,
                                                           std::string_view ifname) {
  const std::string path = dir_ + kIndexSuffix + "/" + IndexFile(id, ifname);
  auto text = ReadSmall(AT_FDCWD, path.c_str());
  if (!text) return std::nullopt;
  auto e = ParseIndex(*text);
  // A hash collision or a torn file: no answer, the caller scans.
  if (!e || e->id != id || e->ifname != ifname) return std::nullopt;
  return e->ips;
}

bool DiskStore::Index(std::string_view id, std::string_view ifname,
                      const std::vector<cni::IpAddr>& ips) {
  std::string text = std::string(id) + "\n" + std::string(ifname) + "\n";
  for (const cni::IpAddr& ip : ips) text += ip.ToString() + "\n";
  const std::string dir = dir_ + kIndexSuffix;
  if (mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return false;
  const std::string name = dir + "/" + IndexFile(id, ifname);
  const std::string tmp = dir + "/." + IndexFile(id, ifname) + "." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  auto s = cni::WriteAll(fd, text, tmp);
  close(fd);
  // Not fsynced: a lost entry only costs the next DEL a scan.
  if (!s || rename(tmp.c_str(), name.c_str()) < 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

void DiskStore::Unindex(std::string_view id, std::string_view ifname) {
  unlink((dir_ + kIndexSuffix + "/" + IndexFile(id, ifname)).c_str());
}

std::string DiskStore::DirStamp() const {
  struct stat st;
  if (fstat(dir_fd_, &st) < 0) return "";
  // ctime changes with every entry added or removed; reading it makes the kernel
  // give the next change a distinct (fine-grained) time.
  return std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

void DiskStore::WriteStamp() {
  const std::string stamp = DirStamp();
  const std::string path = dir_ + kIndexSuffix + "/stamp";
  const std::string tmp = path + "." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  auto s = cni::WriteAll(fd, stamp, tmp);
  close(fd);
  if (!s || stamp.empty() || rename(tmp.c_str(), path.c_str()) < 0) unlink(tmp.c_str());
}

bool DiskStore::IndexCurrent() {
  auto recorded = ReadSmall(AT_FDCWD, (dir_ + kIndexSuffix + "/stamp").c_str());
  return recorded && !recorded->empty() && *recorded == DirStamp();
}

void DiskStore::PruneIndex() {
  const std::string dir = dir_ + kIndexSuffix;
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    const std::string base = e->d_name;
    if (base == "." || base == ".." || base == "stamp") continue;
    const std::string name = dir + "/" + base;
    auto text = ReadSmall(AT_FDCWD, name.c_str());
    std::optional<IndexEntry> entry;
    if (text) entry = ParseIndex(*text);
    bool live = false;
    if (entry) {
      const std::string key = OwnerKey(entry->id, entry->ifname);
      for (const cni::IpAddr& ip : entry->ips) {
        auto owner = Owner(ip);
        live = live || (owner && *owner && **owner == key);
      }
    }
    // Temp files of a killed writer are stale too.
    if (!live) stale.push_back(name);
  }
  closedir(d);
  for (const std::string& n : stale) unlink(n.c_str());
}

cni::Status DiskStore::Release(const cni::IpAddr& ip) {
  const std::string name = ip.ToString();
  if (unlinkat(dir_fd_, name.c_str(), 0) < 0 && errno != ENOENT) {
    return cni::ErrnoError("release " + dir_ + "/" + name, errno);
  }
  return cni::OkStatus();
}

}  // namespace host_local
