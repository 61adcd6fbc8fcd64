#include "overlay/registry/etcd/subnet_pool.h"

namespace linen::etcd {
namespace {

unsigned __int128 Step(const SubnetRange& r) {
  return static_cast<unsigned __int128>(1) << (r.network.addr.bits() - r.subnet_len);
}

}  // namespace

SubnetRange RangeOf(const overlay::NetworkConfig& cfg, cni::Family family) {
  const overlay::ClusterConfig& c = cfg.cluster;
  if (family == cni::Family::kV4) return {c.network, c.subnet_len, cfg.subnet_min, cfg.subnet_max};
  return {c.ipv6_network, c.ipv6_subnet_len, cfg.ipv6_subnet_min, cfg.ipv6_subnet_max};
}

bool InPool(const SubnetRange& r, const cni::IpNet& subnet) {
  return subnet.prefix == r.subnet_len && subnet.Network() == subnet.addr &&
         subnet.family() == r.network.family() && r.min <= subnet.addr && subnet.addr <= r.max;
}

unsigned __int128 PoolSize(const SubnetRange& r) {
  // A disabled family has no network, so nothing to hand out.
  if (overlay::IsUnset(r.network) || r.max < r.min || r.min.family() != r.network.family()) {
    return 0;
  }
  return (r.max.ToNumber() - r.min.ToNumber()) / Step(r) + 1;
}

std::vector<cni::IpNet> FreeSubnets(const SubnetRange& r, const std::set<cni::IpNet>& taken,
                                    size_t limit) {
  std::vector<cni::IpNet> out;
  const unsigned __int128 step = Step(r);
  const unsigned __int128 n = PoolSize(r);
  cni::IpAddr a = r.min;
  for (unsigned __int128 i = 0; i < n && out.size() < limit; ++i) {
    cni::IpNet s{a, r.subnet_len};
    if (taken.count(s) == 0) out.push_back(s);
    a = a.Add(static_cast<__int128>(step));
  }
  return out;
}

}  // namespace linen::etcd
