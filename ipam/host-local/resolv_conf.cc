#include "ipam/host-local/resolv_conf.h"

#include <cerrno>
#include <sstream>
#include <vector>

#include "libcni/sys/file.h"

namespace host_local {
namespace {

std::vector<std::string> Fields(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

cni::Dns ParseResolvConfText(std::string_view text) {
  cni::Dns dns;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = (nl == std::string_view::npos) ? text.size() + 1 : nl + 1;
    auto f = Fields(line);
    if (f.size() < 2 || f[0][0] == '#' || f[0][0] == ';') continue;
    if (f[0] == "nameserver") {
      dns.nameservers.push_back(f[1]);
    } else if (f[0] == "domain") {
      dns.domain = f[1];
    } else if (f[0] == "search") {
      dns.search.insert(dns.search.end(), f.begin() + 1, f.end());
    } else if (f[0] == "options") {
      dns.options.insert(dns.options.end(), f.begin() + 1, f.end());
    }
  }
  return dns;
}

cni::Result<cni::Dns> ReadResolvConf(const std::string& path) {
  auto text = cni::ReadWholeFile(path);
  if (!text) return text.error().Context("resolvConf");
  return ParseResolvConfText(*text);
}

}  // namespace host_local
