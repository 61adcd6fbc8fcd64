#include "overlay/registry/kubernetes/testing/kube_api_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <fstream>
#include <list>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "libcni/base64.h"
#include "libcni/sys/file.h"
#include "overlay/registry/etcd/etcd_test_fixture.h"
#include "overlay/registry/kubernetes/testing/kube_patch.h"

namespace linen::kube::testing {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string FormatNow(const char* fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}
std::string Rfc3339Now() { return FormatNow("%Y-%m-%dT%H:%M:%SZ"); }
std::string HttpDate() { return FormatNow("%a, %d %b %Y %H:%M:%S GMT"); }

std::string NewUid() {
  static std::atomic<uint64_t> n{1};
  char buf[40];
  uint64_t v = n++;
  std::snprintf(buf, sizeof buf, "6b1d0a4e-%04x-4c1e-9a3f-%012llx", static_cast<unsigned>(getpid() & 0xffff),
                static_cast<unsigned long long>(v));
  return buf;
}

// base64url without padding: the encoding of the real continue token.
std::string Base64Url(const std::string& s) {
  std::string b = cni::Base64Encode(s);
  for (char& c : b) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}
std::optional<std::string> FromBase64Url(std::string s) {
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4) s.push_back('=');
  return cni::Base64Decode(s);
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<int64_t> ParseInt(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(s);
}

struct Request {
  std::string method, target, path, query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::map<std::string, std::string> params;
  std::string body;
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
  std::string param(const std::string& n) const {
    auto it = params.find(n);
    return it == params.end() ? "" : it->second;
  }
  bool has_param(const std::string& n) const { return params.count(n) > 0; }
};

// fieldSelector: "" (everything) or metadata.name=<name> (also "=="); nullopt for
// anything else.
std::optional<std::string> NameSelector(const Request& r) {
  const std::string sel = r.param("fieldSelector");
  if (sel.empty()) return std::string();
  for (const std::string prefix : {"metadata.name==", "metadata.name="}) {
    if (sel.rfind(prefix, 0) == 0 && sel.size() > prefix.size() &&
        sel.find(',') == std::string::npos) {
      return sel.substr(prefix.size());
    }
  }
  return std::nullopt;
}

bool Selected(const std::string& selector, const std::string& name) {
  return selector.empty() || selector == name;
}

const char* ReasonPhrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// A v1 Status, members in the order the real server encodes them.
nlohmann::ordered_json StatusObject(const ApiError& e, const json& details = nullptr,
                                    const json& metadata = json::object()) {
  nlohmann::ordered_json s;
  s["kind"] = "Status";
  s["apiVersion"] = "v1";
  s["metadata"] = metadata;
  s["status"] = "Failure";
  s["message"] = e.message;
  s["reason"] = e.reason;
  if (!details.is_null()) s["details"] = details;
  s["code"] = e.code;
  return s;
}

json NodeDetails(const std::string& name) { return {{"name", name}, {"kind", "nodes"}}; }

ApiError NotFound(const std::string& name) {
  return {404, "NotFound", "nodes \"" + name + "\" not found"};
}

struct Watcher {
  std::deque<std::string> pending;  // complete event lines
  std::string selector;             // metadata.name from fieldSelector, "" = all
  bool bookmarks = false;
  bool abort = false;  // CloseWatches: drop the connection
  bool end = false;    // ExpireWatches: end cleanly after pending
  int fd = -1;
};

struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

}  // namespace

struct KubeApiServer::Impl {
  KubeApiServerOptions opts;
  const cni::NetNs* ns = nullptr;
  int listen_fd = -1;
  int port = 0;
  SSL_CTX* ctx = nullptr;
  std::thread acceptor;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  std::condition_variable cv;
  std::string token;
  // The store: current nodes, the state at compacted_rv and the changes after it.
  struct Change {
    std::string type;
    int64_t rv;
    json object;  // with kind/apiVersion and the change's resourceVersion
  };
  int64_t rv = 1000;
  int64_t compacted_rv = 1000;
  std::map<std::string, json> nodes;
  std::map<std::string, json> base;
  std::deque<Change> history;
  std::set<Watcher*> watchers;
  std::vector<RequestRecord> requests;
  int fail_count = 0;  // FailRequests
  int fail_code = 500;

  struct Conn {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Conn> conns;  // guarded by mu

  ~Impl();
  // Listens in *ns on listen_ip and `port` (opts.port the first time), then accepts.
  cni::Status Listen();
  // Closes the listener and every connection, joins every thread; the store stays.
  void Shutdown();
  void AcceptLoop();
  void Serve(Conn* c);
  void Handle(SSL* ssl, int fd, const Request& r, bool* keep);
  bool Authenticate(SSL* ssl, const Request& r, std::string* user);
  bool Allowed(const std::string& resource, const std::string& verb) const;

  // Must hold mu.
  int64_t Commit(const std::string& type, const std::string& name, json obj);
  std::map<std::string, json> StateAt(int64_t at) const;
  void FoldOldest();

