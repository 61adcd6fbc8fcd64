#include "libcni/error.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

namespace cni {

Error Error::Context(std::string_view what) const {
  std::string msg(what);
  msg += ": ";
  msg += msg_;
  return Error(code_, std::move(msg), details_, cause_);
}

Error Error::WithCode(Code code) const { return Error(code, msg_, details_, cause_); }

std::string Error::ToJson(std::string_view cni_version) const {
  // ordered_json keeps the spec's field order, which is what people diff against.
  nlohmann::ordered_json j;
  j["cniVersion"] = std::string(cni_version);
  j["code"] = code_number();
  j["msg"] = msg_;
  if (!details_.empty()) j["details"] = details_;
  // Replace invalid UTF-8 (e.g. raw bytes from a bad env var) instead of throwing.
  return j.dump(4, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Error ErrnoError(std::string_view what, int err, Code code) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ESRCH:
      return Error(code, std::move(msg), "", Cause::kNotFound);
    case EEXIST:
      return Error(code, std::move(msg), "", Cause::kExists);
    case EAGAIN:
    case EBUSY:
      return Error(Code::kTryAgainLater, std::move(msg));
    default:
      return Error(code, std::move(msg));
  }
}

}  // namespace cni
