// A small etcd v3 client over the JSON gRPC gateway that etcd 3.4 serves on its
// client URL (/v3/kv/*, /v3/lease/*, /v3/watch), using libcurl. Keys and values are
// raw bytes here; base64 happens inside. See docs/etcd.md for why not gRPC.
//
// Errors: an unreachable cluster (every endpoint refused or timed out) is code 11
// (kTryAgainLater) so callers back off and retry; an answer etcd rejected is code 5
// naming etcd's words; "lease not found" carries the kNotFound cause. A TLS failure
// (server certificate not trusted, our client certificate refused, unreadable key)
// and a refused login are code 5 too, never 11: they are configuration to fix, not an
// outage to wait out, and the message says which.
//
// TLS: https:// endpoints verify the server's certificate and host name against
// ca_file (the system store when empty) and present cert_file/key_file when given;
// http:// endpoints in the same list stay plain. Auth: with a username the client
// logs in (/v3/auth/authenticate), sends the token on every request and watch, and
// logs in again and retries once when etcd says the token is invalid or expired.
//
// Not thread-safe: one client per thread (it keeps one reusable connection).
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_ETCD_CLIENT_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_ETCD_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"

namespace linen::etcd {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResponse {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // store revision the read saw (header.revision)
};

// One comparison of a transaction (etcd Compare), against `key`.
struct Compare {
  enum class Target { kCreate, kMod, kVersion, kValue, kLease };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  Target target = Target::kCreate;
  Op op = Op::kEqual;
  std::string key;
  int64_t number = 0;  // for kCreate/kMod/kVersion/kLease
  std::string value;   // for kValue

  // The key does not exist (create_revision == 0).
  static Compare Absent(std::string key) {
    Compare c;
    c.key = std::move(key);
    return c;
  }
  // The key was last modified at `rev` (optimistic concurrency).
  static Compare ModRevision(std::string key, int64_t rev) {
    Compare c;
    c.target = Target::kMod;
    c.key = std::move(key);
    c.number = rev;
    return c;
  }
};

// One operation of a transaction branch.
struct TxnOp {
  enum class Kind { kPut, kDelete, kRange };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;      // kPut
  int64_t lease = 0;      // kPut; 0 = none
  std::string range_end;  // kDelete/kRange; "" = the single key

  static TxnOp Put(std::string key, std::string value, int64_t lease = 0) {
    TxnOp op;
    op.key = std::move(key);
    op.value = std::move(value);
    op.lease = lease;
    return op;
  }
  static TxnOp Delete(std::string key) {
    TxnOp op;
    op.kind = Kind::kDelete;
    op.key = std::move(key);
    return op;
  }
  static TxnOp Get(std::string key) {
    TxnOp op;
    op.kind = Kind::kRange;
    op.key = std::move(key);
    return op;
  }
};

struct TxnResponse {
  bool succeeded = false;
  int64_t revision = 0;
  // One entry per op of the branch that ran; only kRange ops fill kvs.
  std::vector<RangeResponse> responses;
};

struct LeaseGrant {
  int64_t id = 0;
  int64_t ttl = 0;  // seconds, as granted
};

struct ClientOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379"; tried in order
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds connect_timeout{1000};
  // TLS for https:// endpoints (flannel's --etcd-cafile/-certfile/-keyfile). The
  // files are read per connection, so renewed certificates are picked up.
  std::string ca_file;    // CA bundle that signed the servers; "" = the system store
  std::string cert_file;  // client certificate (PEM), with key_file
  std::string key_file;
  // etcd auth; "" = none. etcd answering "authentication is not enabled" to a login
  // is accepted (requests then go without a token), as etcd's own client does.
  std::string username;
  std::string password;
};

// The end of the range that holds every key starting with `prefix`.
std::string PrefixRangeEnd(const std::string& prefix);

class Client {
 public:
  static cni::Result<std::unique_ptr<Client>> Create(const ClientOptions& opts);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const { return opts_; }

  cni::Result<int64_t> Put(const std::string& key, const std::string& value, int64_t lease = 0);
  // range_end "" = just `key`; PrefixRangeEnd(p) for a prefix.
  cni::Result<RangeResponse> Range(const std::string& key, const std::string& range_end = "");
  cni::Result<std::optional<KeyValue>> Get(const std::string& key);
  // Returns the number of keys deleted.
  cni::Result<int64_t> Delete(const std::string& key, const std::string& range_end = "");
  cni::Result<TxnResponse> Txn(const std::vector<Compare>& compares,
                               const std::vector<TxnOp>& success,
                               const std::vector<TxnOp>& failure = {});

  cni::Result<LeaseGrant> Grant(int64_t ttl_seconds);
  // One keepalive round trip; returns the TTL left. An expired or unknown lease is
  // an error with the kNotFound cause.
  cni::Result<int64_t> KeepAlive(int64_t lease);
  // Remaining TTL in seconds; kNotFound cause when the lease is gone.
  cni::Result<int64_t> TimeToLive(int64_t lease);
  // Revokes the lease and deletes its keys; an unknown lease is success.
  cni::Status Revoke(int64_t lease);

  // GET /health: true when etcd reports itself healthy.
  cni::Status Health();

  // POSTs a JSON body to `path` on the first endpoint that answers; returns the body.
  // With auth, logs in first when needed and once more when etcd refuses the token.
  // Exposed for the watch and tests; the typed calls above are built on it.
  cni::Result<std::string> Call(const std::string& path, const std::string& body);

  // The token to send ("" without auth), logging in when none is held yet.
  cni::Result<std::string> Token();
  // Forgets the token and logs in again (the watch calls it when etcd refused one).
  cni::Status Reauthenticate();
  bool uses_auth() const { return !opts_.username.empty(); }
  // How many times this client logged in (tests: a refused token led to a new login).
  int logins() const { return logins_; }

 private:
  explicit Client(ClientOptions opts);
  cni::Result<std::string> CallOne(const std::string& endpoint, const std::string& path,
                                   const std::string* body);
  cni::Result<std::string> CallAny(const std::string& path, const std::string* body);
  cni::Status Authenticate();

  ClientOptions opts_;
  void* curl_ = nullptr;  // CURL*, kept out of this header
  size_t preferred_ = 0;  // index of the endpoint that answered last
  std::string token_;
  bool auth_disabled_ = false;  // etcd said auth is off: send no token
  int logins_ = 0;
};

// Checks what Client::Create checks of `opts` (endpoints, TLS files readable, cert
// and key given together, password only with a username): code 7 naming the option.
cni::Status ValidateClientOptions(const ClientOptions& opts);

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_ETCD_CLIENT_H_
