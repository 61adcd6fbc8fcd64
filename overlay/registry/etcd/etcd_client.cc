#include "overlay/registry/etcd/etcd_client.h"

#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "libcni/base64.h"
#include "overlay/registry/etcd/curl_util.h"
#include "overlay/registry/etcd/wire.h"

namespace linen::etcd {
namespace {

using nlohmann::json;

CURL* AsCurl(void* p) { return static_cast<CURL*>(p); }

const char* TargetName(Compare::Target t) {
  switch (t) {
    case Compare::Target::kCreate: return "CREATE";
    case Compare::Target::kMod: return "MOD";
    case Compare::Target::kVersion: return "VERSION";
    case Compare::Target::kValue: return "VALUE";
    case Compare::Target::kLease: return "LEASE";
  }
  return "CREATE";
}

const char* OpName(Compare::Op op) {
  switch (op) {
    case Compare::Op::kEqual: return "EQUAL";
    case Compare::Op::kNotEqual: return "NOT_EQUAL";
    case Compare::Op::kGreater: return "GREATER";
    case Compare::Op::kLess: return "LESS";
  }
  return "EQUAL";
}

json CompareJson(const Compare& c) {
  json j = {{"target", TargetName(c.target)},
            {"result", OpName(c.op)},
            {"key", cni::Base64Encode(c.key)}};
  switch (c.target) {
    case Compare::Target::kCreate: j["create_revision"] = std::to_string(c.number); break;
    case Compare::Target::kMod: j["mod_revision"] = std::to_string(c.number); break;
    case Compare::Target::kVersion: j["version"] = std::to_string(c.number); break;
    case Compare::Target::kLease: j["lease"] = std::to_string(c.number); break;
    case Compare::Target::kValue: j["value"] = cni::Base64Encode(c.value); break;
  }
  return j;
}

json OpJson(const TxnOp& op) {
  json body = {{"key", cni::Base64Encode(op.key)}};
  switch (op.kind) {
    case TxnOp::Kind::kPut:
      body["value"] = cni::Base64Encode(op.value);
      if (op.lease != 0) body["lease"] = std::to_string(op.lease);
      return {{"request_put", body}};
    case TxnOp::Kind::kDelete:
      if (!op.range_end.empty()) body["range_end"] = cni::Base64Encode(op.range_end);
      return {{"request_delete_range", body}};
    case TxnOp::Kind::kRange:
      if (!op.range_end.empty()) body["range_end"] = cni::Base64Encode(op.range_end);
      return {{"request_range", body}};
  }
  return body;
}

// Parses a unary answer, turning gateway status bodies into errors.
cni::Result<json> ParseAnswer(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return cni::Error(cni::Code::kDecodingFailure,
                      what + ": etcd answered with something that is not JSON: " +
                          text.substr(0, 200));
  }
  if (auto err = wire::StatusError(j, what)) return *err;
  return j;
}

}  // namespace

std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  // Increment the last byte that is not 0xff, dropping the 0xff tail; an all-0xff
  // prefix has no end, which etcd spells "\0" (every key from `prefix` on).
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

cni::Status ValidateClientOptions(const ClientOptions& opts) {
  if (opts.endpoints.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd: no endpoints given");
  }
  for (const auto& ep : opts.endpoints) {
    if (ep.rfind("http://", 0) != 0 && ep.rfind("https://", 0) != 0) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "etcd endpoint \"" + ep + "\": must start with http:// or https://");
    }
  }
  if (opts.cert_file.empty() != opts.key_file.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd: a client certificate needs both --etcd-certfile and --etcd-keyfile");
  }
  for (auto [flag, path] : {std::pair{"--etcd-cafile", &opts.ca_file},
                            std::pair{"--etcd-certfile", &opts.cert_file},
                            std::pair{"--etcd-keyfile", &opts.key_file}}) {
    // Checked here so a typo is one clear error at start, not a TLS failure later.
    if (!path->empty() && access(path->c_str(), R_OK) != 0) {
      return cni::ErrnoError(std::string("etcd ") + flag + " " + *path, errno,
                             cni::Code::kInvalidNetworkConfig);
    }
  }
  if (opts.username.empty() && !opts.password.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig,
                      "etcd: a password was given without a user name (--etcd-username)");
  }
  return cni::OkStatus();
}

