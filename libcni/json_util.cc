#include "libcni/json_util.h"

#include "libcni/decode.h"

namespace cni::internal {
namespace {

// The type rules are Decoder's; these keep the callers' "<where>: " prefix.
template <typename T>
Status Read(const json& obj, std::string_view key, std::string_view where, T* out) {
  if (!obj.is_object()) return OkStatus();
  auto v = Decoder(obj).Optional<T>(key);
  if (!v) return v.error().Context(where);
  if (*v) *out = std::move(**v);
  return OkStatus();
}

}  // namespace

Error DecodeError(std::string_view where, std::string_view what) {
  std::string msg(where);
  if (!msg.empty()) msg += ": ";
  msg += what;
  return Error(Code::kDecodingFailure, std::move(msg));
}

Status GetString(const json& obj, std::string_view key, std::string_view where,
                 std::string* out) {
  return Read(obj, key, where, out);
}

Status GetInt(const json& obj, std::string_view key, std::string_view where,
              std::optional<int>* out) {
  int v = 0;
  bool set = obj.is_object() && Decoder(obj)[key].IsSet();
  if (auto s = Read(obj, key, where, &v); !s) return s;
  if (set) *out = v;
  return OkStatus();
}

Status GetStringList(const json& obj, std::string_view key, std::string_view where,
                     std::vector<std::string>* out) {
  return Read(obj, key, where, out);
}

Status GetObject(const json& obj, std::string_view key, std::string_view where, json* out) {
  if (!obj.is_object()) return OkStatus();
  if (auto s = Decoder(obj)[key].ObjectOrUnset(); !s) return s.error().Context(where);
  return Read(obj, key, where, out);
}

}  // namespace cni::internal
