#include "plugins/bridge/masq_iptables.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <sstream>

#include "netns/netns.h"
#include "plugins/bridge/hash.h"

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

// Runs one of the iptables tools with `input` on stdin and returns its stdout. The
// tools live in /usr/sbin on Debian; PATH is the fallback.
cni::Result<std::string> RunTool(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return cni::ErrnoError("pipe", errno, Code::kInternal);
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return cni::ErrnoError("pipe", errno, Code::kInternal);
  }
  cni::UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return cni::ErrnoError("fork " + argv[0], errno, Code::kInternal);
  if (pid == 0) {
    dup2(in_r.get(), 0);
    dup2(out_w.get(), 1);
    dup2(out_w.get(), 2);
    std::string sbin = "/usr/sbin/" + argv[0];
    execv(sbin.c_str(), args.data());
    execvp(argv[0].c_str(), args.data());
    _exit(127);
  }
  in_r = cni::UniqueFd();
  out_w = cni::UniqueFd();
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = write(in_w.get(), input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  in_w = cni::UniqueFd();
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out_r.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) output = "not found";
    return Error(Code::kInternal, argv[0] + ": " + output);
  }
  return output;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// POSTROUTING jumps into `chain` (as -D lines) plus the chain's flush/delete, from
// an iptables-save listing of the nat table.
std::string TeardownLines(const std::string& save, const std::string& chain) {
  std::string out;
  bool chain_exists = false;
  std::istringstream in(save);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(":" + chain + " ", 0) == 0) chain_exists = true;
    if (line.starts_with("-A POSTROUTING ") && line.ends_with(" -j " + chain)) {
      out += "-D" + line.substr(2) + "\n";
    }
  }
  if (chain_exists) out += "-F " + chain + "\n-X " + chain + "\n";
  return out;
}

cni::Status Restore(bool v4, const std::string& body) {
  if (body.empty()) return cni::OkStatus();
  auto r = RunTool({v4 ? "iptables-restore" : "ip6tables-restore", "--noflush", "-w", "5"},
                   "*nat\n" + body + "COMMIT\n");
  if (!r) return r.error();
  return cni::OkStatus();
}

cni::Result<std::string> SaveNat(bool v4) {
  return RunTool({v4 ? "iptables-save" : "ip6tables-save", "-t", "nat"}, "");
}

}  // namespace

std::string IptChainName(const std::string& network, const std::string& container_id) {
  return ("CNI-" + Sha512Hex(network + container_id)).substr(0, 28);
}

std::string IptComment(const std::string& network, const std::string& container_id) {
  return "name: \"" + network + "\" id: \"" + container_id + "\"";
}

std::string IptSetupRestore(const std::vector<cni::IpNet>& ips, const MasqTag& tag, bool v4) {
  const std::string chain = IptChainName(tag.network, tag.container_id);
  const std::string comment =
      "-m comment --comment \"" + Escape(IptComment(tag.network, tag.container_id)) + "\"";
  std::string body;
  for (const cni::IpNet& ip : ips) {
    if (ip.addr.is_v4() != v4) continue;
    if (body.empty()) body = ":" + chain + " - [0:0]\n";  // creates, or flushes if present
    body += "-A " + chain + " -d " + ip.Masked().ToString() + " " + comment + " -j ACCEPT\n";
    body += "-A " + chain + " ! -d " + (v4 ? "224.0.0.0/4" : "ff00::/8") + " " + comment +
            " -j MASQUERADE\n";
    body += "-A POSTROUTING -s " + ip.addr.ToString() + " " + comment + " -j " + chain + "\n";
  }
  return body;
}

cni::Status IptSetupMasq(const std::vector<cni::IpNet>& ips, const MasqTag& tag) {
  for (bool v4 : {true, false}) {
    if (auto s = Restore(v4, IptSetupRestore(ips, tag, v4)); !s) {
      return s.error().Context("failed to set up iptables masquerade");
    }
  }
  return cni::OkStatus();
}

cni::Status IptTeardownMasq(const MasqTag& tag) {
  const std::string chain = IptChainName(tag.network, tag.container_id);
  for (bool v4 : {true, false}) {
    auto save = SaveNat(v4);
    if (!save) return save.error().Context("failed to list iptables nat rules");
    if (auto s = Restore(v4, TeardownLines(*save, chain)); !s) {
      return s.error().Context("failed to remove iptables masquerade");
    }
  }
  return cni::OkStatus();
}

cni::Status IptGcMasq(const std::string& network, const Attachments& valid) {
  std::set<std::string> keep;
  for (const auto& [id, ifname] : valid) keep.insert(IptChainName(network, id));
  const std::string marker = "--comment \"name: \\\"" + Escape(network) + "\\\" id: ";
  for (bool v4 : {true, false}) {
    auto save = SaveNat(v4);
    if (!save) return save.error().Context("failed to list iptables nat rules");
    std::set<std::string> stale;
    std::istringstream in(*save);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("-A POSTROUTING ", 0) != 0 || line.find(marker) == std::string::npos) continue;
      size_t j = line.rfind(" -j CNI-");
      if (j == std::string::npos) continue;
      std::string chain = line.substr(j + 4);
      if (!keep.count(chain)) stale.insert(chain);
    }
    std::string body;
    for (const std::string& chain : stale) body += TeardownLines(*save, chain);
    if (auto s = Restore(v4, body); !s) return s.error().Context("iptables masquerade GC");
  }
  return cni::OkStatus();
}

}  // namespace bridge
