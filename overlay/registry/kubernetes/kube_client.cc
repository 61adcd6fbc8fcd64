#include "overlay/registry/kubernetes/kube_client.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "libcni/decode.h"
#include "libcni/types.h"
#include "overlay/registry/curl_util.h"

namespace linen::kube {
namespace {

using cni::json;
using Clock = std::chrono::steady_clock;

static_assert(CURL_ERROR_SIZE <= 256, "NodeWatch::error_detail_ too small");

CURL* E(void* p) { return static_cast<CURL*>(p); }
CURLM* M(void* p) { return static_cast<CURLM*>(p); }

void SetBlob(CURL* c, CURLoption opt, const std::string& data) {
  curl_blob blob{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
  curl_easy_setopt(c, opt, &blob);
}

cni::Error TransportError(const std::string& url, CURLcode rc, const char* detail) {
  std::string words = http::CurlWords(rc, detail);
  if (http::IsTlsError(rc, words)) {
    return cni::Error(cni::Code::kIoFailure,
                      "kubernetes API " + url + ": TLS failed: " + words +
                          " (check the CA of --kubeconfig or the service account's ca.crt, "
                          "and the client certificate)");
  }
  return cni::Error(cni::Code::kTryAgainLater, "kubernetes API " + url + ": " + words);
}

// The message of a Status object body, else the start of the body.
std::string StatusMessage(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.value("kind", std::string()) == "Status" && j.contains("message") &&
      j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

}  // namespace

cni::Error AnswerError(const std::string& what, const HttpAnswer& a) {
  const std::string msg = what + ": HTTP " + std::to_string(a.status) + ": " + StatusMessage(a.body);
  switch (a.status) {
    case 401:
      return cni::Error(cni::Code::kIoFailure,
                        msg + " (the API server refused our token or certificate)");
    case 403:
      return cni::Error(cni::Code::kIoFailure,
                        msg + " (RBAC: linen needs nodes get/list/watch and nodes/status patch)");
    case 404:
      return cni::Error(cni::Code::kIoFailure, msg, "", cni::Cause::kNotFound);
    default:
      if (a.status == 429 || a.status >= 500) return cni::Error(cni::Code::kTryAgainLater, msg);
      return cni::Error(cni::Code::kIoFailure, msg);
  }
}

cni::Result<std::unique_ptr<Client>> Client::Create(const KubeClientConfig& cfg) {
  if (cfg.server.rfind("https://", 0) != 0) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "kubernetes API server \"" + cfg.server + "\": must be https://");
  }
  http::EnsureCurlInit();
  std::unique_ptr<Client> c(new Client(cfg));
  c->curl_ = curl_easy_init();
  if (c->curl_ == nullptr) return cni::Error(cni::Code::kInternal, "curl_easy_init failed");
  if (auto t = c->Token(); !t) return t.error();
  return c;
}

Client::~Client() {
  if (curl_ != nullptr) curl_easy_cleanup(E(curl_));
}

cni::Result<std::string> Client::Token(bool force) {
  if (cfg_.token_file.empty()) return cfg_.token;
  struct stat st {};
  if (stat(cfg_.token_file.c_str(), &st) != 0) {
    return cni::ErrnoError("kubernetes token file " + cfg_.token_file, errno);
  }
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (!force && token_reads_ > 0 && st.st_dev == token_stat_.dev && st.st_ino == token_stat_.ino &&
      st.st_size == token_stat_.size && mtime_ns == token_stat_.mtime_ns) {
    return token_;
  }
  std::ifstream in(cfg_.token_file, std::ios::binary);
  if (!in) return cni::ErrnoError("kubernetes token file " + cfg_.token_file, errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  token_ = t;
  token_stat_ = {st.st_dev, st.st_ino, st.st_size, mtime_ns};
  ++token_reads_;
  return token_;
}

cni::Status Client::Prepare(void* curl, const std::string& path, const std::string& content_type,
                            bool stream, void** headers) {
  CURL* c = E(curl);
  auto token = Token();
  if (!token) return token.error();
  const std::string url = cfg_.server + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // The API server is addressed directly, never through a proxy from the environment.
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.connect_timeout.count()));
  if (!stream) {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.request_timeout.count()));
  } else {
    // A server that vanishes without closing the stream is noticed by TCP keepalive.
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
  }
  if (!cfg_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg_.ca_file.c_str());
  if (!cfg_.ca_pem.empty()) SetBlob(c, CURLOPT_CAINFO_BLOB, cfg_.ca_pem);
  if (!cfg_.cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, cfg_.cert_file.c_str());
  if (!cfg_.key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, cfg_.key_file.c_str());
  if (!cfg_.cert_pem.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    SetBlob(c, CURLOPT_SSLCERT_BLOB, cfg_.cert_pem);
  }
  if (!cfg_.key_pem.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    SetBlob(c, CURLOPT_SSLKEY_BLOB, cfg_.key_pem);
  }
  curl_slist* h = curl_slist_append(nullptr, "Accept: application/json");
  if (!content_type.empty()) h = curl_slist_append(h, ("Content-Type: " + content_type).c_str());
  if (!token->empty()) h = curl_slist_append(h, ("Authorization: Bearer " + *token).c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  *headers = h;
  return cni::OkStatus();
}

