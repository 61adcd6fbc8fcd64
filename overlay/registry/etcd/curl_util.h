// Internal to the etcd client: libcurl set-up shared by unary calls and the watch.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_CURL_UTIL_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_CURL_UTIL_H_

#include <curl/curl.h>

#include <memory>
#include <string>

namespace linen::etcd {

// curl_global_init is not thread-safe; everything here calls this first.
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

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_CURL_UTIL_H_
