// A small Kubernetes API client over libcurl for what the kubernetes registry needs:
// GET and PATCH of Nodes, and a streaming watch of Nodes. TLS with verification
// always (the CA of the kubeconfig or service account, else the system store);
// authentication by bearer token (a token file is re-read when it changes, and once
// more when the server answers 401, so a rotated service-account token is picked up
// without a restart) and/or a client certificate.
//
// Errors: the server unreachable or answering 5xx/429 is code 11 (try again); a TLS
// failure, a refused token (401) or a forbidden request (403, naming the RBAC rule
// that is missing) is code 5; 404 carries the kNotFound cause.
//
// Not thread-safe: one client per thread (it keeps one reusable connection).
#ifndef LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_CLIENT_H_
#define LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_CLIENT_H_

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "overlay/registry/kubernetes/kube_config.h"
#include "overlay/registry/kubernetes/node_codec.h"

namespace linen::kube {

struct HttpAnswer {
  long status = 0;
  std::string body;
};

// The error for an answer that is not 2xx: the Status object's message when the body
// is one. `what` names the request ("get node n1").
cni::Error AnswerError(const std::string& what, const HttpAnswer& a);

class Client {
 public:
  static cni::Result<std::unique_ptr<Client>> Create(const KubeClientConfig& cfg);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const KubeClientConfig& config() const { return cfg_; }

  // One request to `path` ("/api/v1/nodes/n1"); any HTTP status is an answer, only
  // transport failures are errors. A 401 with a token file re-reads it and retries once.
  cni::Result<HttpAnswer> Request(const std::string& method, const std::string& path,
                                  const std::string& content_type = "",
                                  const std::string& body = "");

  // The bearer token to send ("" = none): the token file's content when it changed
  // since the last read. `force` re-reads it anyway.
  cni::Result<std::string> Token(bool force = false);
  // How many times the token file was read (tests: rotation was noticed).
  int token_reads() const { return token_reads_; }

  // Sets URL, TLS, timeouts and headers on a curl handle (`curl` is a CURL*); the
  // watch uses it for its own handle. `headers` must outlive the transfer.
  cni::Status Prepare(void* curl, const std::string& path, const std::string& content_type,
                      bool stream, void** headers);

 private:
  explicit Client(KubeClientConfig cfg) : cfg_(std::move(cfg)) {}
  cni::Result<HttpAnswer> Once(const std::string& method, const std::string& path,
                               const std::string& content_type, const std::string& body);

  KubeClientConfig cfg_;
  void* curl_ = nullptr;  // CURL*
  std::string token_;
  struct {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
  } token_stat_;
  int token_reads_ = 0;
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark };
  Type type = Type::kAdded;
  KubeNode node;  // a bookmark carries only node.resource_version
};

// GET /api/v1/nodes?watch=1&resourceVersion=..&allowWatchBookmarks=true: one JSON
// event per line of a chunked body, read as it arrives (curl's multi interface, from
// the caller's thread; no background thread).
class NodeWatch {
 public:
  enum class End {
    kNone,    // still open
    kClosed,  // the server ended the stream (timeoutSeconds): reopen from the last version
    kGone,    // 410 Gone / "too old resource version": re-list, then watch again
    kFailed,  // anything else (connection lost, refused, unreadable): re-list
  };
  // Opens the watch and waits for the answer's status line (bounded by the client's
  // timeouts). A 410 at the start is reported as a watch that ended kGone.
  static cni::Result<std::unique_ptr<NodeWatch>> Start(Client& client,
                                                       const std::string& resource_version,
                                                       int timeout_seconds);
  ~NodeWatch();
  NodeWatch(const NodeWatch&) = delete;
  NodeWatch& operator=(const NodeWatch&) = delete;

  // Events received within `timeout` (empty on timeout). Events that arrived before
  // the end are returned first; after that end() says why and this returns the error.
  cni::Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout);
  End end() const { return end_; }

 private:
  NodeWatch() = default;
  void Drive();
  void ParseBuffer();
  void Finish(End why, cni::Error e);

  void* multi_ = nullptr;    // CURLM*
  void* easy_ = nullptr;     // CURL*
  void* headers_ = nullptr;  // curl_slist*
  std::string url_;
  std::string buffer_;
  char error_detail_[256] = {};
  std::deque<WatchEvent> pending_;
  End end_ = End::kNone;
  std::optional<cni::Error> error_;
};

}  // namespace linen::kube

#endif  // LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_CLIENT_H_
