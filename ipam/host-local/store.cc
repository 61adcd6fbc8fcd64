#include "ipam/host-local/store.h"

#include <algorithm>
#include <map>

namespace host_local {

namespace {
constexpr std::string_view kLineBreak = "\r\n";
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string OwnerKey(std::string_view id, std::string_view ifname) {
  std::string key(TrimSpace(id));
  key += kLineBreak;
  key += ifname;
  return key;
}

bool OwnedBy(const Reservation& r, std::string_view id, std::string_view ifname) {
  return r.owner == OwnerKey(id, ifname) || r.owner == TrimSpace(id);
}

std::pair<std::string, std::string> SplitOwner(std::string_view owner) {
  const size_t pos = owner.find(kLineBreak);
  if (pos == std::string_view::npos) return {std::string(owner), ""};
  return {std::string(owner.substr(0, pos)), std::string(owner.substr(pos + kLineBreak.size()))};
}

cni::Result<StoreLock> StoreLock::Acquire(Store& store) {
  if (auto s = store.Lock(); !s) return s.error();
  return StoreLock(&store);
}

cni::Status ReleaseById(Store& store, std::string_view id, std::string_view ifname) {
  auto all = store.List();
  if (!all) return all.error();
  const std::string full = OwnerKey(id, ifname);
  const std::string_view bare = TrimSpace(id);
  std::vector<cni::IpAddr> exact, legacy;
  for (const Reservation& r : *all) {
    if (r.owner == full) exact.push_back(r.ip);
    else if (r.owner == bare) legacy.push_back(r.ip);
  }
  // The reference only falls back to ID-only files when nothing matched exactly,
  // so a legacy file of a sibling interface survives this interface's DEL.
  const std::vector<cni::IpAddr>& victims = exact.empty() ? legacy : exact;
  std::optional<cni::Error> first_error;
  for (const cni::IpAddr& ip : victims) {
    // Keep going past a failure: release as much as possible, report the first.
    if (auto s = store.Release(ip); !s && !first_error) first_error = s.error();
  }
  if (first_error) return *first_error;
  return cni::OkStatus();
}

cni::Result<std::optional<std::string>> Store::Owner(const cni::IpAddr& ip) {
  auto all = List();
  if (!all) return all.error();
  for (Reservation& r : *all) {
    if (r.ip == ip) return std::optional<std::string>(std::move(r.owner));
  }
  return std::optional<std::string>();
}

bool IndexCovers(Store& store, const std::vector<Reservation>& all) {
  if (!store.has_index()) return false;
  std::map<std::string, std::optional<std::vector<cni::IpAddr>>> entries;
  for (const Reservation& r : all) {
    if (r.owner.find(kLineBreak) == std::string::npos) return false;  // legacy: ID only
    auto it = entries.find(r.owner);
    if (it == entries.end()) {
      const auto [id, ifname] = SplitOwner(r.owner);
      it = entries.emplace(r.owner, store.Indexed(id, ifname)).first;
    }
    if (!it->second || std::find(it->second->begin(), it->second->end(), r.ip) == it->second->end()) {
      return false;
    }
  }
  return true;
}

cni::Result<std::optional<std::vector<cni::IpAddr>>> HeldPerIndex(Store& store,
                                                                  std::string_view id,
                                                                  std::string_view ifname) {
  using Out = std::optional<std::vector<cni::IpAddr>>;
  if (!store.has_index()) return Out();
  auto listed = store.Indexed(id, ifname);
  if (!listed) return Out();
  const std::string full = OwnerKey(id, ifname);
  std::vector<cni::IpAddr> held;
  for (const cni::IpAddr& ip : *listed) {
    auto owner = store.Owner(ip);
    if (!owner) return owner.error();
    if (*owner && **owner == full) held.push_back(ip);
  }
  if (held.empty()) return Out();
  return Out(std::move(held));
}

cni::Status ReleaseByIdPrescan(Store& store, std::string_view id, std::string_view ifname) {
  if (store.has_index()) {
    // The index names our addresses: re-check and free them under the lock.
    auto hinted = HeldPerIndex(store, id, ifname);
    if (!hinted) return hinted.error();
    if (*hinted) {
      auto lock = StoreLock::Acquire(store);
      if (!lock) return lock.error();
      const bool current = store.IndexCurrent();
      auto held = HeldPerIndex(store, id, ifname);
      if (!held) return held.error();
      if (*held) {
        std::optional<cni::Error> first_error;
        for (const cni::IpAddr& ip : **held) {
          if (auto s = store.Release(ip); !s && !first_error) first_error = s.error();
        }
        if (first_error) return *first_error;
        store.Unindex(id, ifname);
        if (current) store.MarkIndexCurrent();
        return cni::OkStatus();
      }
    }
  }
  auto all = store.Scan();
  if (!all) return all.error();
  const std::string full = OwnerKey(id, ifname);
  const std::string bare(TrimSpace(id));
  std::vector<cni::IpAddr> exact, legacy;
  for (const Reservation& r : *all) {
    if (r.owner == full) exact.push_back(r.ip);
    else if (r.owner == bare) legacy.push_back(r.ip);
  }
  // Nothing of ours on disk when the scan ran: DEL takes effect at that moment (a
  // repeated DEL, or a DEL for an attachment whose ADD never got an address).
  if (exact.empty() && legacy.empty()) return cni::OkStatus();
  auto lock = StoreLock::Acquire(store);
  if (!lock) return lock.error();
  // Same rule as ReleaseById: ID-only legacy files only when no exact match exists.
  const bool use_exact = !exact.empty();
  const std::vector<cni::IpAddr>& victims = use_exact ? exact : legacy;
  const std::string& expect = use_exact ? full : bare;
  std::optional<cni::Error> first_error;
  for (const cni::IpAddr& ip : victims) {
    // Re-check under the lock: the address may have been freed and handed to another
    // pod between the scan and now.
    auto owner = store.Owner(ip);
    if (!owner) {
      if (!first_error) first_error = owner.error();
      continue;
    }
    if (!*owner || **owner != expect) continue;
    if (auto s = store.Release(ip); !s && !first_error) first_error = s.error();
  }
  if (first_error) return *first_error;
  return cni::OkStatus();
}

cni::Result<std::vector<cni::IpAddr>> GetById(Store& store, std::string_view id,
                                              std::string_view ifname) {
  auto hinted = HeldPerIndex(store, id, ifname);
  if (!hinted) return hinted.error();
  if (*hinted) return std::move(**hinted);
  auto all = store.List();
  if (!all) return all.error();
  std::vector<cni::IpAddr> out;
  for (const Reservation& r : *all) {
    if (OwnedBy(r, id, ifname)) out.push_back(r.ip);
  }
  return out;
}

}  // namespace host_local