  bool SendAll(SSL* ssl, const std::string& data);
  bool Respond(SSL* ssl, int code, const std::string& body, const std::string& extra = "");
  bool RespondError(SSL* ssl, const ApiError& e, const json& details = nullptr,
                    const json& metadata = json::object());
  void List(SSL* ssl, const Request& r, int* code);
  void Watch(SSL* ssl, int fd, const Request& r, bool* keep, int* code);
  void Patch(SSL* ssl, const Request& r, const std::string& name, bool status, int* code);
};

KubeApiServer::Impl::~Impl() {
  Shutdown();
  if (ctx) SSL_CTX_free(ctx);
}

void KubeApiServer::Impl::Shutdown() {
  stopping = true;
  if (listen_fd >= 0) shutdown(listen_fd, SHUT_RDWR);
  if (acceptor.joinable()) acceptor.join();
  {
    std::lock_guard<std::mutex> l(mu);
    for (auto& c : conns) shutdown(c.fd, SHUT_RDWR);
    for (Watcher* w : watchers) w->abort = true;
  }
  cv.notify_all();
  // Only the acceptor adds connections, and it has stopped.
  for (auto& c : conns) {
    if (c.thread.joinable()) c.thread.join();
  }
  for (auto& c : conns) close(c.fd);
  conns.clear();
  if (listen_fd >= 0) close(listen_fd);
  listen_fd = -1;
}

cni::Status KubeApiServer::Impl::Listen() {
  const int want = port > 0 ? port : opts.port;
  auto listened = cni::RunInNetns(*ns, [&]() -> cni::Status {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return cni::ErrnoError("test API server socket", errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(want));
    if (inet_pton(AF_INET, opts.listen_ip.c_str(), &a.sin_addr) != 1) {
      close(fd);
      return cni::Error(cni::Code::kInvalidNetworkConfig,
                        "test API server: bad listen_ip " + opts.listen_ip);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) {
      int e = errno;
      close(fd);
      return cni::ErrnoError(
          "test API server bind " + opts.listen_ip + ":" + std::to_string(want), e);
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    listen_fd = fd;
    port = ntohs(a.sin_port);
    return cni::OkStatus();
  });
  if (!listened) return listened;
  stopping = false;
  acceptor = std::thread([this] { AcceptLoop(); });
  return cni::OkStatus();
}

void KubeApiServer::Impl::AcceptLoop() {
  // A client that hung up turns our next write into SIGPIPE, which would kill the
  // test process; blocked here (and in the connection threads, which inherit the
  // mask), the write fails with EPIPE instead.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  while (!stopping) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping || errno == EINVAL || errno == EBADF) return;
      continue;
    }
    std::lock_guard<std::mutex> l(mu);
    // Reap finished connections so a long test does not accumulate threads.
    for (auto it = conns.begin(); it != conns.end();) {
      if (it->done) {
        it->thread.join();
        close(it->fd);
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    if (stopping) {
      close(fd);
      return;
    }
    Conn& c = conns.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, cp = &c] { Serve(cp); });
  }
}

bool KubeApiServer::Impl::SendAll(SSL* ssl, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    int n = SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off));
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool KubeApiServer::Impl::Respond(SSL* ssl, int code, const std::string& body,
                                  const std::string& extra) {
  std::string h = "HTTP/1.1 " + std::to_string(code) + " " + ReasonPhrase(code) + "\r\n";
  h += extra;
  h += "Audit-Id: " + NewUid() + "\r\n";
  h += "Cache-Control: no-cache, private\r\n";
  h += "Content-Type: application/json\r\n";
  h += "Date: " + HttpDate() + "\r\n";
  h += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  return SendAll(ssl, h + body);
}

bool KubeApiServer::Impl::RespondError(SSL* ssl, const ApiError& e, const json& details,
                                       const json& metadata) {
  return Respond(ssl, e.code, StatusObject(e, details, metadata).dump());
}

void KubeApiServer::Impl::Serve(Conn* c) {
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx));
  SSL_set_fd(ssl.get(), c->fd);
  if (SSL_accept(ssl.get()) != 1) {
    c->done = true;
    return;
  }
  std::string buf;
  char tmp[16384];
  bool keep = true;
  while (keep && !stopping) {
    // Head.
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      int n = SSL_read(ssl.get(), tmp, sizeof tmp);
      if (n <= 0 || buf.size() > (1 << 20)) {
        c->done = true;
        return;
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
    Request r;
    std::istringstream head(buf.substr(0, end));
    buf.erase(0, end + 4);
    std::string line;
    std::getline(head, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream rl(line);
    std::string version;
    rl >> r.method >> r.target >> version;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      r.headers[name] = value;
    }
    auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) {
      r.query = r.target.substr(q + 1);
      std::istringstream qs(r.query);
      std::string kv;
      while (std::getline(qs, kv, '&')) {
        auto eq = kv.find('=');
        r.params[PercentDecode(kv.substr(0, eq))] =
            eq == std::string::npos ? "" : PercentDecode(kv.substr(eq + 1));
      }
    }
    // Body (Content-Length only).
    size_t len = 0;
    if (auto cl = r.header("content-length"); !cl.empty()) {
      auto n = ParseInt(cl);
      if (!n || *n > (16 << 20)) {
        RespondError(ssl.get(), {400, "BadRequest", "bad Content-Length " + cl});
        c->done = true;
        return;
      }
      len = static_cast<size_t>(*n);
    }
    // Go's server answers "100 Continue" before reading the body; curl otherwise
    // waits a second before sending a body it announced with Expect.
    std::string expect = r.header("expect");
    std::transform(expect.begin(), expect.end(), expect.begin(), ::tolower);
    if (expect == "100-continue" && buf.size() < len &&
        !SendAll(ssl.get(), "HTTP/1.1 100 Continue\r\n\r\n")) {
      c->done = true;
      return;
    }
    while (buf.size() < len) {
      int n = SSL_read(ssl.get(), tmp, sizeof tmp);
      if (n <= 0) {
        c->done = true;
        return;
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
    r.body = buf.substr(0, len);
    buf.erase(0, len);
    std::string conn = r.header("connection");
    std::transform(conn.begin(), conn.end(), conn.begin(), ::tolower);
    keep = version == "HTTP/1.1" && conn != "close";
    Handle(ssl.get(), c->fd, r, &keep);
  }
  SSL_shutdown(ssl.get());
  c->done = true;
}

bool KubeApiServer::Impl::Authenticate(SSL* ssl, const Request& r, std::string* user) {
  const std::string auth = r.header("authorization");
  static const std::string kBearer = "Bearer ";
  if (auth.rfind(kBearer, 0) == 0) {
    std::lock_guard<std::mutex> l(mu);
    if (auth.substr(kBearer.size()) == token) {
      *user = opts.token_user;
      return true;
    }
  }
  if (!opts.client_ca_file.empty()) {
    X509* peer = SSL_get1_peer_certificate(ssl);
    if (peer != nullptr) {
      bool ok = SSL_get_verify_result(ssl) == X509_V_OK;
      char cn[256] = {0};
      int n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
                                        sizeof cn);
      X509_free(peer);
      // The x509 authenticator refuses a certificate without a user name (CN).
      if (ok && n > 0) {
        *user = cn;
        return true;
      }
    }
  }
  return false;
}

