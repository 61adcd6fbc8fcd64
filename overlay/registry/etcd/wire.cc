#include "overlay/registry/etcd/wire.h"

#include <cstdint>
#include <utility>

#include "libcni/base64.h"
#include "libcni/sys/number.h"

namespace linen::etcd::wire {

cni::Result<int64_t> Int(const nlohmann::json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return int64_t{0};
  auto bad = [&] {
    return cni::Error(cni::Code::kDecodingFailure, std::string("etcd answer: field ") + field +
                                                       " is not an int64: " + it->dump());
  };
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return bad();
    return static_cast<int64_t>(it->get<uint64_t>());
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return bad();
  auto v = cni::ParseDecimal(it->get_ref<const std::string&>(), INT64_MIN, INT64_MAX);
  if (!v) return bad();
  return *v;
}

cni::Result<std::string> Bytes(const nlohmann::json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("etcd answer: field ") + field + " is not a string");
  }
  auto raw = cni::Base64Decode(it->get_ref<const std::string&>());
  if (!raw) {
    return cni::Error(cni::Code::kDecodingFailure,
                      std::string("etcd answer: field ") + field + " is not base64");
  }
  return *std::move(raw);
}

cni::Result<KeyValue> ParseKv(const nlohmann::json& kv) {
  if (!kv.is_object()) return cni::Error(cni::Code::kDecodingFailure, "etcd answer: kv is not an object");
  KeyValue out;
  auto key = Bytes(kv, "key");
  if (!key) return key.error();
  auto value = Bytes(kv, "value");
  if (!value) return value.error();
  out.key = *std::move(key);
  out.value = *std::move(value);
  for (auto [field, dst] : {std::pair{"create_revision", &out.create_revision},
                            std::pair{"mod_revision", &out.mod_revision},
                            std::pair{"version", &out.version}, std::pair{"lease", &out.lease}}) {
    auto v = Int(kv, field);
    if (!v) return v.error();
    *dst = *v;
  }
  return out;
}

cni::Result<RangeResponse> ParseRange(const nlohmann::json& body) {
  RangeResponse out;
  if (auto h = body.find("header"); h != body.end()) {
    auto rev = Int(*h, "revision");
    if (!rev) return rev.error();
    out.revision = *rev;
  }
  if (auto kvs = body.find("kvs"); kvs != body.end() && kvs->is_array()) {
    for (const auto& kv : *kvs) {
      auto parsed = ParseKv(kv);
      if (!parsed) return parsed.error();
      out.kvs.push_back(*std::move(parsed));
    }
  }
  return out;
}

std::optional<cni::Error> StatusError(const nlohmann::json& body, const std::string& what) {
  if (!body.is_object()) return std::nullopt;
  auto err = body.find("error");
  if (err == body.end()) return std::nullopt;
  std::string text;
  auto grpc_code = Int(body, "code");
  if (err->is_string()) {
    text = err->get<std::string>();
  } else if (err->is_object()) {
    // Streaming endpoints nest the status: {"error":{"grpc_code":..,"message":..}}.
    text = err->value("message", err->dump());
    grpc_code = Int(*err, "grpc_code");
  } else {
    text = err->dump();
  }
  if (!grpc_code) return grpc_code.error().Context(what);
  cni::Cause cause = text.find("not found") != std::string::npos ? cni::Cause::kNotFound
                                                                 : cni::Cause::kNone;
  // gRPC UNAVAILABLE (14) / DEADLINE_EXCEEDED (4), or a server shutting down: the
  // cluster is there but cannot answer now, which callers treat like unreachable.
  bool transient = *grpc_code == 14 || *grpc_code == 4 ||
                   text.find("connection is closing") != std::string::npos;
  return cni::Error(transient ? cni::Code::kTryAgainLater : cni::Code::kIoFailure,
                    what + ": etcd refused: " + text, "", cause);
}

}  // namespace linen::etcd::wire
