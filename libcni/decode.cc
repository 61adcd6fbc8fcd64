#include "libcni/decode.h"

namespace cni {

namespace {

const json& Null() {
  static const json kNull;
  return kNull;
}

}  // namespace

Decoder::Decoder(const json& value, std::string path) : value_(&value), path_(std::move(path)) {}

Decoder Decoder::operator[](std::string_view key) const {
  std::string path = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  if (!value_->is_object()) return Decoder(Null(), std::move(path));
  auto it = value_->find(key);
  return Decoder(it == value_->end() ? Null() : *it, std::move(path));
}

Decoder Decoder::operator[](size_t index) const {
  std::string path = path_ + "[" + std::to_string(index) + "]";
  if (!value_->is_array() || index >= value_->size()) return Decoder(Null(), std::move(path));
  return Decoder((*value_)[index], std::move(path));
}

Status Decoder::ObjectOrUnset() const {
  if (IsSet() && !value_->is_object()) return TypeError("object");
  return OkStatus();
}

Status Decoder::ArrayOrUnset() const {
  if (IsSet() && !value_->is_array()) return TypeError("list");
  return OkStatus();
}

Error Decoder::Invalid(std::string_view what) const {
  const std::string& where = path_.empty() ? std::string("config") : path_;
  return Error(Code::kDecodingFailure, where + ": " + std::string(what));
}

Error Decoder::TypeError(std::string_view expected) const {
  const char* got = value_->is_number_integer() || value_->is_number_float() ? "number"
                                                                             : value_->type_name();
  return Invalid("expected " + std::string(expected) + ", got " + got);
}

Result<int64_t> Decoder::Integer(int64_t min, int64_t max) const {
  if (!value_->is_number()) return TypeError("integer");
  const std::optional<int64_t> v = JsonInteger(*value_);
  if (!v) return Invalid("expected integer, got " + value_->dump());
  if (*v < min || *v > max) {
    return Invalid("expected integer between " + std::to_string(min) + " and " +
                   std::to_string(max) + ", got " + std::to_string(*v));
  }
  return *v;
}

Status GetConfBool(const Decoder& d, std::string_view key, bool* out) {
  const Decoder v = d[key];
  if (v.value().is_string()) {
    const std::string& s = v.value().get_ref<const std::string&>();
    if (s == "true" || s == "false") {
      *out = s == "true";
      return OkStatus();
    }
  }
  return d.Get(key, out);
}

}  // namespace cni