cni::Result<std::unique_ptr<Client>> Client::Create(const ClientOptions& opts) {
  if (auto s = ValidateClientOptions(opts); !s) return s.error();
  EnsureCurlInit();
  std::unique_ptr<Client> c(new Client(opts));
  c->curl_ = curl_easy_init();
  if (c->curl_ == nullptr) return cni::Error(cni::Code::kInternal, "etcd: curl_easy_init failed");
  return c;
}

Client::Client(ClientOptions opts) : opts_(std::move(opts)) {
  for (auto& ep : opts_.endpoints) {
    while (!ep.empty() && ep.back() == '/') ep.pop_back();
  }
}

Client::~Client() {
  if (curl_ != nullptr) curl_easy_cleanup(AsCurl(curl_));
}

cni::Result<std::string> Client::CallOne(const std::string& endpoint, const std::string& path,
                                         const std::string* body) {
  CURL* c = AsCurl(curl_);
  curl_easy_reset(c);  // keeps the connection cache, drops the previous options
  std::string url = endpoint + path;
  std::string answer;
  char detail[CURL_ERROR_SIZE] = {};
  CurlSlistPtr headers = RequestHeaders(token_);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  SetTlsOptions(c, opts_);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(opts_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  // No proxy from the environment: etcd is always addressed directly.
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  CURLcode rc = curl_easy_perform(c);
  // The stack buffer must not outlive this call inside the handle.
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    if (auto refused = RefusalBehindReset(url, rc, opts_)) return *refused;
    return TransferError(url, rc, detail);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    // The gateway puts a gRPC status in the body; keep its words.
    json j = json::parse(answer, nullptr, false);
    if (auto err = wire::StatusError(j, "etcd " + url)) return *err;
    std::string hint;
    if (answer.find("CommonName of client sending a request against gateway") !=
        std::string::npos) {
      // etcd 3.4+ with --client-cert-auth and auth enabled refuses, on the JSON
      // gateway, every client certificate that has a Common Name.
      hint = " (etcd with --client-cert-auth and auth enabled refuses a client certificate "
             "with a Common Name on the JSON gateway linen uses: issue linen's certificate "
             "without a CN, e.g. -subj /O=linen, identity in subjectAltName)";
    }
    return cni::Error(cni::Code::kIoFailure, "etcd " + url + ": HTTP " +
                                                 std::to_string(status) + ": " +
                                                 answer.substr(0, 200) + hint);
  }
  return answer;
}

cni::Result<std::string> Client::CallAny(const std::string& path, const std::string* body) {
  // Start with the endpoint that answered last; move on when one is unreachable or
  // its TLS failed (another member's certificate may be fine). An answer, even an
  // error, means the cluster was reached.
  std::optional<cni::Error> last;
  std::optional<cni::Error> tls;
  const size_t n = opts_.endpoints.size();
  for (size_t k = 0; k < n; ++k) {
    size_t i = (preferred_ + k) % n;
    auto r = CallOne(opts_.endpoints[i], path, body);
    if (r) {
      preferred_ = i;
      return r;
    }
    if (r.error().code() == cni::Code::kTryAgainLater) {
      last = r.error();
    } else if (IsTlsFailure(r.error())) {
      if (!tls) tls = r.error();
    } else {
      preferred_ = i;
      return r;
    }
  }
  // A TLS failure is the reason to report: it will not go away by waiting.
  if (tls) return *tls;
  if (n > 1) return last->Context("etcd unreachable (" + std::to_string(n) + " endpoints)");
  return *last;
}

