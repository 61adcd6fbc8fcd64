// Files and directories: the one mkdir -p, write-all and atomic replace of linen.
#ifndef LINEN_LIBCNI_SYS_FILE_H_
#define LINEN_LIBCNI_SYS_FILE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "libcni/sys/error.h"

namespace cni {

// The directory part of `path` as dirname(1) sees it for the paths we build:
// "a/b" -> "a", "/a" -> "/", "a" -> ".".
std::string DirName(std::string_view path);
// The part after the last '/': "a/b" -> "b", "a" -> "a".
std::string BaseName(std::string_view path);

// mkdir -p: creates the missing directories of `dir` with `mode` (under the umask).
// Existing directories are fine and keep their mode; an existing non-directory on
// the way is an error (code 5), as is any mkdir failure, naming the directory.
Status MakeDirs(const std::string& dir, mode_t mode = 0755);

// The whole of the file at `path`, read with plain read(2). Not std::ifstream: the
// first stream a static binary opens sets up the locale machinery, ~45 us of every
// exec'd plugin's run. Errors are `code` (ENOENT with Cause::kNotFound), naming
// "read <path>"; a directory is refused (EISDIR).
Result<std::string> ReadWholeFile(const std::string& path, Code code = Code::kIoFailure);

// write() until all of `data` is written, retrying EINTR. `what` names the file in
// the error. No fsync: callers decide what must be durable.
Status WriteAll(int fd, std::string_view data, const std::string& what);

// Replaces (or creates) `path` with `data` so that a reader, or the next boot,
// sees the old file or the new one, never a mix. The data goes to an unnamed
// O_TMPFILE inode, fsync'd, then linked as `path` when it is new, or linked as
// AtomicTempPath(path) and renamed over `path` when replacing; the directory is
// fsync'd last, so the name survives a crash. A writer killed before the link
// leaves nothing; one killed between link and rename leaves AtomicTempPath(path),
// which the next write of `path` replaces (remove it too when removing `path`).
// Writers of one path must be serialised (the temp name is fixed). Where O_TMPFILE
// is missing the temp name is written directly. Creates the parent directory (0755)
// if needed. `mode` is under the umask. Errors are code 5 and name the file.
// With Durability::kAtomicOnly nothing is fsync'd: readers still see old or new,
// but after a power loss the file may be gone or empty. For state whose loss the
// reader handles (a cache), where a per-pod fsync would cost milliseconds.
enum class Durability { kDurable, kAtomicOnly };
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode,
                       Durability durability = Durability::kDurable);
// <dir>/.<name>.tmp
std::string AtomicTempPath(const std::string& path);

}  // namespace cni

#endif  // LINEN_LIBCNI_SYS_FILE_H_
