#include "overlay/registry/etcd/subnet_pool.h"

namespace linen::etcd {
namespace {

unsigned __int128 Step(const NetworkConfig& cfg) {
  return static_cast<unsigned __int128>(1) << (cfg.cluster.network.addr.bits() - cfg.cluster.subnet_len);
}

}  // namespace

bool InPool(const NetworkConfig& cfg, const cni::IpNet& subnet) {
  return subnet.prefix == cfg.cluster.subnet_len && subnet.Network() == subnet.addr &&
         subnet.family() == cfg.cluster.network.family() && cfg.subnet_min <= subnet.addr &&
         subnet.addr <= cfg.subnet_max;
}

unsigned __int128 PoolSize(const NetworkConfig& cfg) {
  if (cfg.subnet_max < cfg.subnet_min) return 0;
  return (cfg.subnet_max.ToNumber() - cfg.subnet_min.ToNumber()) / Step(cfg) + 1;
}

std::vector<cni::IpNet> FreeSubnets(const NetworkConfig& cfg, const std::set<cni::IpNet>& taken,
                                    size_t limit) {
  std::vector<cni::IpNet> out;
  const unsigned __int128 step = Step(cfg);
  const unsigned __int128 n = PoolSize(cfg);
  cni::IpAddr a = cfg.subnet_min;
  for (unsigned __int128 i = 0; i < n && out.size() < limit; ++i) {
    cni::IpNet s{a, cfg.cluster.subnet_len};
    if (taken.count(s) == 0) out.push_back(s);
    a = a.Add(static_cast<__int128>(step));
  }
  return out;
}

}  // namespace linen::etcd
