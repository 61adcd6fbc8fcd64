// Internal to the etcd client: what its unary calls and its watch add to the shared
// libcurl helpers (overlay/registry/curl_util.h): etcd's TLS options, auth header and
// error wording.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_CURL_UTIL_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_CURL_UTIL_H_

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>

#include "libcni/error.h"
#include "overlay/registry/curl_util.h"
#include "overlay/registry/etcd/etcd_client.h"

namespace linen::etcd {

using http::AppendToString;
using http::CurlEasyPtr;
using http::CurlSlistPtr;
using http::EnsureCurlInit;

// Sets the TLS options of `opts` on `c` (curl applies them to https:// URLs only;
// peer and host verification stay curl's default: on).
void SetTlsOptions(CURL* c, const ClientOptions& opts);

// JSON content type, plus "Authorization: <token>" when token is not empty.
CurlSlistPtr RequestHeaders(const std::string& token);

// The error for a transfer to `url` that failed with `rc` (`detail` is the
// CURLOPT_ERRORBUFFER text, often more precise than curl_easy_strerror). TLS
// failures are code 5 with curl's words and what to check; everything else means
// the endpoint could not be reached or did not answer: code 11.
cni::Error TransferError(const std::string& url, CURLcode rc, const char* detail);
// With TLS 1.3 the server checks our client certificate after the handshake, so its
// refusal reaches us as a reset connection, like a crashed server. After a transfer
// to an https `url` failed that way (`rc`), one handshake-only probe capped at TLS 1.2,
// where the check is part of the handshake, tells the two apart: returns the probe's
// TLS failure when the server refused us, else nullopt (the original error stands).
std::optional<cni::Error> RefusalBehindReset(const std::string& url, CURLcode rc,
                                             const ClientOptions& opts);

// Whether `e` came from TransferError for a TLS failure.
bool IsTlsFailure(const cni::Error& e);

// etcd's words for a token it no longer accepts (expired, etcd restarted, password
// changed) or a request without one while auth is on: log in again.
bool IsTokenRefusal(const std::string& text);

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_CURL_UTIL_H_