bool KubeApiServer::Impl::Allowed(const std::string& resource, const std::string& verb) const {
  if (opts.rules.empty()) return true;
  for (const auto& rule : opts.rules) {
    if (rule.resource != resource) continue;
    if (std::find(rule.verbs.begin(), rule.verbs.end(), verb) != rule.verbs.end()) return true;
  }
  return false;
}

void KubeApiServer::Impl::Handle(SSL* ssl, int fd, const Request& r, bool* keep) {
  RequestRecord rec{r.method, r.path, r.query, r.method, r.header("content-type"), "", 0};
  auto record = [&](int code) {
    rec.code = code;
    std::lock_guard<std::mutex> l(mu);
    requests.push_back(rec);
  };
  if (!Authenticate(ssl, r, &rec.user)) {
    record(401);
    RespondError(ssl, {401, "Unauthorized", "Unauthorized"});
    return;
  }
  static const std::string kNodes = "/api/v1/nodes";
  std::string name, resource = "nodes";
  bool status = false;
  if (r.path == kNodes) {
    if (r.method == "GET") {
      const std::string w = r.param("watch");
      rec.verb = (w == "1" || w == "true") ? "watch" : "list";
    }
  } else if (r.path.rfind(kNodes + "/", 0) == 0) {
    std::string rest = r.path.substr(kNodes.size() + 1);
    auto slash = rest.find('/');
    name = rest.substr(0, slash);
    if (slash != std::string::npos) {
      if (rest.substr(slash + 1) != "status" || name.empty()) {
        record(404);
        RespondError(ssl, {404, "NotFound", "the server could not find the requested resource"});
        return;
      }
      status = true;
      resource = "nodes/status";
    }
    if (r.method == "GET") rec.verb = "get";
    if (r.method == "PATCH") rec.verb = "patch";
  } else {
    record(404);
    RespondError(ssl, {404, "NotFound", "the server could not find the requested resource"});
    return;
  }
  if (rec.verb == r.method) {
    record(405);
    RespondError(ssl, {405, "MethodNotAllowed",
                       "the server does not allow this method on the requested resource "
                       "(this test API server serves GET and PATCH only)"});
    return;
  }
  int fail = 0;
  {
    std::lock_guard<std::mutex> l(mu);
    if (fail_count > 0) {
      --fail_count;
      fail = fail_code;
    }
  }
  if (fail != 0) {
    record(fail);
    const char* reason = fail == 429   ? "TooManyRequests"
                         : fail == 503 ? "ServiceUnavailable"
                         : fail == 504 ? "Timeout"
                                       : "InternalError";
    const ApiError e{fail, reason, "injected by the test (FailRequests)"};
    Respond(ssl, fail, StatusObject(e, {{"retryAfterSeconds", 1}}).dump(),
            fail == 429 || fail == 503 ? "Retry-After: 1\r\n" : "");
    return;
  }
  if (!Allowed(resource, rec.verb)) {
    record(403);
    std::string msg = name.empty() ? "nodes is forbidden: " : "nodes \"" + name + "\" is forbidden: ";
    msg += "User \"" + rec.user + "\" cannot " + rec.verb + " resource \"" + resource +
           "\" in API group \"\" at the cluster scope";
    json details = {{"kind", "nodes"}};
    if (!name.empty()) details["name"] = name;
    RespondError(ssl, {403, "Forbidden", msg}, details);
    return;
  }
  if (!r.param("labelSelector").empty()) {
    record(400);
    RespondError(ssl, {400, "BadRequest", "labelSelector is not supported by this test API server"});
    return;
  }
  if (!NameSelector(r)) {
    record(400);
    RespondError(ssl, {400, "BadRequest",
                       "field label not supported: " + r.param("fieldSelector") +
                           " (this test API server knows metadata.name=<name> only)"});
    return;
  }
  int code = 200;
  if (rec.verb == "list") {
    List(ssl, r, &code);
  } else if (rec.verb == "watch") {
    // Recorded when the watch starts: tests count open watches by it.
    record(200);
    Watch(ssl, fd, r, keep, &code);
    return;
  } else if (rec.verb == "get") {
    std::optional<json> node;
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = nodes.find(name);
      if (it != nodes.end()) node = it->second;
    }
    if (node) {
      Respond(ssl, 200, node->dump());
    } else {
      code = 404;
      RespondError(ssl, NotFound(name), NodeDetails(name));
    }
  } else {
    Patch(ssl, r, name, status, &code);
  }
  record(code);
}

std::map<std::string, json> KubeApiServer::Impl::StateAt(int64_t at) const {
  std::map<std::string, json> s = base;
  for (const auto& c : history) {
    if (c.rv > at) break;
    const std::string n = c.object["metadata"]["name"];
    if (c.type == "DELETED") {
      s.erase(n);
    } else {
      s[n] = c.object;
    }
  }
  return s;
}

void KubeApiServer::Impl::FoldOldest() {
  const Change& c = history.front();
  const std::string n = c.object["metadata"]["name"];
  if (c.type == "DELETED") {
    base.erase(n);
  } else {
    base[n] = c.object;
  }
  compacted_rv = c.rv;
  history.pop_front();
}

