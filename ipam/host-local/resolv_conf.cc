#include "ipam/host-local/resolv_conf.h"

#include <string>
#include <string_view>
#include <vector>

#include "libcni/sys/file.h"

namespace host_local {
namespace {

// The line's words, split on white space as `>>` would (no stream: see ReadWholeFile).
std::vector<std::string> Fields(std::string_view line) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  std::vector<std::string> out;
  for (size_t start = line.find_first_not_of(kSpace); start != std::string_view::npos;) {
    const size_t end = line.find_first_of(kSpace, start);
    out.emplace_back(line.substr(start, end == std::string_view::npos ? end : end - start));
    start = end == std::string_view::npos ? end : line.find_first_not_of(kSpace, end);
  }
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
