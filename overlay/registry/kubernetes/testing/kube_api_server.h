// Test-only: a Kubernetes API server double for the calls linen's `kubernetes`
// registry makes, in-process (one accept thread, one thread per connection), its
// listening socket made inside a namespace the test created, so node namespaces on
// the test underlay reach it as they would reach a real kube-apiserver.
//
// Built from the API's documented behaviour (kubernetes.io "API Concepts": efficient
// detection of changes, watch bookmarks, resource versions, retrieving large results
// in chunks; the strategic-merge-patch rules of the core/v1 Node type) and from real
// Node JSON. What it REPRODUCES, each covered by kube_api_server_test.cc:
//  * Transport: HTTP/1.1 over TLS (OpenSSL; TestPki's server certificate by default,
//    SANs 127.0.0.1 and 10.99.0.1), keep-alive, Content-Length request bodies,
//    "Expect: 100-continue" answered before the body is read.
//  * Authentication: `Authorization: Bearer <token>`; a missing or unknown token gets
//    401 Status {reason Unauthorized}. SetToken() rotates: the old token is refused
//    from then on (open watches keep streaming, as on the real server). Optionally a
//    client certificate signed by `client_ca_file` whose CN is the user name.
//  * Authorization (opt-in, `rules`): RBAC on resource "nodes" / "nodes/status" and
//    verbs get/list/watch/patch; anything else 403 Status {reason Forbidden} with the
//    real message ("... cannot patch resource \"nodes\" in API group \"\" at the cluster scope").
//  * GET /api/v1/nodes: NodeList {kind, apiVersion, metadata.resourceVersion, items}
//    sorted by name, items without kind/apiVersion (as a typed list is encoded).
//    resourceVersion unset/"0"/N (NotOlderThan: N newer than the server's -> 504
//    Timeout "Too large resource version"), resourceVersionMatch=Exact (or N with a
//    limit: the legacy Exact rule) served from retained history, 410 Gone {reason
//    Expired} when N was compacted; limit/continue chunking with an opaque continue
//    token (base64url JSON, as the real one), metadata.remainingItemCount, every
//    chunk at the first chunk's resourceVersion, an expired continue -> 410 with a
//    fresh (inconsistent) continue token in the Status metadata.
//  * fieldSelector=metadata.name=<name> (or ==) on list and watch: only that node.
//  * GET /api/v1/nodes/{name}: the Node with kind/apiVersion; 404 Status {NotFound}.
//  * GET /api/v1/nodes?watch=1|true: 200, Content-Type application/json,
//    Transfer-Encoding: chunked, one event per chunk, each a JSON line
//    {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}. resourceVersion
//    unset or "0": synthetic ADDED for every node, then changes. N: only changes after
//    N, each object carrying its change's resourceVersion (DELETED: the deletion's).
//    N compacted -> 200 then one ERROR event, Status {code 410, reason Expired,
//    "too old resource version: N (oldest)"}, stream ends. N in the future -> ERROR
//    Status {504, Timeout}. allowWatchBookmarks=true: BOOKMARK events whose object is
//    only {kind, apiVersion, metadata.resourceVersion} (periodic with
//    bookmark_interval, or on SendBookmark()); without it none are sent.
//    timeoutSeconds=N ends the stream cleanly (terminating chunk) after N seconds
//    (0: not given); a watch's events go in resourceVersion order, and nothing
//    follows an ERROR event.
//  * PATCH /api/v1/nodes/{name}/status and /api/v1/nodes/{name}:
//    application/merge-patch+json (RFC 7386: objects merge, null deletes, arrays
//    replace) and application/strategic-merge-patch+json with Node's patch strategy:
//    status.conditions and status.addresses merged by "type", metadata.ownerReferences
//    by "uid", spec.podCIDRs and metadata.finalizers as sets, other lists replaced;
//    directives $patch: replace|delete and $deleteFromPrimitiveList/<list>,
//    $setElementOrder/<list> accepted (order not applied). The status subresource
//    keeps the old spec; the main resource keeps the old status (a condition patched
//    there is silently dropped, as on the real server). metadata.resourceVersion in a
//    patch is a precondition (409 Conflict). A patch that changes nothing does not
//    bump the resourceVersion nor emit an event. Errors: body not a JSON object -> 400
//    BadRequest; result that does not decode as a Node (annotation or label not a
//    string, conditions/addresses not a list of objects, podCIDRs not strings) or a
//    podCIDR changed once set (main resource) -> 422 Invalid; a strategic-merge list
//    element without its merge key -> 500 InternalError "... does not contain
//    declared merge key: type" (apimachinery's unclassified error); other content
//    types -> 415 UnsupportedMediaType; name in the body differing from the URL ->
//    400; unknown node -> 404 NotFound.
//  * Every error body is a v1 Status {kind, apiVersion, metadata, status "Failure",
//    message, reason, details, code}.
// What it does NOT reproduce: other resources or API groups, discovery, POST/PUT/
// DELETE (405 here), json-patch and apply-patch (415 here; the real server accepts
// them), labelSelector and other field selectors (400 here), $retainKeys (400 here),
// managedFields, a list at resourceVersion=0 ignoring limit (as one served from a
// watch cache may; here limit is honoured),
// protobuf/CBOR, HTTP/2, chunked request bodies, the 3 s wait before "Too large
// resource version", the bookmark the watch cache sends just before a timeout,
// sendInitialEvents / streaming lists, object validation beyond the cases above. A
// resourceVersion that is not a number gets 400 (an ERROR event on a watch); the
// real server's exact answer to that was not checked.
#ifndef LINEN_OVERLAY_REGISTRY_KUBERNETES_TESTING_KUBE_API_SERVER_H_
#define LINEN_OVERLAY_REGISTRY_KUBERNETES_TESTING_KUBE_API_SERVER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "netns/netns.h"