static std::string EventLine(const std::string& type, const json& object) {
  return "{\"type\":\"" + type + "\",\"object\":" + object.dump() + "}\n";
}

int64_t KubeApiServer::Impl::Commit(const std::string& type, const std::string& name, json obj) {
  ++rv;
  obj["metadata"]["resourceVersion"] = std::to_string(rv);
  if (type == "DELETED") {
    nodes.erase(name);
  } else {
    nodes[name] = obj;
  }
  history.push_back({type, rv, obj});
  if (opts.history_limit > 0) {
    while (history.size() > opts.history_limit) FoldOldest();
  }
  const std::string line = EventLine(type, obj);
  for (Watcher* w : watchers) {
    // A watch that got its ERROR (ExpireWatches) ends with it.
    if (!w->end && Selected(w->selector, name)) w->pending.push_back(line);
  }
  cv.notify_all();
  return rv;
}

void KubeApiServer::Impl::List(SSL* ssl, const Request& r, int* code) {
  const std::string rv_param = r.param("resourceVersion");
  const std::string match = r.param("resourceVersionMatch");
  const std::string cont = r.param("continue");
  int64_t limit = 0;
  if (r.has_param("limit")) {
    auto l = ParseInt(r.param("limit"));
    if (!l) {
      *code = 400;
      RespondError(ssl, {400, "BadRequest", "invalid limit: " + r.param("limit")});
      return;
    }
    limit = *l;
  }
  std::unique_lock<std::mutex> l(mu);
  int64_t at = rv;
  std::string start;
  if (!cont.empty()) {
    if (!rv_param.empty() && rv_param != "0") {
      *code = 400;
      l.unlock();
      RespondError(ssl, {400, "BadRequest",
                         "specifying resource version is not allowed when using continue"});
      return;
    }
    auto raw = FromBase64Url(cont);
    json tok = raw ? json::parse(*raw, nullptr, false) : json();
    if (!tok.is_object() || tok.value("v", "") != "meta.k8s.io/v1" || !tok["rv"].is_number() ||
        !tok["start"].is_string()) {
      *code = 400;
      l.unlock();
      RespondError(ssl, {400, "BadRequest", "continue key is not valid: invalid continue token"});
      return;
    }
    at = tok["rv"].get<int64_t>();
    start = tok["start"].get<std::string>();
    if (at < compacted_rv) {
      // The real server offers a token to go on inconsistently from the current state.
      json fresh = {{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", start}};
      *code = 410;
      l.unlock();
      RespondError(ssl,
                   {410, "Expired",
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use the "
                    "continue token in this response to retrieve the remainder of the results. "
                    "Continuing with the provided token results in an inconsistent list - objects "
                    "that were created, modified, or deleted between the time the first chunk was "
                    "returned and now may show up in the list."},
                   nullptr, {{"continue", Base64Url(fresh.dump())}});
      return;
    }
  } else if (!rv_param.empty() && rv_param != "0") {
    auto n = ParseInt(rv_param);
    if (!n) {
      *code = 400;
      l.unlock();
      RespondError(ssl, {400, "BadRequest", "invalid resource version: " + rv_param});
      return;
    }
    if (*n > rv) {
      *code = 504;
      l.unlock();
      RespondError(ssl,
                   {504, "Timeout",
                    "Too large resource version: " + rv_param + ", current: " + std::to_string(rv)},
                   {{"causes", {{{"reason", "ResourceVersionTooLarge"},
                                 {"message", "Too large resource version"}}}},
                    {"retryAfterSeconds", 1}});
      return;
    }
    // Exact when asked, and (legacy rule) for a resourceVersion with a limit.
    const bool exact = match == "Exact" || (match.empty() && limit > 0);
    if (exact) {
      if (*n < compacted_rv) {
        *code = 410;
        l.unlock();
        RespondError(ssl, {410, "Expired", "The resourceVersion for the provided list is too old."});
        return;
      }
      at = *n;
    }
  }
  std::map<std::string, json> state = at == rv ? nodes : StateAt(at);
  l.unlock();
  if (const std::string sel = *NameSelector(r); !sel.empty()) {
    std::erase_if(state, [&](const auto& kv) { return kv.first != sel; });
  }
  nlohmann::ordered_json out;
  out["kind"] = "NodeList";
  out["apiVersion"] = "v1";
  out["metadata"] = {{"resourceVersion", std::to_string(at)}};
  json items = json::array();
  auto it = state.lower_bound(start);
  for (; it != state.end() && (limit <= 0 || static_cast<int64_t>(items.size()) < limit); ++it) {
    json item = it->second;
    item.erase("kind");
    item.erase("apiVersion");
    items.push_back(std::move(item));
  }
  if (it != state.end()) {
    json tok = {{"v", "meta.k8s.io/v1"}, {"rv", at}, {"start", items.back()["metadata"]["name"].get<std::string>() + std::string(1, '\0')}};
    out["metadata"]["continue"] = Base64Url(tok.dump());
    out["metadata"]["remainingItemCount"] = std::distance(it, state.end());
  }
  out["items"] = std::move(items);
  Respond(ssl, 200, out.dump());
}

void KubeApiServer::Impl::Watch(SSL* ssl, int fd, const Request& r, bool* keep, int* code) {
  const std::string rv_param = r.param("resourceVersion");
  const std::string ab = r.param("allowWatchBookmarks");
  Watcher w;
  w.fd = fd;
  w.bookmarks = ab == "true" || ab == "1";
  w.selector = *NameSelector(r);
  auto timeout = std::chrono::duration_cast<Clock::duration>(opts.default_watch_timeout);
  if (r.has_param("timeoutSeconds")) {
    auto t = ParseInt(r.param("timeoutSeconds"));
    // 0 means "not given", as on the real server.
    if (t && *t > 0) timeout = std::chrono::seconds(*t);
  }
  std::optional<std::string> error_line;
  {
    std::lock_guard<std::mutex> l(mu);
    if (rv_param.empty() || rv_param == "0") {
      for (const auto& [n, obj] : nodes) {
        if (Selected(w.selector, n)) w.pending.push_back(EventLine("ADDED", obj));
      }
    } else if (auto n = ParseInt(rv_param); !n) {
      error_line = EventLine(
          "ERROR", StatusObject({400, "BadRequest", "invalid resource version: " + rv_param}));
    } else if (*n < compacted_rv) {
      error_line = EventLine("ERROR", StatusObject({410, "Expired",
                                                    "too old resource version: " + rv_param +
                                                        " (" + std::to_string(compacted_rv) + ")"}));
    } else if (*n > rv) {
      error_line = EventLine("ERROR", StatusObject({504, "Timeout",
                                                    "Too large resource version: " + rv_param +
                                                        ", current: " + std::to_string(rv)}));
    } else {
      for (const auto& c : history) {
        if (c.rv > *n && Selected(w.selector, c.object["metadata"]["name"])) {
          w.pending.push_back(EventLine(c.type, c.object));
        }
      }
    }
    if (!error_line) watchers.insert(&w);
  }
  std::string h = "HTTP/1.1 200 OK\r\nAudit-Id: " + NewUid() +
                  "\r\nCache-Control: no-cache, private\r\nContent-Type: application/json\r\n"
                  "Date: " + HttpDate() + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto chunk = [](const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  };
  bool ok = SendAll(ssl, h);
  if (error_line) {
    // As the real server: the watch is accepted, then ends with one ERROR event.
    ok = ok && SendAll(ssl, chunk(*error_line)) && SendAll(ssl, "0\r\n\r\n");
    *keep = ok;
    return;
  }
  const auto deadline = Clock::now() + timeout;
  const auto interval = std::chrono::duration_cast<Clock::duration>(opts.bookmark_interval);
  auto next_bookmark = Clock::now() + interval;
  bool clean = false;
  while (ok) {
    std::deque<std::string> out;
    {
      std::unique_lock<std::mutex> l(mu);
      // Slices of 100 ms so a client that hung up is noticed while idle.
      cv.wait_for(l, std::chrono::milliseconds(100),
                  [&] { return !w.pending.empty() || w.abort || w.end || stopping; });
      if (w.abort || stopping) break;
      if (w.bookmarks && interval.count() > 0 && Clock::now() >= next_bookmark) {
        w.pending.push_back(EventLine(
            "BOOKMARK",
            {{"kind", "Node"}, {"apiVersion", "v1"},
             {"metadata", {{"resourceVersion", std::to_string(rv)}}}}));
        next_bookmark = Clock::now() + interval;
      }
      out.swap(w.pending);
      if (out.empty() && w.end) {
        clean = true;
        break;
      }
    }
    for (const auto& line : out) ok = ok && SendAll(ssl, chunk(line));
    if (Clock::now() >= deadline) {
      clean = true;
      break;
    }
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLIN))) ok = false;
  }
  std::deque<std::string> rest;
  {
    std::lock_guard<std::mutex> l(mu);
    watchers.erase(&w);
    rest.swap(w.pending);
  }
  if (!clean) {
    shutdown(fd, SHUT_RDWR);
    *keep = false;
    return;
  }
  // Events queued between the last wake and a timeout still go out.
  for (const auto& line : rest) ok = ok && SendAll(ssl, chunk(line));
  ok = ok && SendAll(ssl, "0\r\n\r\n");
  *keep = ok;
  (void)code;
}