cni::Status Client::Authenticate() {
  token_.clear();
  const std::string body =
      json{{"name", opts_.username}, {"password", opts_.password}}.dump();
  auto text = CallAny("/v3/auth/authenticate", &body);
  const std::string what = "etcd login as user \"" + opts_.username + "\"";
  if (!text) {
    if (text.error().msg().find("authentication is not enabled") != std::string::npos) {
      auth_disabled_ = true;
      return cni::OkStatus();
    }
    return text.error().Context(what);
  }
  auto j = ParseAnswer(*text, what);
  if (!j) return j.error();
  token_ = j->value("token", std::string());
  if (token_.empty()) {
    return cni::Error(cni::Code::kIoFailure, what + ": etcd answered without a token");
  }
  auth_disabled_ = false;
  ++logins_;
  return cni::OkStatus();
}

cni::Result<std::string> Client::Token() {
  if (uses_auth() && token_.empty() && !auth_disabled_) {
    if (auto s = Authenticate(); !s) return s.error();
  }
  return token_;
}

cni::Status Client::Reauthenticate() {
  auth_disabled_ = false;
  return Authenticate();
}

cni::Result<std::string> Client::Call(const std::string& path, const std::string& body) {
  if (auto t = Token(); !t) return t.error();
  auto r = CallAny(path, &body);
  if (!uses_auth()) return r;
  // Keys and values travel base64-encoded, so etcd's words in a body are its own.
  bool refused = r ? IsTokenRefusal(*r) : IsTokenRefusal(r.error().msg());
  if (!refused) return r;
  // Expired (etcd forgets an idle token after --auth-token-ttl, and every token on
  // restart or password change), or auth was enabled after we found it off.
  if (auto s = Reauthenticate(); !s) return s.error();
  return CallAny(path, &body);
}

