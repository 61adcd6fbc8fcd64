#include "overlay/registry/etcd/etcd_client.h"

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

cni::Result<std::unique_ptr<Client>> Client::Create(const ClientOptions& opts) {
  if (opts.endpoints.empty()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "etcd: no endpoints given");
  }
  for (const auto& ep : opts.endpoints) {
    if (ep.rfind("http://", 0) != 0 && ep.rfind("https://", 0) != 0) {
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "etcd endpoint \"" + ep + "\": must start with http:// or https://");
    }
  }
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
  CurlSlistPtr headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
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
  if (rc != CURLE_OK) {
    return cni::Error(cni::Code::kTryAgainLater,
                      "etcd " + url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    // The gateway puts a gRPC status in the body; keep its words.
    json j = json::parse(answer, nullptr, false);
    if (auto err = wire::StatusError(j, "etcd " + url)) return *err;
    return cni::Error(cni::Code::kIoFailure, "etcd " + url + ": HTTP " +
                                                 std::to_string(status) + ": " +
                                                 answer.substr(0, 200));
  }
  return answer;
}

cni::Result<std::string> Client::CallAny(const std::string& path, const std::string* body) {
  // Start with the endpoint that answered last; move on only when one is unreachable
  // (an answer, even an error, means the cluster was reached).
  std::optional<cni::Error> last;
  const size_t n = opts_.endpoints.size();
  for (size_t k = 0; k < n; ++k) {
    size_t i = (preferred_ + k) % n;
    auto r = CallOne(opts_.endpoints[i], path, body);
    if (r || r.error().code() != cni::Code::kTryAgainLater) {
      preferred_ = i;
      return r;
    }
    last = r.error();
  }
  if (n > 1) return last->Context("etcd unreachable (" + std::to_string(n) + " endpoints)");
  return *last;
}

cni::Result<std::string> Client::Call(const std::string& path, const std::string& body) {
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