void KubeApiServer::Impl::Patch(SSL* ssl, const Request& r, const std::string& name, bool status,
                                int* code) {
  std::string ct = r.header("content-type");
  ct = ct.substr(0, ct.find(';'));
  ct.erase(ct.find_last_not_of(" \t") + 1);
  const bool merge = ct == "application/merge-patch+json";
  const bool strategic = ct == "application/strategic-merge-patch+json";
  auto fail = [&](const ApiError& e, const json& details = nullptr) {
    *code = e.code;
    RespondError(ssl, e, details);
  };
  if (!merge && !strategic) {
    return fail({415, "UnsupportedMediaType",
                 "the body of the request was in an unknown format - accepted media types "
                 "include: application/merge-patch+json, application/strategic-merge-patch+json "
                 "(this test API server; the real one also takes application/json-patch+json "
                 "and application/apply-patch+yaml)"});
  }
  json patch = json::parse(r.body, nullptr, false);
  if (patch.is_discarded() || !patch.is_object()) {
    return fail({400, "BadRequest",
                 patch.is_discarded() ? "error decoding patch: invalid JSON"
                                      : "error decoding patch: not a JSON object"});
  }
  std::unique_lock<std::mutex> l(mu);
  auto it = nodes.find(name);
  if (it == nodes.end()) {
    l.unlock();
    return fail(NotFound(name), NodeDetails(name));
  }
  const json old = it->second;
  if (patch.contains("metadata") && patch["metadata"].is_object() &&
      patch["metadata"].contains("resourceVersion") &&
      patch["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]) {
    l.unlock();
    return fail({409, "Conflict",
                 "Operation cannot be fulfilled on nodes \"" + name +
                     "\": the object has been modified; please apply your changes to the latest "
                     "version and try again"},
                NodeDetails(name));
  }
  json result;
  if (merge) {
    result = MergePatch(old, patch);
  } else if (auto e = StrategicMergePatch(old, patch, &result)) {
    l.unlock();
    return fail(*e);
  }
  if (auto e = ValidateNode(result)) {
    l.unlock();
    e->message = "Node \"" + name + "\" is invalid: " + e->message.substr(e->message.find(": ") + 2);
    return fail(*e, NodeDetails(name));
  }
  if (result["metadata"]["name"] != name) {
    l.unlock();
    return fail({400, "BadRequest", "the name of the object (" +
                                        result["metadata"]["name"].get<std::string>() +
                                        ") does not match the name on the URL (" + name + ")"});
  }
  // What a patch cannot change: identity, and the half the endpoint does not own.
  result["kind"] = "Node";
  result["apiVersion"] = "v1";
  for (const char* k : {"uid", "creationTimestamp", "resourceVersion"}) {
    if (old["metadata"].contains(k)) result["metadata"][k] = old["metadata"][k];
  }
  const char* kept = status ? "spec" : "status";
  if (old.contains(kept)) {
    result[kept] = old[kept];
  } else {
    result.erase(kept);
  }
  if (!status) {
    // ValidateNodeUpdate: podCIDR(s) may go from "" to a value, never change after.
    const json os = old.value("spec", json::object()), ns = result.value("spec", json::object());
    const std::string op = os.value("podCIDR", ""), np = ns.value("podCIDR", "");
    const json ol = os.value("podCIDRs", json::array()), nl = ns.value("podCIDRs", json::array());
    if ((!op.empty() && op != np) || (!ol.empty() && ol != nl)) {
      l.unlock();
      return fail({422, "Invalid",
                   "Node \"" + name + "\" is invalid: spec.podCIDRs: Forbidden: node updates may "
                   "not change podCIDR except from \"\" to valid"},
                  NodeDetails(name));
    }
  }
  json body = result == old ? old : nodes[name];
  if (result != old) {
    Commit("MODIFIED", name, result);
    body = nodes[name];
  }
  l.unlock();
  Respond(ssl, 200, body.dump());
}

// ---- Public API

std::vector<RbacRule> LinenRbacRules() {
  return {{"nodes", {"get", "list", "watch"}}, {"nodes/status", {"patch"}}};
}

KubeApiServer::KubeApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KubeApiServer::~KubeApiServer() = default;

cni::Result<std::unique_ptr<KubeApiServer>> KubeApiServer::Start(const cni::NetNs& ns,
                                                                 KubeApiServerOptions opts) {
  if (opts.cert_file.empty()) {
    auto pki = etcd::testing::TestPki::Get();
    if (!pki) return pki.error();
    opts.cert_file = (*pki)->server_cert;
    opts.key_file = (*pki)->server_key;
    opts.ca_file = (*pki)->ca;
  }
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->token = opts.token;
  impl->ctx = SSL_CTX_new(TLS_server_method());
  if (impl->ctx == nullptr) return cni::Error(cni::Code::kInternal, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(impl->ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(impl->ctx, opts.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(impl->ctx, opts.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return cni::Error(cni::Code::kIoFailure,
                      "test API server: cannot load " + opts.cert_file + " / " + opts.key_file);
  }
  if (!opts.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(impl->ctx, opts.client_ca_file.c_str(), nullptr) != 1) {
      return cni::Error(cni::Code::kIoFailure, "test API server: cannot load " + opts.client_ca_file);
    }
    // Asked for, not required: a client may authenticate by token instead. A
    // certificate that fails verification is not an identity (checked per request).
    SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_PEER,
                       [](int, X509_STORE_CTX*) { return 1; });
  }
  impl->ns = &ns;
  if (auto st = impl->Listen(); !st) return st.error();
  return std::unique_ptr<KubeApiServer>(new KubeApiServer(std::move(impl)));
}

void KubeApiServer::Stop() { impl_->Shutdown(); }

cni::Status KubeApiServer::Restart() {
  if (impl_->listen_fd >= 0) return cni::OkStatus();
  return impl_->Listen();
}

bool KubeApiServer::running() const { return impl_->listen_fd >= 0; }

void KubeApiServer::FailRequests(int count, int code) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->fail_count = count;
  impl_->fail_code = code;
}

std::map<std::string, std::string> KubeApiServer::Annotations(const std::string& node) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  std::map<std::string, std::string> out;
  auto it = impl_->nodes.find(node);
  if (it == impl_->nodes.end()) return out;
  const json& an = it->second["metadata"].value("annotations", json::object());
  for (auto a = an.begin(); a != an.end(); ++a) {
    if (a.value().is_string()) out[a.key()] = a.value().get<std::string>();
  }
  return out;
}

