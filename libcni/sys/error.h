// One error value for all of linen: a CNI error code plus a message an operator can
// act on. Returned, never thrown; turned into the spec's error JSON only by PluginMain.
#ifndef LINEN_LIBCNI_SYS_ERROR_H_
#define LINEN_LIBCNI_SYS_ERROR_H_

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cni {

// SPEC.md "Error" codes. 100+ are linen's own and listed only here.
enum class Code : unsigned {
  kOk = 0,
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnv = 4,
  kIoFailure = 5,
  kDecodingFailure = 6,
  kInvalidNetworkConfig = 7,
  kInvalidNetns = 8,  // Go library's ErrInvalidNetNS
  kTryAgainLater = 11,
  kNotAvailable = 50,          // STATUS: not ready for ADD
  kNotAvailableDegraded = 51,  // STATUS: existing attachments degraded
  kNoAddressAvailable = 100,
  kBackendNotReady = 101,
  kInternal = 999,  // Go skel's code for untyped errors
};

// Why an operation failed, when callers branch on it (Ensure* reuses on kExists,
// Delete* treats kNotFound as success).
enum class Cause { kNone, kNotFound, kExists };

class Error {
 public:
  Error(Code code, std::string msg, std::string details = "", Cause cause = Cause::kNone)
      : code_(code), msg_(std::move(msg)), details_(std::move(details)), cause_(cause) {}

  // "what: msg", keeping code and cause.
  Error Context(std::string_view what) const;
  Error WithCode(Code code) const;

  Code code() const { return code_; }
  unsigned code_number() const { return static_cast<unsigned>(code_); }
  const std::string& msg() const { return msg_; }
  const std::string& details() const { return details_; }
  bool IsNotFound() const { return cause_ == Cause::kNotFound; }
  bool IsExists() const { return cause_ == Cause::kExists; }

  // The spec's error object: {"cniVersion","code","msg"[,"details"]}.
  std::string ToJson(std::string_view cni_version) const;

 private:
  Code code_;
  std::string msg_;
  std::string details_;
  Cause cause_;
};

// The single errno mapper: ENOENT/ENODEV/ESRCH -> kNotFound cause, EEXIST -> kExists,
// EAGAIN/EBUSY -> code 11, everything else -> the given default code.
Error ErrnoError(std::string_view what, int err, Code code = Code::kIoFailure);

// Code 7: a config that decodes but asks for something that cannot be done.
inline Error InvalidConfig(std::string msg) {
  return Error(Code::kInvalidNetworkConfig, std::move(msg));
}

struct Ok {};

// A value or an Error; shaped like std::expected so it can be swapped later.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace cni

#endif  // LINEN_LIBCNI_SYS_ERROR_H_