cni::Result<HttpAnswer> Client::Once(const std::string& method, const std::string& path,
                                     const std::string& content_type, const std::string& body) {
  CURL* c = E(curl_);
  curl_easy_reset(c);  // keeps the connection cache, drops the previous options
  void* raw_headers = nullptr;
  if (auto s = Prepare(c, path, content_type, /*stream=*/false, &raw_headers); !s) {
    return s.error();
  }
  http::CurlSlistPtr headers(static_cast<curl_slist*>(raw_headers));
  HttpAnswer a;
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http::AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  if (rc != CURLE_OK) return TransportError(cfg_.server + path, rc, detail);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

cni::Result<HttpAnswer> Client::Request(const std::string& method, const std::string& path,
                                        const std::string& content_type,
                                        const std::string& body) {
  auto a = Once(method, path, content_type, body);
  if (!a || a->status != 401 || cfg_.token_file.empty()) return a;
  // The token may have been rotated since we read it (same size and mtime second).
  if (auto t = Token(/*force=*/true); !t) return t.error();
  return Once(method, path, content_type, body);
}

// ---- NodeWatch ----

cni::Result<std::unique_ptr<NodeWatch>> NodeWatch::Start(Client& client,
                                                         const std::string& resource_version,
                                                         int timeout_seconds) {
  const std::string path = "/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=" +
                           resource_version + "&timeoutSeconds=" + std::to_string(timeout_seconds);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<NodeWatch> w(new NodeWatch());
    w->multi_ = curl_multi_init();
    w->easy_ = curl_easy_init();
    if (w->multi_ == nullptr || w->easy_ == nullptr) {
      return cni::Error(cni::Code::kInternal, "kubernetes watch: curl init failed");
    }
    CURL* c = E(w->easy_);
    if (auto s = client.Prepare(c, path, "", /*stream=*/true, &w->headers_); !s) return s.error();
    w->url_ = client.config().server + path;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->error_detail_);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http::AppendToString);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &w->buffer_);
    curl_multi_add_handle(M(w->multi_), c);

    // Wait for the status line, so an unreachable or refusing server is reported here.
    const auto deadline =
        Clock::now() + client.config().connect_timeout + client.config().request_timeout;
    long status = 0;
    for (;;) {
      w->Drive();
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      if (w->end_ != End::kNone || status == 200) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        return cni::Error(cni::Code::kTryAgainLater,
                          "kubernetes watch " + w->url_ + ": no answer in time");
      }
      curl_multi_poll(M(w->multi_), nullptr, 0, static_cast<int>(left.count()), nullptr);
    }
    if (status == 200 || w->end_ == End::kGone) return w;
    if (status == 401 && attempt == 0 && !client.config().token_file.empty()) {
      if (auto t = client.Token(/*force=*/true); !t) return t.error();
      continue;
    }
    return *w->error_;
  }
}

