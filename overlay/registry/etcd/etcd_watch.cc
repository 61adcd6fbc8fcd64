#include "overlay/registry/etcd/etcd_watch.h"

#include <nlohmann/json.hpp>

#include "libcni/base64.h"
#include "overlay/registry/etcd/curl_util.h"
#include "overlay/registry/etcd/wire.h"

namespace linen::etcd {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

static_assert(CURL_ERROR_SIZE <= 256, "Watch::error_detail_ too small");

CURLM* M(void* p) { return static_cast<CURLM*>(p); }
CURL* E(void* p) { return static_cast<CURL*>(p); }

}  // namespace

cni::Result<std::unique_ptr<Watch>> Watch::Start(const ClientOptions& opts,
                                                 const std::string& key,
                                                 const std::string& range_end,
                                                 int64_t start_revision) {
  auto client = Client::Create(opts);
  if (!client) return client.error();
  return Start(**client, key, range_end, start_revision);
}

cni::Result<std::unique_ptr<Watch>> Watch::Start(Client& client, const std::string& key,
                                                 const std::string& range_end,
                                                 int64_t start_revision) {
  json create = {{"key", cni::Base64Encode(key)}};
  if (!range_end.empty()) create["range_end"] = cni::Base64Encode(range_end);
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  std::string body = json{{"create_request", create}}.dump();

  auto token = client.Token();
  if (!token) return token.error().Context("etcd watch");
  auto w = StartWithToken(client.options(), *token, body);
  if (w || !client.uses_auth() || !IsTokenRefusal(w.error().msg())) return w;
  // The token expired: a new login, then the same start revision again.
  if (auto s = client.Reauthenticate(); !s) return s.error().Context("etcd watch");
  token = client.Token();
  if (!token) return token.error().Context("etcd watch");
  return StartWithToken(client.options(), *token, body);
}

cni::Result<std::unique_ptr<Watch>> Watch::StartWithToken(const ClientOptions& opts,
                                                          const std::string& token,
                                                          const std::string& body) {
  std::optional<cni::Error> last;
  std::optional<cni::Error> tls;
  for (const auto& raw : opts.endpoints) {
    std::string ep = raw;
    while (!ep.empty() && ep.back() == '/') ep.pop_back();
    std::unique_ptr<Watch> w(new Watch());
    auto s = w->Open(opts, ep, token, body);
    if (s) return w;
    if (IsTlsFailure(s.error())) {
      if (!tls) tls = s.error();
      continue;
    }
    last = s.error();
    if (s.error().code() != cni::Code::kTryAgainLater) break;  // reached, but refused
  }
  if (last && last->code() != cni::Code::kTryAgainLater) return *last;
  if (tls) return *tls;
  if (!last) return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd watch: no endpoints");
  return *last;
}

cni::Status Watch::Open(const ClientOptions& opts, const std::string& endpoint,
                        const std::string& token, const std::string& body) {
  const std::chrono::milliseconds timeout = opts.connect_timeout + opts.request_timeout;
  opts_ = opts;
  EnsureCurlInit();
  url_ = endpoint + "/v3/watch";
  body_ = body;
  multi_ = curl_multi_init();
  easy_ = curl_easy_init();
  if (multi_ == nullptr || easy_ == nullptr) {
    return cni::Error(cni::Code::kInternal, "etcd watch: curl init failed");
  }
  headers_ = RequestHeaders(token).release();
  CURL* c = E(easy_);
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_detail_);
  SetTlsOptions(c, opts);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(headers_));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body_.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &buffer_);
  // A peer that vanishes without closing the connection (host gone, netns deleted)
  // is noticed by TCP keepalive rather than never.
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
  curl_multi_add_handle(M(multi_), c);

  // Wait for etcd's "created" message so an unreachable cluster is reported here,
  // not on the first Next().
  auto deadline = Clock::now() + timeout;
  while (!created_ && !lost_) {
    Drive();
    if (created_ || lost_) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return cni::Error(cni::Code::kTryAgainLater, "etcd watch " + url_ + ": no answer in time");
    }
    curl_multi_poll(M(multi_), nullptr, 0, static_cast<int>(left.count()), nullptr);
  }
  if (!created_) return *lost_;
  return cni::OkStatus();
}