bool KubeApiServer::WaitForCount(const std::string& verb, const std::string& path, int n,
                                 std::chrono::milliseconds limit) const {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (Count(verb, path) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Count(verb, path) >= n;
}

std::string KubeApiServer::url() const {
  return "https://" + impl_->opts.listen_ip + ":" + std::to_string(impl_->port);
}
int KubeApiServer::port() const { return impl_->port; }
const std::string& KubeApiServer::ca_file() const { return impl_->opts.ca_file; }

std::string KubeApiServer::token() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->token;
}
void KubeApiServer::SetToken(const std::string& token) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->token = token;
}

cni::Status KubeApiServer::WriteServiceAccountDir(const std::string& dir) const {
  std::ifstream ca(ca_file());
  std::stringstream cas;
  cas << ca.rdbuf();
  const std::pair<const char*, std::string> files[] = {
      {"token", token()}, {"ca.crt", cas.str()}, {"namespace", "linen"}};
  for (const auto& [f, content] : files) {
    if (auto s = cni::WriteFileAtomic(dir + "/" + f, content, 0644, cni::Durability::kAtomicOnly);
        !s) {
      return s;
    }
  }
  return cni::OkStatus();
}

cni::Status KubeApiServer::WriteKubeconfig(const std::string& path,
                                           const KubeconfigOptions& o) const {
  std::string ca_line;
  if (o.embed_ca) {
    std::ifstream ca(ca_file());
    std::stringstream cas;
    cas << ca.rdbuf();
    ca_line = "    certificate-authority-data: " + cni::Base64Encode(cas.str()) + "\n";
  } else {
    ca_line = "    certificate-authority: " + ca_file() + "\n";
  }
  std::string user;
  if (o.token) user += "    token: " + token() + "\n";
  if (!o.client_cert_file.empty()) {
    user += "    client-certificate: " + o.client_cert_file + "\n";
    user += "    client-key: " + o.client_key_file + "\n";
  }
  if (user.empty()) user = "    {}\n";
  const std::string text =
      "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: " + url() +
      "\n" + ca_line + "users:\n- name: linen\n  user:\n" + user +
      "contexts:\n- name: test\n  context:\n    cluster: test\n    user: linen\n"
      "current-context: test\n";
  return cni::WriteFileAtomic(path, text, 0600, cni::Durability::kAtomicOnly);
}

