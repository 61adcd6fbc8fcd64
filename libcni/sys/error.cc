#include "libcni/sys/error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace cni {
namespace {

// Number of bytes of a well-formed UTF-8 sequence starting at s[i] (RFC 3629 table,
// so overlongs and surrogates are ill-formed); 0 when it is ill-formed, with *prefix
// set to how many leading bytes were still acceptable (at least 1).
size_t Utf8SequenceAt(std::string_view s, size_t i, size_t* prefix) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char lead = b(0);
  if (lead < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    *prefix = 1;
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    const bool in_range = i + k < s.size() && (k == 1 ? b(k) >= lo && b(k) <= hi
                                                      : b(k) >= 0x80 && b(k) <= 0xBF);
    if (!in_range) {
      *prefix = k;
      return 0;
    }
  }
  return len;
}

// A JSON string literal. Messages can carry raw bytes from the environment (a bad
// CNI_IFNAME, say), and the error object must still parse: each ill-formed UTF-8
// run becomes U+FFFD, the way nlohmann's error_handler_t::replace does it, so the
// output is byte-identical to what PluginMain printed before it moved here.
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
      ++i;
      continue;
    }
    size_t prefix = 0;
    if (size_t len = Utf8SequenceAt(s, i, &prefix); len > 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      i += prefix;
    }
  }
  out += '"';
}

}  // namespace

Error Error::Context(std::string_view what) const {
  std::string msg(what);
  msg += ": ";
  msg += msg_;
  return Error(code_, std::move(msg), details_, cause_);
}

Error Error::WithCode(Code code) const { return Error(code, msg_, details_, cause_); }

std::string Error::ToJson(std::string_view cni_version) const {
  // The spec's field order, four-space indent: what people diff against.
  std::string j = "{\n    \"cniVersion\": ";
  AppendJsonString(j, cni_version);
  j += ",\n    \"code\": " + std::to_string(code_number());
  j += ",\n    \"msg\": ";
  AppendJsonString(j, msg_);
  if (!details_.empty()) {
    j += ",\n    \"details\": ";
    AppendJsonString(j, details_);
  }
  j += "\n}";
  return j;
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
