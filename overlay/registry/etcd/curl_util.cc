#include "overlay/registry/etcd/curl_util.h"

namespace linen::etcd {

void SetTlsOptions(CURL* c, const ClientOptions& opts) {
  if (!opts.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts.ca_file.c_str());
  if (!opts.cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, opts.cert_file.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, opts.key_file.c_str());
  }
}

CurlSlistPtr RequestHeaders(const std::string& token) {
  CurlSlistPtr h(curl_slist_append(nullptr, "Content-Type: application/json"));
  if (!token.empty()) {
    std::string line = "Authorization: " + token;
    // Appends in place (the head stays the same); on failure the list is unchanged
    // and etcd's "user name is empty" answer reports the missing token.
    (void)curl_slist_append(h.get(), line.c_str());
  }
  return h;
}

namespace {

bool Contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

constexpr const char* kTlsFailed = ": TLS failed: ";

// What to check for a TLS failure, from curl's code and OpenSSL's words.
std::string TlsHint(CURLcode rc, const std::string& words) {
  if (rc == CURLE_PEER_FAILED_VERIFICATION) {
    return "the server's certificate is not signed by the CA in --etcd-cafile, or does not "
           "name the endpoint's host/IP in its subjectAltName";
  }
  if (rc == CURLE_SSL_CACERT_BADFILE) return "cannot read the CA file (--etcd-cafile)";
  if (rc == CURLE_SSL_CERTPROBLEM) {
    return "cannot use the client certificate/key (--etcd-certfile/--etcd-keyfile)";
  }
  if (Contains(words, "alert bad certificate") || Contains(words, "alert unknown ca") ||
      Contains(words, "certificate required")) {
    return "etcd refused our client certificate: --etcd-certfile must be signed by the CA "
           "etcd trusts (--trusted-ca-file) and be given when etcd runs with "
           "--client-cert-auth";
  }
  if (Contains(words, "wrong version number")) {
    return "the endpoint does not speak TLS: use http:// for it, or enable TLS on etcd";
  }
  return "check --etcd-cafile/--etcd-certfile/--etcd-keyfile against etcd's TLS set-up";
}

}  // namespace

cni::Error TransferError(const std::string& url, CURLcode rc, const char* detail) {
  std::string words = http::CurlWords(rc, detail);
  if (http::IsTlsError(rc, words)) {
    return cni::Error(cni::Code::kIoFailure,
                      "etcd " + url + kTlsFailed + words + " (" + TlsHint(rc, words) + ")");
  }
  return cni::Error(cni::Code::kTryAgainLater, "etcd " + url + ": " + words);
}

std::optional<cni::Error> RefusalBehindReset(const std::string& url, CURLcode rc,
                                             const ClientOptions& opts) {
  // Over TLS curl speaks HTTP/2 to etcd (ALPN), where a reset surfaces as a framing
  // layer error.
  const bool reset = rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
                     rc == CURLE_GOT_NOTHING || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
  if (url.rfind("https://", 0) != 0 || !reset) return std::nullopt;
  CurlEasyPtr probe(curl_easy_init());
  if (!probe) return std::nullopt;
  CURL* c = probe.get();
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_SSLVERSION,
                   static_cast<long>(CURL_SSLVERSION_TLSv1_2) |
                       static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  SetTlsOptions(c, opts);
  CURLcode probe_rc = curl_easy_perform(c);
  std::string words = detail;
  // Only the server's verdict on our certificate counts; a server that does not offer
  // TLS 1.2 says nothing about it.
  if (probe_rc == CURLE_OK || !http::IsTlsError(probe_rc, words) || !Contains(words, "alert") ||
      Contains(words, "protocol version")) {
    return std::nullopt;
  }
  return TransferError(url, probe_rc, detail);
}

bool IsTlsFailure(const cni::Error& e) {
  return e.code() == cni::Code::kIoFailure && Contains(e.msg(), kTlsFailed);
}

bool IsTokenRefusal(const std::string& text) {
  return Contains(text, "etcdserver: invalid auth token") ||
         Contains(text, "etcdserver: user name is empty") ||
         Contains(text, "etcdserver: revision of auth store is old");
}

}  // namespace linen::etcd