Watch::~Watch() {
  if (multi_ != nullptr && easy_ != nullptr) curl_multi_remove_handle(M(multi_), E(easy_));
  if (easy_ != nullptr) curl_easy_cleanup(E(easy_));
  if (multi_ != nullptr) curl_multi_cleanup(M(multi_));
  if (headers_ != nullptr) curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

void Watch::Drive() {
  int running = 0;
  curl_multi_perform(M(multi_), &running);
  ParseBuffer();
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(M(multi_), &queued)) {
    if (msg->msg != CURLMSG_DONE || lost_) continue;
    CURLcode rc = msg->data.result;
    long status = 0;
    curl_easy_getinfo(E(easy_), CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
      auto refused = RefusalBehindReset(url_, rc, opts_);
      lost_ = refused ? *refused : TransferError(url_, rc, error_detail_);
      continue;
    }
    std::string why = "stream closed (HTTP " + std::to_string(status) + ")";
    if (status != 200 && !buffer_.empty()) why += ": " + buffer_.substr(0, 200);
    // A 4xx is etcd refusing this request (e.g. a client certificate with a CN under
    // auth); anything else may pass.
    bool refused = status >= 400 && status < 500;
    lost_ = cni::Error(refused ? cni::Code::kIoFailure : cni::Code::kTryAgainLater,
                       "etcd watch " + url_ + ": " + why);
  }
}

void Watch::ParseBuffer() {
  size_t start = 0;
  for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(buffer_.data() + start, nl - start);
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      lost_ = cni::Error(cni::Code::kDecodingFailure,
                         "etcd watch " + url_ + ": not JSON: " + std::string(line.substr(0, 200)));
      continue;
    }
    if (auto err = wire::StatusError(j, "etcd watch " + url_)) {
      if (!lost_) lost_ = *err;
      continue;
    }
    const json& r = j.contains("result") ? j["result"] : j;
    // etcd refuses a watch (bad token, no permission) with created and canceled both
    // set; that is a failed start, not a watch.
    if (r.value("created", false) && !r.value("canceled", false)) created_ = true;
    if (r.value("canceled", false)) {
      auto compact_or = wire::Int(r, "compact_revision");
      if (!compact_or) {
        if (!lost_) lost_ = compact_or.error().Context("etcd watch " + url_);
        continue;
      }
      int64_t compact = *compact_or;
      std::string why = compact > 0 ? "history compacted up to revision " + std::to_string(compact)
                                    : r.value("cancel_reason", std::string("canceled by etcd"));
      // Refused for auth (bad token, no permission on the range): not an outage.
      bool refused = compact == 0 && (IsTokenRefusal(why) ||
                                      why.find("permission denied") != std::string::npos);
      if (!lost_) {
        lost_ = cni::Error(refused ? cni::Code::kIoFailure : cni::Code::kTryAgainLater,
                           "etcd watch " + url_ + ": " + why);
      }
      continue;
    }
    if (auto evs = r.find("events"); evs != r.end() && evs->is_array()) {
      for (const auto& ev : *evs) {
        WatchEvent out;
        out.type = ev.value("type", std::string("PUT")) == "DELETE" ? WatchEvent::Type::kDelete
                                                                    : WatchEvent::Type::kPut;
        auto kv = wire::ParseKv(ev.value("kv", json::object()));
        if (!kv) {
          if (!lost_) lost_ = kv.error();
          continue;
        }
        out.kv = *std::move(kv);
        pending_.push_back(std::move(out));
      }
    }
  }
  buffer_.erase(0, start);
}

cni::Result<std::vector<WatchEvent>> Watch::Next(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!lost_) Drive();
    if (!pending_.empty()) {
      std::vector<WatchEvent> out(std::make_move_iterator(pending_.begin()),
                                  std::make_move_iterator(pending_.end()));
      pending_.clear();
      return out;
    }
    if (lost_) return *lost_;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::vector<WatchEvent>();
    curl_multi_poll(M(multi_), nullptr, 0, static_cast<int>(left.count()), nullptr);
  }
}

}  // namespace linen::etcd
