// libcurl set-up shared by the registries that speak HTTP (etcd's JSON gateway, the
// Kubernetes API): global init, RAII handles, collecting a body, and telling a TLS
// failure from an unreachable endpoint. What each service adds (its flags in hints,
// its auth) stays in its own folder.
#ifndef LINEN_OVERLAY_REGISTRY_CURL_UTIL_H_
#define LINEN_OVERLAY_REGISTRY_CURL_UTIL_H_

#include <curl/curl.h>

#include <memory>
#include <string>

namespace linen::http {

// curl_global_init is not thread-safe; everything that makes a handle calls this first.
void EnsureCurlInit();

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// Appends received bytes to the std::string passed as userdata.
size_t AppendToString(char* data, size_t size, size_t n, void* userdata);

// What went wrong with a transfer: the CURLOPT_ERRORBUFFER text when curl left one
// (often more precise), else curl_easy_strerror, without a trailing newline.
std::string CurlWords(CURLcode rc, const char* detail);

// Whether a transfer failed in TLS (certificate not trusted, ours refused, a key that
// cannot be read) rather than because the endpoint could not be reached.
bool IsTlsError(CURLcode rc, const std::string& words);

}  // namespace linen::http

#endif  // LINEN_OVERLAY_REGISTRY_CURL_UTIL_H_