cni::Result<int64_t> Client::Put(const std::string& key, const std::string& value,
                                 int64_t lease) {
  json body = {{"key", cni::Base64Encode(key)}, {"value", cni::Base64Encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  auto text = Call("/v3/kv/put", body.dump());
  if (!text) return text.error();
  auto j = ParseAnswer(*text, "etcd put " + key);
  if (!j) return j.error();
  return wire::Int(j->value("header", json::object()), "revision");
}

cni::Result<RangeResponse> Client::Range(const std::string& key, const std::string& range_end) {
  json body = {{"key", cni::Base64Encode(key)}};
  if (!range_end.empty()) body["range_end"] = cni::Base64Encode(range_end);
  auto text = Call("/v3/kv/range", body.dump());
  if (!text) return text.error();
  auto j = ParseAnswer(*text, "etcd range " + key);
  if (!j) return j.error();
  return wire::ParseRange(*j);
}

cni::Result<std::optional<KeyValue>> Client::Get(const std::string& key) {
  auto r = Range(key);
  if (!r) return r.error();
  if (r->kvs.empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(r->kvs.front()));
}

cni::Result<int64_t> Client::Delete(const std::string& key, const std::string& range_end) {
  json body = {{"key", cni::Base64Encode(key)}};
  if (!range_end.empty()) body["range_end"] = cni::Base64Encode(range_end);
  auto text = Call("/v3/kv/deleterange", body.dump());
  if (!text) return text.error();
  auto j = ParseAnswer(*text, "etcd delete " + key);
  if (!j) return j.error();
  return wire::Int(*j, "deleted");
}

cni::Result<TxnResponse> Client::Txn(const std::vector<Compare>& compares,
                                     const std::vector<TxnOp>& success,
                                     const std::vector<TxnOp>& failure) {
  json body = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares) body["compare"].push_back(CompareJson(c));
  for (const auto& op : success) body["success"].push_back(OpJson(op));
  for (const auto& op : failure) body["failure"].push_back(OpJson(op));
  auto text = Call("/v3/kv/txn", body.dump());
  if (!text) return text.error();
  auto j = ParseAnswer(*text, "etcd txn");
  if (!j) return j.error();
  TxnResponse out;
  out.succeeded = j->value("succeeded", false);
  auto revision = wire::Int(j->value("header", json::object()), "revision");
  if (!revision) return revision.error();
  out.revision = *revision;
  if (auto rs = j->find("responses"); rs != j->end() && rs->is_array()) {
    for (const auto& r : *rs) {
      RangeResponse rr;
      if (auto range = r.find("response_range"); range != r.end()) {
        auto parsed = wire::ParseRange(*range);
        if (!parsed) return parsed.error();
        rr = *std::move(parsed);
      }
      out.responses.push_back(std::move(rr));
    }
  }
  return out;
}

cni::Result<LeaseGrant> Client::Grant(int64_t ttl_seconds) {
  json body = {{"TTL", std::to_string(ttl_seconds)}};
  auto text = Call("/v3/lease/grant", body.dump());
  if (!text) return text.error();
  auto j = ParseAnswer(*text, "etcd lease grant");
  if (!j) return j.error();
  auto id = wire::Int(*j, "ID");
  if (!id) return id.error();
  auto granted_ttl = wire::Int(*j, "TTL");
  if (!granted_ttl) return granted_ttl.error();
  LeaseGrant g{*id, *granted_ttl};
  if (g.id == 0) {
    return cni::Error(cni::Code::kIoFailure,
                      "etcd lease grant: " + j->value("error", std::string("no lease ID in answer")));
  }
  return g;
}

cni::Result<int64_t> Client::KeepAlive(int64_t lease) {
  json body = {{"ID", std::to_string(lease)}};
  auto text = Call("/v3/lease/keepalive", body.dump());
  if (!text) return text.error();
  // A streaming endpoint: one {"result":{...}} line per request message.
  auto nl = text->find('\n');
  auto j = ParseAnswer(text->substr(0, nl), "etcd lease keepalive " + std::to_string(lease));
  if (!j) return j.error();
  auto ttl_or = wire::Int(j->value("result", json::object()), "TTL");
  if (!ttl_or) return ttl_or.error();
  int64_t ttl = *ttl_or;
  if (ttl <= 0) {
    return cni::Error(cni::Code::kIoFailure,
                      "etcd lease " + std::to_string(lease) + " has expired", "",
                      cni::Cause::kNotFound);
  }
  return ttl;
}

cni::Result<int64_t> Client::TimeToLive(int64_t lease) {
  json body = {{"ID", std::to_string(lease)}};
  auto text = Call("/v3/lease/timetolive", body.dump());
  if (!text) return text.error();
  auto j = ParseAnswer(*text, "etcd lease timetolive " + std::to_string(lease));
  if (!j) return j.error();
  auto ttl_or = wire::Int(*j, "TTL");
  if (!ttl_or) return ttl_or.error();
  int64_t ttl = *ttl_or;
  // An expired lease reports TTL -1 (or omits it).
  if (ttl <= 0) {
    return cni::Error(cni::Code::kIoFailure,
                      "etcd lease " + std::to_string(lease) + " has expired", "",
                      cni::Cause::kNotFound);
  }
  return ttl;
}

cni::Status Client::Revoke(int64_t lease) {
  json body = {{"ID", std::to_string(lease)}};
  auto text = Call("/v3/lease/revoke", body.dump());
  if (!text) {
    // Revoking what is already gone is the goal reached.
    if (text.error().IsNotFound()) return cni::OkStatus();
    return text.error();
  }
  auto j = ParseAnswer(*text, "etcd lease revoke " + std::to_string(lease));
  if (!j && !j.error().IsNotFound()) return j.error();
  return cni::OkStatus();
}

cni::Status Client::Health() {
  auto text = CallAny("/health", nullptr);
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_object() && j.value("health", std::string()) == "true") return cni::OkStatus();
  return cni::Error(cni::Code::kTryAgainLater, "etcd reports unhealthy: " + text->substr(0, 200));
}

}  // namespace linen::etcd
