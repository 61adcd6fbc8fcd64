// CNI_ARGS and CNI_PATH splitting.
#include <string>

#include "libcni/skel.h"

namespace cni {

std::vector<std::string> CmdArgs::PathDirs() const {
  std::vector<std::string> dirs;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) dirs.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return dirs;
}

Result<std::map<std::string, std::string>> ParseCniArgs(std::string_view args) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= args.size()) {
    size_t end = args.find(';', start);
    if (end == std::string_view::npos) end = args.size();
    std::string_view pair = args.substr(start, end - start);
    start = end + 1;
    // Runtimes sometimes leave a trailing ';'; an empty pair carries nothing.
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Error(Code::kInvalidEnv,
                   "CNI_ARGS: invalid pair \"" + std::string(pair) + "\" (want KEY=VALUE)");
    }
    // Split at the first '=' so values may contain '=' (base64, labels).
    out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
  }
  return out;
}

}  // namespace cni
