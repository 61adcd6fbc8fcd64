#include "ipam/host-local/allocator.h"

#include <algorithm>
#include <set>

namespace host_local {

RangeIter::RangeIter(const RangeSet& set, const std::optional<cni::IpAddr>& last_reserved)
    : set_(set) {
  // A last address outside the set (ranges edited since) only costs round robin
  // this once, as in the reference.
  if (!last_reserved) return;
  for (size_t i = 0; i < set_.size(); ++i) {
    if (set_[i].Contains(*last_reserved)) {
      idx_ = i;
      cur_ = *last_reserved;  // Next() advances first, so last+1 comes out first
      return;
    }
  }
}

std::optional<RangeIter::Candidate> RangeIter::Next() {
  while (true) {
    if (!cur_) {
      cur_ = set_[idx_].start;
      start_ = cur_;
    } else {
      if (*cur_ == set_[idx_].end) {
        idx_ = (idx_ + 1) % set_.size();
        cur_ = set_[idx_].start;
      } else {
        cur_ = cur_->Next();
      }
      if (!start_) {
        start_ = cur_;
      } else if (*cur_ == *start_) {
        return std::nullopt;  // all the way round
      }
    }
    if (set_[idx_].IsReserved(*cur_)) continue;
    return Candidate{idx_, *cur_};
  }
}

cni::Result<cni::IpConfig> Allocator::GetRequested(std::string_view id, std::string_view ifname,
                                                   const cni::IpAddr& ip) {
  const Range* r = set_.RangeFor(ip);
  if (!r) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "requested IP " + ip.ToString() + " not in range set " + set_.ToString());
  }
  if (ip == r->gateway) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "requested ip " + ip.ToString() + " is subnet's gateway");
  }
  if (r->IsReserved(ip)) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "requested ip " + ip.ToString() + " is the network or broadcast address of " +
                          r->subnet.ToString());
  }
  auto reserved = store_.Reserve(id, ifname, ip, range_id_);
  if (!reserved) return reserved.error();
  if (!*reserved) {
    return cni::Error(cni::Code::kNoAddressAvailable,
                      "requested IP address " + ip.ToString() +
                          " is not available in range set " + set_.ToString() +
                          " (already reserved)");
  }
  return cni::IpConfig{cni::IpNet{ip, r->subnet.prefix}, r->gateway, std::nullopt};
}

cni::Result<cni::IpConfig> Allocator::Get(std::string_view id, std::string_view ifname,
                                          const std::optional<cni::IpAddr>& requested,
                                          const std::vector<Reservation>& snapshot) {
  if (requested) return GetRequested(id, ifname, *requested);

  // The spec forbids a second ADD for one attachment without a DEL in between.
  std::set<cni::IpAddr> taken;
  for (const Reservation& res : snapshot) {
    if (!set_.Contains(res.ip)) continue;
    if (OwnedBy(res, id, ifname)) {
      return cni::Error(cni::Code::kInternal,
                        res.ip.ToString() + " has been allocated to " + std::string(id) +
                            ", duplicate allocation is not allowed");
    }
    taken.insert(res.ip);
  }

  RangeIter it(set_, store_.LastReservedIp(range_id_));
  while (auto c = it.Next()) {
    if (taken.count(c->ip)) continue;
    auto reserved = store_.Reserve(id, ifname, c->ip, range_id_);
    if (!reserved) return reserved.error();
    // false: someone not honouring the lock got there first; keep looking.
    if (*reserved) {
      const Range& r = set_[c->range_index];
      return cni::IpConfig{cni::IpNet{c->ip, r.subnet.prefix}, r.gateway, std::nullopt};
    }
  }
  return cni::Error(cni::Code::kNoAddressAvailable,
                    "no IP addresses available in range set: " + set_.ToString());
}

cni::Result<std::vector<cni::IpConfig>> AllocateAll(const std::vector<RangeSet>& sets,
                                                    Store& store, std::string_view network,
                                                    std::string_view id, std::string_view ifname,
                                                    const std::vector<cni::IpAddr>& requested) {
  auto lock = StoreLock::Acquire(store);
  if (!lock) return lock.error();
  // With an index, ADD reads no other pod's file: the spec's "no second ADD without
  // a DEL" check asks the index, and a taken candidate fails its exclusive create.
  std::vector<Reservation> snapshot;
  const bool current = store.IndexCurrent();
  bool covered = false;
  if (current) {
    auto held = HeldPerIndex(store, id, ifname);
    if (!held) return held.error();
    if (*held) {
      return cni::Error(cni::Code::kInternal,
                        (*held)->front().ToString() + " has been allocated to " +
                            std::string(id) + ", duplicate allocation is not allowed");
    }
  } else {
    auto listed = store.List();
    if (!listed) return listed.error();
    snapshot = std::move(*listed);
    // Once the index names everything again (the reference's files are gone), the
    // next ADD can skip this listing.
    covered = IndexCovers(store, snapshot);
  }

  std::vector<cni::IpAddr> pending;
  for (const cni::IpAddr& ip : requested) {
    if (std::find(pending.begin(), pending.end(), ip) == pending.end()) pending.push_back(ip);
  }

  std::vector<cni::IpConfig> out;
  auto rollback = [&] {
    for (const cni::IpConfig& c : out) (void)store.Release(c.address.addr);
  };
  for (size_t idx = 0; idx < sets.size(); ++idx) {
    std::optional<cni::IpAddr> want;
    for (auto it = pending.begin(); it != pending.end(); ++it) {
      if (sets[idx].Contains(*it)) {
        want = *it;
        pending.erase(it);
        break;
      }
    }
    Allocator alloc(sets[idx], store, static_cast<int>(idx));
    auto got = alloc.Get(id, ifname, want, snapshot);
    if (!got) {
      rollback();
      return got.error().Context("network \"" + std::string(network) +
                                 "\": failed to allocate for range " + std::to_string(idx));
    }
    out.push_back(*got);
  }
  if (!pending.empty()) {
    rollback();
    std::string list;
    for (const cni::IpAddr& ip : pending) list += " " + ip.ToString();
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "network \"" + std::string(network) +
                          "\": failed to allocate all requested IPs (not in any range set):" + list);
  }
  std::vector<cni::IpAddr> ips;
  for (const cni::IpConfig& c : out) ips.push_back(c.address.addr);
  if (store.Index(id, ifname, ips) && (current || covered)) store.MarkIndexCurrent();
  return out;
}

}  // namespace host_local
