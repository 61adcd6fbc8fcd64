// Internal to the etcd client: the gateway's JSON shapes. int64 fields arrive as
// JSON strings and fields equal to their default are omitted, so every reader here
// tolerates both.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_WIRE_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_WIRE_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "libcni/error.h"
#include "overlay/registry/etcd/etcd_client.h"

namespace linen::etcd::wire {

// A missing (or null) field is 0; anything but a JSON integer or a string holding a
// whole decimal int64 is code 6 naming the field.
cni::Result<int64_t> Int(const nlohmann::json& obj, const char* field);
// Base64-decodes a bytes field; missing is "". Malformed base64 is code 6.
cni::Result<std::string> Bytes(const nlohmann::json& obj, const char* field);
cni::Result<KeyValue> ParseKv(const nlohmann::json& kv);
cni::Result<RangeResponse> ParseRange(const nlohmann::json& body);
// A gRPC status in a gateway body ({"error","message","code"}) as an Error, or nullopt.
std::optional<cni::Error> StatusError(const nlohmann::json& body, const std::string& what);

}  // namespace linen::etcd::wire

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_WIRE_H_
