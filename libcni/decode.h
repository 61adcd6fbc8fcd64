// Typed reading of JSON input (network configs, registry records, topology files):
// the one place that decides what a wrong type looks like. Every error is code 6 and
// names the full key path, the type wanted and the type found:
//   ipam.ranges[0][0].subnet: expected string, got number
// An absent key and a null read alike, as "not set". Integers follow cni::JsonInteger
// (no fractions, nothing silently truncated) and must fit the target type.
#ifndef LINEN_LIBCNI_DECODE_H_
#define LINEN_LIBCNI_DECODE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "libcni/error.h"
#include "libcni/types.h"

namespace cni {

class Decoder {
 public:
  // `path` names `value` in messages ("ipam", "" for a document's top level). The
  // value must outlive the decoder and every decoder made from it.
  explicit Decoder(const json& value, std::string path = "");

  const json& value() const { return *value_; }
  const std::string& path() const { return path_; }
  bool IsSet() const { return !value_->is_null(); }

  // Members and elements; an absent one is a null value with its path, so errors
  // about it still say where it was expected.
  Decoder operator[](std::string_view key) const;
  Decoder operator[](size_t index) const;

  // This value as T: std::string, bool, an integer type, double, json (anything), or
  // std::vector<std::string>. Not set is a type error too.
  template <typename T>
  Result<T> As() const;
  // A member as T; nullopt when not set. This value not being an object is an error.
  template <typename T>
  Result<std::optional<T>> Optional(std::string_view key) const;
  // The same, leaving *out as it was when the member is not set.
  template <typename T>
  Status Get(std::string_view key, T* out) const;

  // Set and of that JSON type; not set is fine for the first two (nothing to read).
  Status ObjectOrUnset() const;
  Status ArrayOrUnset() const;
  // elements of an array (0 when not an array)
  size_t size() const { return value_->is_array() ? value_->size() : 0; }

  // "<path>: expected <what>, got <JSON type>", code 6.
  Error TypeError(std::string_view expected) const;
  // "<path>: <what>", code 6, for values of the right type that still cannot be read.
  Error Invalid(std::string_view what) const;

 private:
  Result<int64_t> Integer(int64_t min, int64_t max) const;

  const json* value_;
  std::string path_;
};

// A boolean member of a plugin config, leaving *out as it was when not set. libcni
// (Go) accepts "true"/"false" strings for booleans in conflists, so does this.
Status GetConfBool(const Decoder& d, std::string_view key, bool* out);

template <typename T>
Result<T> Decoder::As() const {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!value_->is_string()) return TypeError("string");
    return value_->get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!value_->is_boolean()) return TypeError("boolean");
    return value_->get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    using Lim = std::numeric_limits<T>;
    static_assert(sizeof(T) < sizeof(int64_t) || std::is_signed_v<T>,
                  "uint64_t does not fit JsonInteger's int64_t");
    auto v = Integer(static_cast<int64_t>(Lim::min()), static_cast<int64_t>(Lim::max()));
    if (!v) return v.error();
    return static_cast<T>(*v);
  } else if constexpr (std::is_same_v<T, double>) {
    if (!value_->is_number()) return TypeError("number");
    return value_->get<double>();
  } else if constexpr (std::is_same_v<T, json>) {
    return *value_;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!value_->is_array()) return TypeError("list of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < value_->size(); ++i) {
      auto s = (*this)[i].As<std::string>();
      if (!s) return s.error();
      out.push_back(std::move(*s));
    }
    return out;
  } else {
    static_assert(sizeof(T) == 0, "Decoder::As: unsupported type");
  }
}

template <typename T>
Result<std::optional<T>> Decoder::Optional(std::string_view key) const {
  if (auto s = ObjectOrUnset(); !s) return s.error();
  Decoder member = (*this)[key];
  if (!member.IsSet()) return std::optional<T>();
  auto v = member.As<T>();
  if (!v) return v.error();
  return std::optional<T>(std::move(*v));
}

template <typename T>
Status Decoder::Get(std::string_view key, T* out) const {
  auto v = Optional<T>(key);
  if (!v) return v.error();
  if (*v) *out = std::move(**v);
  return OkStatus();
}

}  // namespace cni

#endif  // LINEN_LIBCNI_DECODE_H_