namespace linen::kube::testing {

struct RbacRule {
  std::string resource;             // "nodes" or "nodes/status"
  std::vector<std::string> verbs;   // "get", "list", "watch", "patch"
};

// The rules deploy/kubernetes/linen.yaml grants linend (and flannel's own RBAC).
std::vector<RbacRule> LinenRbacRules();

struct KubeApiServerOptions {
  std::string listen_ip = "127.0.0.1";
  int port = 6443;  // 0: an ephemeral port (see port())
  // Empty: TestPki's server certificate (SANs 127.0.0.1, 10.99.0.1) and CA.
  std::string cert_file, key_file, ca_file;
  // Not empty: client certificates signed by this CA authenticate as their CN.
  std::string client_ca_file;
  std::string token = "linen-test-token";
  // The user a bearer token authenticates as (only appears in 403 messages).
  std::string token_user = "system:serviceaccount:linen:linen";
  // Empty: every authenticated request is allowed. Else only these.
  std::vector<RbacRule> rules;
  // Changes kept for watches and Exact lists; older ones are compacted (0: keep all
  // until Compact()).
  size_t history_limit = 0;
  // 0: bookmarks only when SendBookmark() is called.
  std::chrono::milliseconds bookmark_interval{0};
  // A watch without timeoutSeconds ends after this long.
  std::chrono::seconds default_watch_timeout{1800};
};

// One request as the server saw it. verb is Kubernetes' word: get, list, watch,
// patch (or the HTTP method for anything else).
struct RequestRecord {
  std::string method, path, query, verb, content_type, user;
  int code = 0;
};

// flanneld's annotations on its node, in its exact format (kube subnet manager),
// including which ones it leaves out for a family the node does not run.
struct FlannelAnnotations {
  std::string prefix = "flannel.alpha.coreos.com";
  std::string backend_type = "vxlan";  // "host-gw": backend-(v6-)data is "null"
  int vni = 1;
  std::string vtep_mac;     // backend-data {"VNI":1,"VtepMAC":"..."}; vxlan: empty = no IPv4
  std::string public_ip;
  std::string vtep_mac_v6;  // backend-v6-data; vxlan: empty = no IPv6
  std::string public_ipv6;  // host-gw: empty = no IPv6
};

struct KubeconfigOptions {
  bool token = true;              // users[0].user.token: the current token
  std::string client_cert_file;   // users[0].user.client-certificate, when not empty
  std::string client_key_file;
  bool embed_ca = false;          // certificate-authority-data instead of a path
};

class KubeApiServer {
 public:
  // Listens (TLS) on listen_ip:port inside `ns` (which must outlive the server);
  // threads run from the caller's namespace, which does not matter once the socket
  // exists.
  static cni::Result<std::unique_ptr<KubeApiServer>> Start(const cni::NetNs& ns,
                                                           KubeApiServerOptions opts = {});
  ~KubeApiServer();  // closes every connection, joins every thread
  KubeApiServer(const KubeApiServer&) = delete;
  KubeApiServer& operator=(const KubeApiServer&) = delete;