NodeWatch::~NodeWatch() {
  if (multi_ != nullptr && easy_ != nullptr) curl_multi_remove_handle(M(multi_), E(easy_));
  if (easy_ != nullptr) curl_easy_cleanup(E(easy_));
  if (multi_ != nullptr) curl_multi_cleanup(M(multi_));
  if (headers_ != nullptr) curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

void NodeWatch::Finish(End why, cni::Error e) {
  if (end_ != End::kNone) return;
  end_ = why;
  error_ = std::move(e);
}

void NodeWatch::Drive() {
  int running = 0;
  curl_multi_perform(M(multi_), &running);
  long status = 0;
  curl_easy_getinfo(E(easy_), CURLINFO_RESPONSE_CODE, &status);
  // A refused watch answers with one Status object, not a stream of events.
  if (status == 200) ParseBuffer();
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(M(multi_), &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURLcode rc = msg->data.result;
    curl_easy_getinfo(E(easy_), CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
      Finish(End::kFailed, TransportError(url_, rc, error_detail_));
    } else if (status == 200) {
      ParseBuffer();
      Finish(End::kClosed, cni::Error(cni::Code::kTryAgainLater,
                                      "kubernetes watch " + url_ + ": stream closed"));
    } else {
      HttpAnswer a{status, buffer_};
      Finish(status == 410 ? End::kGone : End::kFailed,
             AnswerError("kubernetes watch " + url_, a));
    }
  }
}

void NodeWatch::ParseBuffer() {
  size_t start = 0;
  for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(buffer_.data() + start, nl - start);
    if (end_ != End::kNone) continue;  // nothing after an error event counts
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      Finish(End::kFailed, cni::Error(cni::Code::kDecodingFailure,
                                      "kubernetes watch: not a JSON event: " +
                                          std::string(line.substr(0, 200))));
      continue;
    }
    const std::string type = j.value("type", std::string());
    const json& obj = j.contains("object") ? j["object"] : json();
    if (type == "ERROR") {
      const int code = obj.is_object() && obj.contains("code") && obj["code"].is_number_integer()
                           ? obj["code"].get<int>()
                           : 0;
      HttpAnswer a{code, obj.dump()};
      Finish(code == 410 ? End::kGone : End::kFailed, AnswerError("kubernetes watch", a));
      continue;
    }
    WatchEvent ev;
    if (type == "ADDED") {
      ev.type = WatchEvent::Type::kAdded;
    } else if (type == "MODIFIED") {
      ev.type = WatchEvent::Type::kModified;
    } else if (type == "DELETED") {
      ev.type = WatchEvent::Type::kDeleted;
    } else if (type == "BOOKMARK") {
      ev.type = WatchEvent::Type::kBookmark;
      const cni::Decoder meta = cni::Decoder(obj, "bookmark")["metadata"];
      auto rv = meta["resourceVersion"].As<std::string>();
      if (!rv) {
        Finish(End::kFailed, rv.error().Context("kubernetes watch"));
        continue;
      }
      ev.node.resource_version = *rv;
      pending_.push_back(std::move(ev));
      continue;
    } else {
      Finish(End::kFailed, cni::Error(cni::Code::kDecodingFailure,
                                      "kubernetes watch: unknown event type \"" + type + "\""));
      continue;
    }
    auto node = DecodeNode(obj);
    if (!node) {
      Finish(End::kFailed, node.error().Context("kubernetes watch"));
      continue;
    }
    ev.node = *std::move(node);
    pending_.push_back(std::move(ev));
  }
  buffer_.erase(0, start);
}

cni::Result<std::vector<WatchEvent>> NodeWatch::Next(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (end_ == End::kNone) Drive();
    if (!pending_.empty()) {
      std::vector<WatchEvent> out(std::make_move_iterator(pending_.begin()),
                                  std::make_move_iterator(pending_.end()));
      pending_.clear();
      return out;
    }
    if (end_ != End::kNone) return *error_;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::vector<WatchEvent>();
    curl_multi_poll(M(multi_), nullptr, 0, static_cast<int>(left.count()), nullptr);
  }
}

}  // namespace linen::kube