cni::Result<int64_t> KubeApiServer::PutNode(const std::string& node_json) {
  json n = json::parse(node_json, nullptr, false);
  if (n.is_discarded() || !n.is_object()) {
    return cni::Error(cni::Code::kDecodingFailure, "PutNode: not a JSON object");
  }
  if (auto e = ValidateNode(n)) return cni::Error(cni::Code::kInvalidNetworkConfig, e->message);
  n["kind"] = "Node";
  n["apiVersion"] = "v1";
  const std::string name = n["metadata"]["name"];
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->nodes.find(name);
  json& md = n["metadata"];
  if (it != impl_->nodes.end()) {
    if (!md.contains("uid")) md["uid"] = it->second["metadata"]["uid"];
    if (!md.contains("creationTimestamp")) {
      md["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
    }
  } else {
    if (!md.contains("uid")) md["uid"] = NewUid();
    if (!md.contains("creationTimestamp")) md["creationTimestamp"] = Rfc3339Now();
  }
  if (it != impl_->nodes.end()) {
    // Equal but for the resourceVersion: a no-op, as an update that changes nothing.
    json same = n;
    same["metadata"]["resourceVersion"] = it->second["metadata"]["resourceVersion"];
    if (same == it->second) return impl_->rv;
  }
  return impl_->Commit(it == impl_->nodes.end() ? "ADDED" : "MODIFIED", name, n);
}

cni::Status KubeApiServer::DeleteNode(const std::string& name) {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->nodes.find(name);
  if (it == impl_->nodes.end()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "no node " + name, "",
                      cni::Cause::kNotFound);
  }
  impl_->Commit("DELETED", name, it->second);
  return cni::OkStatus();
}

namespace {
template <typename F>
cni::Status Modify(KubeApiServer::Impl* impl, const std::string& name, F&& f) {
  std::lock_guard<std::mutex> l(impl->mu);
  auto it = impl->nodes.find(name);
  if (it == impl->nodes.end()) {
    return cni::Error(cni::Code::kInvalidNetworkConfig, "no node " + name, "",
                      cni::Cause::kNotFound);
  }
  json n = it->second;
  f(n);
  if (n != it->second) impl->Commit("MODIFIED", name, std::move(n));
  return cni::OkStatus();
}
}  // namespace

cni::Status KubeApiServer::SetPodCidrs(const std::string& name,
                                       const std::vector<std::string>& cidrs) {
  return Modify(impl_.get(), name, [&](json& n) {
    json& spec = n["spec"];
    if (!spec.is_object()) spec = json::object();
    if (cidrs.empty()) {
      spec.erase("podCIDR");
      spec.erase("podCIDRs");
    } else {
      spec["podCIDR"] = cidrs[0];
      spec["podCIDRs"] = cidrs;
    }
  });
}

cni::Status KubeApiServer::SetAnnotations(
    const std::string& name, const std::map<std::string, std::optional<std::string>>& a) {
  return Modify(impl_.get(), name, [&](json& n) {
    json& an = n["metadata"]["annotations"];
    if (!an.is_object()) an = json::object();
    for (const auto& [k, v] : a) {
      if (v) {
        an[k] = *v;
      } else {
        an.erase(k);
      }
    }
  });
}

cni::Status KubeApiServer::WriteFlannelAnnotations(const std::string& name,
                                                   const FlannelAnnotations& f) {
  // flannel's Go types: backend-data is json.RawMessage of {"VNI":..,"VtepMAC":".."}
  // (hardwareAddr marshals as a string), "null" for host-gw, which has no data.
  auto data = [&](const std::string& mac) {
    return mac.empty() ? std::string("null")
                       : "{\"VNI\":" + std::to_string(f.vni) + ",\"VtepMAC\":\"" + mac + "\"}";
  };
  const std::string p = f.prefix + "/";
  std::map<std::string, std::optional<std::string>> a = {
      {p + "backend-type", f.backend_type},
      {p + "kube-subnet-manager", "true"},
  };
  // kubeSubnetManager.AcquireLease: vxlan writes a family only when it has a VTEP of
  // that family (an IPv6-only vxlan node has no backend-data and no public-ip);
  // host-gw always writes the IPv4 pair (public-ip "0.0.0.0" when IPv4 is off: the
  // zero ip.IP4) and the IPv6 pair when it has an IPv6 address.
  const bool vxlan = f.backend_type == "vxlan";
  if (!vxlan || !f.vtep_mac.empty()) {
    a[p + "backend-data"] = data(f.vtep_mac);
    a[p + "public-ip"] = f.public_ip.empty() ? std::string("0.0.0.0") : f.public_ip;
  }
  if (vxlan ? !f.vtep_mac_v6.empty() : !f.public_ipv6.empty()) {
    a[p + "backend-v6-data"] = data(f.vtep_mac_v6);
    a[p + "public-ipv6"] = f.public_ipv6;
  }
  return SetAnnotations(name, a);
}

std::optional<std::string> KubeApiServer::GetNode(const std::string& name) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->nodes.find(name);
  if (it == impl_->nodes.end()) return std::nullopt;
  return it->second.dump();
}

