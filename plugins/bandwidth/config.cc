// Reading the limits and turning them into TBF parameters. The arithmetic follows
// the reference step by step (same float operations, same truncations) so a qdisc
// either plugin made passes the other's CHECK; where the reference overflows
// 32 bits (bucket ticks, queue limit) we saturate instead of wrapping around.
#include "plugins/bandwidth/config.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "libcni/sha512.h"

namespace bandwidth {

using cni::Code;
using cni::Error;
using cni::json;

namespace {

constexpr std::string_view kKeys[] = {"ingressRate", "ingressBurst", "egressRate", "egressBurst"};

// A bits value: absent or null is 0 (the reference's uint64 zero value).
cni::Result<uint64_t> ReadBits(const json& obj, std::string_view key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return uint64_t{0};
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) {
    return Error(Code::kInvalidNetworkConfig,
                 path + ": must not be negative, got " + std::to_string(it->get<int64_t>()));
  }
  if (it->is_number_float()) {
    const double v = it->get<double>();
    // Integers past 64 bits reach us as floats.
    if (v >= 18446744073709551616.0 && std::floor(v) == v) {
      return Error(Code::kInvalidNetworkConfig, path + ": " + it->dump() + " is above 2^64 - 1");
    }
    return Error(Code::kDecodingFailure, path + ": expected integer, got " + it->dump());
  }
  return Error(Code::kDecodingFailure,
               path + ": expected integer, got " + std::string(it->type_name()));
}

cni::Status ReadLimits(const json& obj, const std::string& path_prefix, BandwidthConf* out) {
  uint64_t* dst[] = {&out->ingress.rate, &out->ingress.burst, &out->egress.rate,
                     &out->egress.burst};
  for (size_t i = 0; i < 4; ++i) {
    auto v = ReadBits(obj, kKeys[i], path_prefix + std::string(kKeys[i]));
    if (!v) return v.error();
    *dst[i] = *v;
  }
  return cni::OkStatus();
}

Error Bad(std::string msg) { return Error(Code::kInvalidNetworkConfig, std::move(msg)); }

}  // namespace

cni::Result<BandwidthConf> ParseBandwidthConf(const cni::NetConf& net) {
  BandwidthConf conf;
  conf.net = net;
  // Both places are read so a wrong type is refused wherever it is, as the
  // reference's json.Unmarshal refuses it.
  BandwidthConf top, runtime;
  if (auto s = ReadLimits(net.raw, "", &top); !s) return s.error();
  bool have_runtime = false;
  if (auto it = net.runtime_config.find("bandwidth"); it != net.runtime_config.end() &&
                                                      !it->is_null()) {
    if (!it->is_object()) {
      return Error(Code::kDecodingFailure,
                   std::string("runtimeConfig.bandwidth: expected object, got ") + it->type_name());
    }
    if (auto s = ReadLimits(*it, "runtimeConfig.bandwidth.", &runtime); !s) return s.error();
    have_runtime = true;
  }
  bool have_top = false;
  for (std::string_view k : kKeys) have_top |= net.raw.contains(k);
  if (!have_top && have_runtime) {
    conf.ingress = runtime.ingress;
    conf.egress = runtime.egress;
    conf.source = "runtimeConfig.bandwidth.";
  } else {
    conf.ingress = top.ingress;
    conf.egress = top.egress;
  }
  for (auto [limit, dir] : {std::pair{&conf.ingress, "ingress"}, {&conf.egress, "egress"}}) {
    if (limit->rate == 0 && limit->burst == 0) continue;
    auto t = TbfFor(*limit, conf.source + dir);
    if (!t) return t.error();
  }
  return conf;
}

cni::Result<cni::nl::TbfParams> TbfFor(const Limit& limit, std::string_view prefix) {
  const std::string rate_key = std::string(prefix) + "Rate";
  const std::string burst_key = std::string(prefix) + "Burst";
  constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
  // The reference's checks, in its order, with its bounds.
  if (limit.burst == 0 && limit.rate != 0) {
    return Bad(burst_key + ": must be set when " + rate_key + " is set");
  }
  if (limit.rate == 0 && limit.burst != 0) {
    return Bad(rate_key + ": must be set when " + burst_key + " is set");
  }
  if (limit.burst / 8 >= kMax32) {
    return Bad(burst_key + ": cannot be more than 4GB (" + std::to_string(limit.burst) + " bits)");
  }
  // TBF counts bytes: below 8 the kernel would get 0 (the reference divides by zero).
  if (limit.rate < 8) return Bad(rate_key + ": must be at least 8 bits/s");
  if (limit.burst < 8) return Bad(burst_key + ": must be at least 8 bits");
  const uint64_t rate = limit.rate / 8;
  const uint64_t burst = limit.burst / 8;

  constexpr double kUsecPerSec = 1e6;
  constexpr double kLatencyUsec = kUsecPerSec * (25 / 1000.0);  // 25 ms of queue
  cni::nl::TbfParams t;
  t.rate = rate;
  // The bucket as transmit time: µs, truncated to 32 bits, then 64 ns ticks
  // (15.625 per µs: /proc/net/psched has said 1000/64 since 2.6.31). Past 32 bits
  // of ticks (~275 s at the rate) the reference wraps around; we saturate.
  constexpr double kTicksPerUsec = 1000.0 / 64.0;
  constexpr double kMaxTicks = static_cast<double>(cni::nl::kTbfMaxBufferTicks);
  const double usec = static_cast<double>(burst) * kUsecPerSec / static_cast<double>(rate);
  const double ticks = usec >= static_cast<double>(kMax32)
                           ? kMaxTicks
                           : static_cast<double>(static_cast<uint32_t>(usec)) * kTicksPerUsec;
  t.buffer = ticks >= kMaxTicks ? cni::nl::kTbfMaxBufferTicks : static_cast<uint32_t>(ticks);
  // The queue: 25 ms at the rate plus the burst; saturated at 32 bits where the
  // reference's sum wraps around (CRI-O's burst would leave it a few bytes).
  const double queue = static_cast<double>(rate) * kLatencyUsec / kUsecPerSec;
  const double total =
      std::floor(std::min(queue, static_cast<double>(kMax32))) + static_cast<double>(burst);
  t.limit = total >= static_cast<double>(kMax32) ? static_cast<uint32_t>(kMax32)
                                                 : static_cast<uint32_t>(total);
  return t;
}

std::string IfbName(std::string_view network, std::string_view container_id) {
  std::string data(network);
  data += container_id;
  return "bwp" + cni::HexPrefix(cni::Sha512(data), 6);
}

std::string IfbAliasPrefix(std::string_view network) {
  return "linen-bandwidth net=" + std::string(network) + " id=";
}

std::string IfbAlias(std::string_view network, std::string_view container_id) {
  return IfbAliasPrefix(network) + std::string(container_id);
}

}  // namespace bandwidth
