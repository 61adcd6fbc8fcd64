#include "overlay/registry/curl_util.h"

#include <mutex>

namespace linen::http {

void EnsureCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendToString(char* data, size_t size, size_t n, void* userdata) {
  static_cast<std::string*>(userdata)->append(data, size * n);
  return size * n;
}

std::string CurlWords(CURLcode rc, const char* detail) {
  std::string words = detail != nullptr && detail[0] != '\0' ? detail : curl_easy_strerror(rc);
  while (!words.empty() && (words.back() == '\n' || words.back() == ' ')) words.pop_back();
  return words;
}

bool IsTlsError(CURLcode rc, const std::string& words) {
  switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return true;
    default:
      // With TLS 1.3 the server checks our certificate after the handshake, so its
      // refusal arrives as an alert on the first read (or write).
      return (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) &&
             (words.find("SSL") != std::string::npos || words.find("alert") != std::string::npos);
  }
}

}  // namespace linen::http