std::optional<std::string> KubeApiServer::Annotation(const std::string& node,
                                                     const std::string& key) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->nodes.find(node);
  if (it == impl_->nodes.end()) return std::nullopt;
  const json& an = it->second["metadata"].value("annotations", json::object());
  if (!an.is_object() || !an.contains(key) || !an[key].is_string()) return std::nullopt;
  return an[key].get<std::string>();
}

std::optional<std::string> KubeApiServer::ConditionStatus(const std::string& node,
                                                          const std::string& type) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->nodes.find(node);
  if (it == impl_->nodes.end() || !it->second.contains("status")) return std::nullopt;
  const json& conds = it->second["status"].value("conditions", json::array());
  for (const auto& c : conds) {
    if (c.value("type", "") == type && c.contains("status") && c["status"].is_string()) {
      return c["status"].get<std::string>();
    }
  }
  return std::nullopt;
}

std::vector<std::string> KubeApiServer::NodeNames() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  std::vector<std::string> out;
  for (const auto& [n, obj] : impl_->nodes) out.push_back(n);
  return out;
}

int64_t KubeApiServer::resource_version() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->rv;
}

void KubeApiServer::Compact() {
  std::lock_guard<std::mutex> l(impl_->mu);
  while (!impl_->history.empty()) impl_->FoldOldest();
  impl_->compacted_rv = impl_->rv;
}

void KubeApiServer::CloseWatches() {
  std::lock_guard<std::mutex> l(impl_->mu);
  for (Watcher* w : impl_->watchers) {
    w->abort = true;
    // Also unblocks a write stuck on a client that stopped reading.
    shutdown(w->fd, SHUT_RDWR);
  }
  impl_->cv.notify_all();
}

void KubeApiServer::ExpireWatches() {
  std::lock_guard<std::mutex> l(impl_->mu);
  while (!impl_->history.empty()) impl_->FoldOldest();
  impl_->compacted_rv = impl_->rv;
  const std::string line = EventLine(
      "ERROR", StatusObject({410, "Expired", "The resourceVersion for the provided watch is too old."}));
  for (Watcher* w : impl_->watchers) {
    w->pending.push_back(line);
    w->end = true;
  }
  impl_->cv.notify_all();
}

void KubeApiServer::SendBookmark() {
  std::lock_guard<std::mutex> l(impl_->mu);
  const std::string line = EventLine(
      "BOOKMARK", {{"kind", "Node"},
                   {"apiVersion", "v1"},
                   {"metadata", {{"resourceVersion", std::to_string(impl_->rv)}}}});
  for (Watcher* w : impl_->watchers) {
    if (w->bookmarks) w->pending.push_back(line);
  }
  impl_->cv.notify_all();
}

size_t KubeApiServer::open_watches() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->watchers.size();
}

bool KubeApiServer::WaitForWatches(size_t n, std::chrono::milliseconds limit) const {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (open_watches() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return open_watches() >= n;
}

std::vector<RequestRecord> KubeApiServer::Requests() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->requests;
}

int KubeApiServer::Count(const std::string& verb, const std::string& path) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return static_cast<int>(std::count_if(
      impl_->requests.begin(), impl_->requests.end(), [&](const RequestRecord& r) {
        return r.verb == verb && (path.empty() || r.path == path);
      }));
}

void KubeApiServer::ClearRequests() {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->requests.clear();
}

std::string MakeNodeJson(const std::string& name, const std::string& internal_ip,
                         const std::vector<std::string>& pod_cidrs) {
  const std::string now = Rfc3339Now();
  auto cond = [&](const char* type, const char* status, const char* reason, const char* msg) {
    return json{{"type", type},           {"status", status},
                {"lastHeartbeatTime", now}, {"lastTransitionTime", now},
                {"reason", reason},       {"message", msg}};
  };
  json n = {
      {"kind", "Node"},
      {"apiVersion", "v1"},
      {"metadata",
       {{"name", name},
        {"labels",
         {{"beta.kubernetes.io/arch", "amd64"},
          {"beta.kubernetes.io/os", "linux"},
          {"kubernetes.io/arch", "amd64"},
          {"kubernetes.io/hostname", name},
          {"kubernetes.io/os", "linux"}}},
        {"annotations",
         {{"node.alpha.kubernetes.io/ttl", "0"},
          {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}}}}},
      {"spec", json::object()},
      {"status",
       {{"capacity",
         {{"cpu", "2"}, {"ephemeral-storage", "20134592Ki"}, {"memory", "4025148Ki"}, {"pods", "110"}}},
        {"allocatable",
         {{"cpu", "2"}, {"ephemeral-storage", "18556039957"}, {"memory", "3922748Ki"}, {"pods", "110"}}},
        {"conditions",
         json::array({cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                           "kubelet has sufficient memory available"),
                      cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                           "kubelet has no disk pressure"),
                      cond("PIDPressure", "False", "KubeletHasSufficientPID",
                           "kubelet has sufficient PID available"),
                      cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")})},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", internal_ip}},
                                   {{"type", "Hostname"}, {"address", name}}})},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo",
         {{"machineID", "ec2d3a1c8f0b4e0c9d6f2a7b5e1c3d4f"},
          {"systemUUID", "ec2d3a1c-8f0b-4e0c-9d6f-2a7b5e1c3d4f"},
          {"bootID", "2f6c1d3e-7a4b-4c5d-8e9f-0a1b2c3d4e5f"},
          {"kernelVersion", "6.1.0-18-amd64"},
          {"osImage", "Debian GNU/Linux 12 (bookworm)"},
          {"containerRuntimeVersion", "containerd://1.7.13"},
          {"kubeletVersion", "v1.29.2"},
          {"kubeProxyVersion", "v1.29.2"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}}}}};
  if (!pod_cidrs.empty()) {
    n["spec"]["podCIDR"] = pod_cidrs[0];
    n["spec"]["podCIDRs"] = pod_cidrs;
  }
  return n.dump();
}

}  // namespace linen::kube::testing
