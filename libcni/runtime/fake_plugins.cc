#include "libcni/runtime/fake_plugins.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace cni::runtime::testing {

void FakePluginDir::Add(const FakePlugin& p) const {
  const std::string path = dir_ + "/" + p.type;
  std::ostringstream s;
  s << "#!/bin/sh\n"
    << "in=$(cat)\n"
    << "echo \"" << p.type
    << " $CNI_COMMAND cid=$CNI_CONTAINERID if=$CNI_IFNAME netns=$CNI_NETNS args=$CNI_ARGS\""
    << " >> '" << dir_ << "/calls.log'\n"
    << "printf '%s' \"$in\" > '" << dir_ << "/stdin-" << p.type << "-'\"$CNI_COMMAND\"\n"
    << "if [ \"$CNI_COMMAND\" = VERSION ]; then\n"
    << "  echo '{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}'\n"
    << "  exit 0\n"
    << "fi\n";
  switch (p.kind) {
    case FakeKind::kResult:
      s << "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
        << "v=$(printf '%s' \"$in\" | /usr/bin/jq -r .cniVersion)\n"
        << "cat <<EOF\n"
        << "{\"cniVersion\":\"$v\",\"interfaces\":[{\"name\":\"" << p.type
        << "\",\"sandbox\":\"$CNI_NETNS\"}],"
        << "\"ips\":[{\"address\":\"" << p.ip << "\",\"interface\":0}]}\n"
        << "EOF\n";
      break;
    case FakeKind::kPassThrough:
      s << "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
        << "printf '%s' \"$in\" | /usr/bin/jq -c '.prevResult | .interfaces += [{\"name\":\""
        << p.type << "\"}]'\n";
      break;
    case FakeKind::kCniError:
      s << "echo '{\"cniVersion\":\"1.1.0\",\"code\":" << p.code << ",\"msg\":\"" << p.msg
        << "\",\"details\":\"more words\"}'\nexit 1\n";
      break;
    case FakeKind::kCrash:
      s << "kill -SEGV $$\n";
      break;
    case FakeKind::kGarbage:
      s << "echo 'this is not json'\nexit 0\n";
      break;
    case FakeKind::kGarbageFail:
      s << "echo 'panic: boom' >&2\nexit 2\n";
      break;
  }
  {
    std::ofstream out(path);
    out << s.str();
  }
  ::chmod(path.c_str(), 0755);
}

std::vector<std::string> FakePluginDir::Log() const {
  std::vector<std::string> out;
  std::ifstream in(dir_ + "/calls.log");
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> FakePluginDir::Calls() const {
  std::vector<std::string> out;
  for (const auto& line : Log()) {
    auto first = line.find(' ');
    auto second = line.find(' ', first + 1);
    out.push_back(line.substr(0, second));
  }
  return out;
}

std::string FakePluginDir::Stdin(const std::string& type, const std::string& verb) const {
  std::ifstream in(dir_ + "/stdin-" + type + "-" + verb);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace cni::runtime::testing