  std::string url() const;  // https://<listen_ip>:<port>
  int port() const;
  const std::string& ca_file() const;  // the CA a client must trust

  // ---- Credentials
  std::string token() const;
  // Rotation: from now on only `token` is accepted.
  void SetToken(const std::string& token);
  // Writes `token`, `ca.crt` and `namespace` ("linen") into `dir` as a service
  // account's mount has them, each replaced atomically (rename).
  cni::Status WriteServiceAccountDir(const std::string& dir) const;
  cni::Status WriteKubeconfig(const std::string& path, const KubeconfigOptions& o = {}) const;

  // ---- The Node store; each change gets the next resourceVersion and a watch event.
  // Adds or replaces a Node (JSON; uid, creationTimestamp filled when missing).
  // Returns the resourceVersion of the change (the current one, and no event, when
  // the node is unchanged).
  cni::Result<int64_t> PutNode(const std::string& node_json);
  cni::Status DeleteNode(const std::string& name);
  // As kube-controller-manager's allocator: spec.podCIDRs = cidrs, spec.podCIDR =
  // cidrs[0] (both removed when empty).
  cni::Status SetPodCidrs(const std::string& name, const std::vector<std::string>& cidrs);
  // Sets (value) or removes (nullopt) annotations in one change.
  cni::Status SetAnnotations(const std::string& name,
                             const std::map<std::string, std::optional<std::string>>& a);
  cni::Status WriteFlannelAnnotations(const std::string& name, const FlannelAnnotations& f);
  // The Node as GET returns it (JSON), or nullopt.
  std::optional<std::string> GetNode(const std::string& name) const;
  std::optional<std::string> Annotation(const std::string& node, const std::string& key) const;
  // status.conditions[type].status ("True"/"False"/"Unknown"), or nullopt.
  std::optional<std::string> ConditionStatus(const std::string& node,
                                             const std::string& type) const;
  std::vector<std::string> NodeNames() const;
  // Every string annotation of `node` (empty when there is no such node).
  std::map<std::string, std::string> Annotations(const std::string& node) const;
  int64_t resource_version() const;

  // ---- Watch and history controls
  // Drops all retained history: a watch (or Exact list) from any resourceVersion
  // older than the current one gets 410 Expired.
  void Compact();
  // Ends every open watch abruptly (connection closed mid-stream), as a restarting
  // API server does. Clients see a truncated chunked body.
  void CloseWatches();
  // Compacts, then sends every open watch an ERROR event (410 Expired, "The
  // resourceVersion for the provided watch is too old.") and ends it cleanly: the
  // 410 arriving mid-watch.
  void ExpireWatches();
  // A BOOKMARK at the current resourceVersion to every open watch that allowed them.
  void SendBookmark();
  size_t open_watches() const;
  // Polls (bounded) until at least `n` watches are open.
  bool WaitForWatches(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) const;

  // ---- Outages and errors
  // An API server restart or outage: stops listening and cuts every connection (open
  // watches end mid-stream; new connections are refused). The store is kept.
  void Stop();
  // Listens again on the same address and port.
  cni::Status Restart();
  bool running() const;
  // The next `count` authenticated requests (watches included) get `code` (429
  // TooManyRequests and 503 with Retry-After: 1, 500 InternalError, 504 Timeout) as
  // a Status, and change nothing.
  void FailRequests(int count, int code = 500);

  // ---- Request log
  std::vector<RequestRecord> Requests() const;
  // How many requests had `verb` (get/list/watch/patch) and, when not empty, `path`
  // (without the query), e.g. Count("list"), Count("patch", "/api/v1/nodes/n1/status").
  int Count(const std::string& verb, const std::string& path = "") const;
  void ClearRequests();
  // Polls (bounded) until Count(verb, path) >= n.
  bool WaitForCount(const std::string& verb, const std::string& path, int n,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) const;

  struct Impl;

 private:
  explicit KubeApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A Node as a kubelet registers it (labels kubernetes.io/hostname and os, addresses
// InternalIP and Hostname, the kubelet's conditions MemoryPressure, DiskPressure,
// PIDPressure False and Ready True, nodeInfo), with spec.podCIDR(s) when given.
std::string MakeNodeJson(const std::string& name, const std::string& internal_ip,
                         const std::vector<std::string>& pod_cidrs = {});

}  // namespace linen::kube::testing

#endif  // LINEN_OVERLAY_REGISTRY_KUBERNETES_TESTING_KUBE_API_SERVER_H_
