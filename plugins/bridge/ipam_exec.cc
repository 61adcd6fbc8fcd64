#include "plugins/bridge/ipam_exec.h"

#include "libcni/invoke.h"

namespace bridge {

cni::Result<cni::AddResult> IpamAdd(const std::string& type, const cni::CmdArgs& args) {
  auto r = cni::DelegateAdd(type, args, args.stdin_data);
  if (!r) return r;
  if (r->ips.empty()) {
    return cni::Error(cni::Code::kInternal, "IPAM plugin returned missing IP config");
  }
  return r;
}

cni::Status IpamCommand(std::string_view command, const std::string& type,
                        const cni::CmdArgs& args) {
  return cni::DelegateCommand(command, type, args, args.stdin_data);
}

}  // namespace bridge
