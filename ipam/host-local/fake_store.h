// In-memory Store for allocator unit tests. Counts calls so tests can assert the
// allocator does not probe address by address through a big range.
#ifndef LINEN_IPAM_HOST_LOCAL_FAKE_STORE_H_
#define LINEN_IPAM_HOST_LOCAL_FAKE_STORE_H_

#include <map>
#include <optional>
#include <string>

#include "ipam/host-local/store.h"

namespace host_local {

class FakeStore : public Store {
 public:
  cni::Status Lock() override {
    if (locked_) return cni::Error(cni::Code::kInternal, "FakeStore: Lock() while locked");
    locked_ = true;
    return cni::OkStatus();
  }
  void Unlock() override { locked_ = false; }

  cni::Result<bool> Reserve(std::string_view id, std::string_view ifname, const cni::IpAddr& ip,
                            int range_id) override {
    ++reserve_calls;
    if (fail_reserve) return cni::Error(cni::Code::kIoFailure, "FakeStore: injected failure");
    if (ips.count(ip)) return false;
    ips[ip] = OwnerKey(id, ifname);
    last[range_id] = ip;
    return true;
  }
  std::optional<cni::IpAddr> LastReservedIp(int range_id) override {
    auto it = last.find(range_id);
    if (it == last.end()) return std::nullopt;
    return it->second;
  }
  cni::Result<std::vector<Reservation>> List() override {
    ++list_calls;
    std::vector<Reservation> out;
    for (const auto& [ip, owner] : ips) out.push_back({ip, std::string(TrimSpace(owner))});
    return out;
  }
  cni::Status Release(const cni::IpAddr& ip) override {
    ips.erase(ip);
    return cni::OkStatus();
  }

  bool locked() const { return locked_; }

  // Public so tests can seed and inspect state directly.
  std::map<cni::IpAddr, std::string> ips;  // address -> owner text
  std::map<int, cni::IpAddr> last;
  int reserve_calls = 0;
  int list_calls = 0;
  bool fail_reserve = false;

 private:
  bool locked_ = false;
};

}  // namespace host_local

#endif  // LINEN_IPAM_HOST_LOCAL_FAKE_STORE_H_
