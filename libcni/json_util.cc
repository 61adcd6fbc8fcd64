#include "libcni/json_util.h"

#include <limits>

namespace cni::internal {
namespace {

const json* Find(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Error TypeError(std::string_view where, std::string_view key, std::string_view type) {
  std::string what(key);
  what += " must be ";
  what += type;
  return DecodeError(where, what);
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
  const json* v = Find(obj, key);
  if (v == nullptr) return OkStatus();
  if (!v->is_string()) return TypeError(where, key, "a string");
  *out = v->get<std::string>();
  return OkStatus();
}

Status GetInt(const json& obj, std::string_view key, std::string_view where,
              std::optional<int>* out) {
  const json* v = Find(obj, key);
  if (v == nullptr) return OkStatus();
  if (!v->is_number_integer()) return TypeError(where, key, "an integer");
  const std::optional<int64_t> i = JsonInteger(*v);
  if (!i || *i < std::numeric_limits<int>::min() || *i > std::numeric_limits<int>::max()) {
    return TypeError(where, key, "an integer in range");
  }
  *out = static_cast<int>(*i);
  return OkStatus();
}

Status GetStringList(const json& obj, std::string_view key, std::string_view where,
                     std::vector<std::string>* out) {
  const json* v = Find(obj, key);
  if (v == nullptr) return OkStatus();
  if (!v->is_array()) return TypeError(where, key, "a list of strings");
  std::vector<std::string> list;
  for (const auto& e : *v) {
    if (!e.is_string()) return TypeError(where, key, "a list of strings");
    list.push_back(e.get<std::string>());
  }
  *out = std::move(list);
  return OkStatus();
}

Status GetObject(const json& obj, std::string_view key, std::string_view where, json* out) {
  const json* v = Find(obj, key);
  if (v == nullptr) return OkStatus();
  if (!v->is_object()) return TypeError(where, key, "an object");
  *out = *v;
  return OkStatus();
}

}  // namespace cni::internal
