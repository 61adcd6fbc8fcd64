#include "ipam/host-local/commands.h"

#include <memory>

#include "ipam/host-local/allocator.h"
#include "ipam/host-local/config.h"
#include "ipam/host-local/disk_store.h"
#include "ipam/host-local/gc.h"
#include "ipam/host-local/resolv_conf.h"

namespace host_local {
namespace {

// The invocation's IPAM config: stdin with CNI_ARGS applied.
cni::Result<IpamConfig> ConfigOf(const cni::CmdArgs& args) {
  auto env_args = cni::ParseCniArgs(args.args);
  if (!env_args) return env_args.error();
  return LoadIpamConfig(args.stdin_data, *env_args);
}

// What STATUS sees before the first ADD created the store: no reservations.
class EmptyStore : public Store {
 public:
  cni::Status Lock() override { return cni::OkStatus(); }
  void Unlock() override {}
  cni::Result<bool> Reserve(std::string_view, std::string_view, const cni::IpAddr&,
                            int) override {
    return cni::Error(cni::Code::kInternal, "host-local: reserve on an absent store");
  }
  std::optional<cni::IpAddr> LastReservedIp(int) override { return std::nullopt; }
  cni::Result<std::vector<Reservation>> List() override { return std::vector<Reservation>(); }
  cni::Status Release(const cni::IpAddr&) override { return cni::OkStatus(); }
};

}  // namespace

cni::Result<cni::AddResult> CmdAdd(const cni::CmdArgs& args) {
  auto conf = ConfigOf(args);
  if (!conf) return conf.error();
  cni::AddResult result;
  result.cni_version = args.conf.cni_version.empty() ? conf->cni_version : args.conf.cni_version;
  // Read before reserving anything: a bad resolvConf must not leak an address.
  if (!conf->resolv_conf.empty()) {
    auto dns = ReadResolvConf(conf->resolv_conf);
    if (!dns) return dns.error();
    result.dns = std::move(*dns);
  }
  if (auto s = ValidateRequested(*conf); !s) return s.error();
  auto store = DiskStore::Open(conf->data_dir, conf->name);
  if (!store) return store.error();
  auto ips = AllocateAll(conf->ranges, **store, conf->name, args.container_id, args.ifname,
                         conf->requested);
  if (!ips) return ips.error();
  result.ips = std::move(*ips);
  result.routes = conf->routes;
  return result;
}

cni::Status CmdDel(const cni::CmdArgs& args) {
  auto conf = ConfigOf(args);
  if (!conf) return conf.error();
  // A missing store is nothing reserved; DEL must not create it.
  auto store = DiskStore::OpenExisting(conf->data_dir, conf->name);
  if (!store) return store.error();
  if (!*store) return cni::OkStatus();
  // Scans before locking: parallel DELs would otherwise queue on the lock for a
  // full directory read each.
  return ReleaseByIdPrescan(**store, args.container_id, args.ifname);
}

cni::Status CmdCheck(const cni::CmdArgs& args) {
  auto conf = ConfigOf(args);
  if (!conf) return conf.error();
  auto store = DiskStore::OpenExisting(conf->data_dir, conf->name);
  if (!store) return store.error();
  if (!*store) {
    return cni::Error(cni::Code::kInternal,
                      "host-local: failed to find address added by container " +
                          args.container_id + " (" + args.ifname + "): no reservation store for "
                          "network \"" + conf->name + "\" in " + conf->data_dir);
  }
  auto lock = StoreLock::Acquire(**store);
  if (!lock) return lock.error();
  auto held = GetById(**store, args.container_id, args.ifname);
  if (!held) return held.error();
  if (held->empty()) {
    return cni::Error(cni::Code::kInternal,
                      "host-local: failed to find address added by container " +
                          args.container_id + " (" + args.ifname + ") in " + (*store)->dir());
  }
  return cni::OkStatus();
}

cni::Status CmdGc(const cni::CmdArgs& args) {
  auto conf = ConfigOf(args);
  if (!conf) return conf.error();
  auto valid = ParseValidAttachments(args.stdin_data);
  if (!valid) return valid.error();
  auto store = DiskStore::OpenExisting(conf->data_dir, conf->name);
  if (!store) return store.error();
  if (!*store) return cni::OkStatus();  // nothing was ever reserved
  auto freed = CollectGarbage(**store, *valid);
  if (!freed) return freed.error();
  return cni::OkStatus();
}

cni::Status CmdStatus(const cni::CmdArgs& args) {
  auto conf = ConfigOf(args);
  if (!conf) return conf.error();
  auto store = DiskStore::OpenExisting(conf->data_dir, conf->name);
  if (!store) return store.error();
  if (!*store) {
    EmptyStore none;  // no store yet: every range set is entirely free
    return CheckStatus(none, conf->ranges, conf->name);
  }
  return CheckStatus(**store, conf->ranges, conf->name);
}

cni::PluginFuncs Funcs() {
  return cni::PluginFuncs{.add = CmdAdd,
                          .del = CmdDel,
                          .check = CmdCheck,
                          .status = CmdStatus,
                          .gc = CmdGc};
}

}  // namespace host_local
