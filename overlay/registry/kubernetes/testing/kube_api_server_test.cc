// The test API server against a plain HTTP client (libcurl): each behaviour the
// header claims is asserted here in a way that fails if the server got it wrong.
#include "overlay/registry/kubernetes/testing/kube_api_server.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "overlay/registry/etcd/etcd_test_fixture.h"
#include "test/support/test_support.h"

namespace linen::kube::testing {
namespace {

using nlohmann::json;

struct Reply {
  CURLcode rc = CURLE_OK;
  long code = 0;
  std::string headers, body;
  json j() const { return json::parse(body, nullptr, false); }
};

size_t Append(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}

struct CallOpts {
  std::string method = "GET";
  std::string body;
  std::string content_type;
  std::optional<std::string> token;  // nullopt: the server's current token; "": none
  std::string ca;                    // "": the server's CA
  std::string cert, key;
  std::vector<std::string> headers;  // extra request headers
};

class KubeApiTest : public ::testing::Test {
 protected:
  virtual KubeApiServerOptions options() const { return {}; }
  void SetUp() override {
    static bool once = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
    ASSERT_TRUE(once);
    auto ns = linen::test::TempNetns::Create("kapi");
    ASSERT_TRUE(ns) << ns.error().msg();
    ns_.emplace(std::move(*ns));
    auto s = KubeApiServer::Start(ns_->ns(), options());
    ASSERT_TRUE(s) << s.error().msg();
    server_ = std::move(*s);
    auto sw = cni::ScopedNetnsSwitch::Enter(ns_->ns());
    ASSERT_TRUE(sw) << sw.error().msg();
    inside_.emplace(std::move(*sw));
  }
  void TearDown() override {
    server_.reset();
    inside_.reset();
    ns_.reset();
  }

  void SetCommon(CURL* c, const std::string& path, const CallOpts& o, curl_slist** hl) {
    curl_easy_setopt(c, CURLOPT_URL, (server_->url() + path).c_str());
    curl_easy_setopt(c, CURLOPT_CAINFO, (o.ca.empty() ? server_->ca_file() : o.ca).c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o.method.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!o.cert.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, o.cert.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEY, o.key.c_str());
    }
    const std::string token = o.token ? *o.token : server_->token();
    if (!token.empty()) *hl = curl_slist_append(*hl, ("Authorization: Bearer " + token).c_str());
    if (!o.content_type.empty()) *hl = curl_slist_append(*hl, ("Content-Type: " + o.content_type).c_str());
    for (const auto& h : o.headers) *hl = curl_slist_append(*hl, h.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hl);
    if (!o.body.empty() || o.method == "PATCH") {
      // Copied: `o` may be a temporary.
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(o.body.size()));
      curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, o.body.c_str());
    }
  }

  Reply Call(const std::string& path, const CallOpts& o = {}) {
    Reply r;
    CURL* c = curl_easy_init();
    curl_slist* hl = nullptr;
    SetCommon(c, path, o, &hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    // Longer than the request limit: a request sent with "Expect: 100-continue"
    // completes only if the server answers 100 Continue.
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, Append);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    r.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return r;
  }
  Reply Patch(const std::string& path, const std::string& type, const json& body) {
    return Call(path, {.method = "PATCH", .body = body.dump(), .content_type = type});
  }

  // A watch read on its own thread; lines are the complete events so far.
  class Stream {
   public:
    Stream(KubeApiTest* t, const std::string& path) {
      th_ = std::thread([this, t, path] {
        CURL* c = curl_easy_init();
        curl_slist* hl = nullptr;
        t->SetCommon(c, path, {}, &hl);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Stream::Write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, Append);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers_);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        std::lock_guard<std::mutex> l(mu_);
        rc_ = rc;
        code_ = code;
        done_ = true;
        cv_.notify_all();
      });
    }
    ~Stream() {
      if (th_.joinable()) th_.join();
    }
    static size_t Write(char* d, size_t s, size_t n, void* u) {
      auto* self = static_cast<Stream*>(u);
      std::lock_guard<std::mutex> l(self->mu_);
      self->data_.append(d, s * n);
      self->cv_.notify_all();
      return s * n;
    }
    std::vector<json> Events() {
      std::lock_guard<std::mutex> l(mu_);
      std::vector<json> out;
      std::istringstream in(data_);
      std::string line;
      while (std::getline(in, line)) {
        if (in.eof()) break;  // no newline yet: incomplete
        out.push_back(json::parse(line, nullptr, false));
      }
      return out;
    }
    // Bounded wait for at least n events.
    std::vector<json> WaitEvents(size_t n) {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::seconds(10), [&] {
        return done_ || std::count(data_.begin(), data_.end(), '\n') >= static_cast<long>(n);
      });
      l.unlock();
      return Events();
    }
    CURLcode Finish() {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::seconds(15), [&] { return done_; });
      EXPECT_TRUE(done_) << "watch did not end";
      return rc_;
    }
    bool done() {
      std::lock_guard<std::mutex> l(mu_);
      return done_;
    }
    long code() {
      std::lock_guard<std::mutex> l(mu_);
      return code_;
    }
    std::string headers() {
      std::lock_guard<std::mutex> l(mu_);
      return headers_;
    }

   private:
    std::thread th_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string data_, headers_;
    bool done_ = false;
    CURLcode rc_ = CURLE_OK;
    long code_ = 0;
  };

  void AddNodes(std::initializer_list<std::string> names) {
    int i = 10;
    for (const auto& n : names) {
      auto rv = server_->PutNode(MakeNodeJson(n, "10.99.0." + std::to_string(i++)));
      ASSERT_TRUE(rv) << rv.error().msg();
    }
  }

  std::optional<linen::test::TempNetns> ns_;
  std::optional<cni::ScopedNetnsSwitch> inside_;
  std::unique_ptr<KubeApiServer> server_;
};

void ExpectStatus(const Reply& r, long code, const std::string& reason) {
  EXPECT_EQ(r.code, code) << r.body;
  json j = r.j();
  EXPECT_EQ(j.value("kind", ""), "Status") << r.body;
  EXPECT_EQ(j.value("apiVersion", ""), "v1");
  EXPECT_EQ(j.value("status", ""), "Failure");
  EXPECT_EQ(j.value("reason", ""), reason) << r.body;
  EXPECT_EQ(j.value("code", 0), code);
  EXPECT_TRUE(j.contains("metadata"));
}

// ---- Transport and authentication

TEST_F(KubeApiTest, BearerTokenOverVerifiedTls) {
  AddNodes({"n1"});
  EXPECT_EQ(Call("/api/v1/nodes").code, 200);
  ExpectStatus(Call("/api/v1/nodes", {.token = ""}), 401, "Unauthorized");
  ExpectStatus(Call("/api/v1/nodes", {.token = "wrong"}), 401, "Unauthorized");
  EXPECT_EQ(Call("/api/v1/nodes", {.token = "wrong"}).j().value("message", ""), "Unauthorized");
  // A client that does not trust the server's CA cannot talk to it.
  auto pki = etcd::testing::TestPki::Get();
  ASSERT_TRUE(pki);
  Reply bad_ca = Call("/api/v1/nodes", {.ca = (*pki)->other_ca});
  EXPECT_EQ(bad_ca.rc, CURLE_PEER_FAILED_VERIFICATION) << curl_easy_strerror(bad_ca.rc);
}

TEST_F(KubeApiTest, RotatedTokenRefusesTheOldOne) {
  const std::string old = server_->token();
  EXPECT_EQ(Call("/api/v1/nodes", {.token = old}).code, 200);
  // A watch opened with the old token keeps streaming after the rotation.
  Stream s(this, "/api/v1/nodes?watch=1&resourceVersion=" +
                     std::to_string(server_->resource_version()));
  ASSERT_TRUE(server_->WaitForWatches(1));
  server_->SetToken("rotated-token");
  AddNodes({"after-rotation"});
  auto ev = s.WaitEvents(1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["object"]["metadata"]["name"], "after-rotation");
  server_->CloseWatches();
  s.Finish();
  ExpectStatus(Call("/api/v1/nodes", {.token = old}), 401, "Unauthorized");
  EXPECT_EQ(Call("/api/v1/nodes", {.token = "rotated-token"}).code, 200);
  EXPECT_EQ(server_->token(), "rotated-token");
}

class KubeApiClientCertTest : public KubeApiTest {
 protected:
  KubeApiServerOptions options() const override {
    KubeApiServerOptions o;
    o.client_ca_file = (*etcd::testing::TestPki::Get())->ca;
    return o;
  }
};

TEST_F(KubeApiClientCertTest, ClientCertificateWithCommonNameAuthenticates) {
  const etcd::testing::TestPki* pki = *etcd::testing::TestPki::Get();
  EXPECT_EQ(Call("/api/v1/nodes", {.token = "", .cert = pki->cn_cert, .key = pki->cn_key}).code, 200);
  // No CN: no user name, as the x509 authenticator refuses it.
  ExpectStatus(Call("/api/v1/nodes", {.token = "", .cert = pki->client_cert, .key = pki->client_key}),
               401, "Unauthorized");
  // Signed by a CA the server does not trust.
  Reply rogue = Call("/api/v1/nodes", {.token = "", .cert = pki->rogue_cert, .key = pki->rogue_key});
  EXPECT_EQ(rogue.code, 401) << curl_easy_strerror(rogue.rc);
}

class KubeApiRbacTest : public KubeApiTest {
 protected:
  KubeApiServerOptions options() const override {
    KubeApiServerOptions o;
    o.rules = LinenRbacRules();
    return o;
  }
};

TEST_F(KubeApiRbacTest, OnlyTheGrantedVerbsPass) {
  AddNodes({"n1"});
  EXPECT_EQ(Call("/api/v1/nodes").code, 200);
  EXPECT_EQ(Call("/api/v1/nodes/n1").code, 200);
  const json p = {{"metadata", {{"annotations", {{"a", "b"}}}}}};
  EXPECT_EQ(Patch("/api/v1/nodes/n1/status", "application/merge-patch+json", p).code, 200);
  Reply main = Patch("/api/v1/nodes/n1", "application/merge-patch+json", p);
  ExpectStatus(main, 403, "Forbidden");
  EXPECT_EQ(main.j().value("message", ""),
            "nodes \"n1\" is forbidden: User \"system:serviceaccount:linen:linen\" cannot patch "
            "resource \"nodes\" in API group \"\" at the cluster scope");
  // Reading the status subresource was not granted either.
  ExpectStatus(Call("/api/v1/nodes/n1/status"), 403, "Forbidden");
}

// ---- List and get

TEST_F(KubeApiTest, ListIsANodeListAtTheCurrentResourceVersion) {
  AddNodes({"n2", "n1"});
  Reply r = Call("/api/v1/nodes");
  ASSERT_EQ(r.code, 200) << r.body;
  EXPECT_NE(r.headers.find("Content-Type: application/json"), std::string::npos);
  json j = r.j();
  EXPECT_EQ(j["kind"], "NodeList");
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["metadata"]["resourceVersion"], std::to_string(server_->resource_version()));
  EXPECT_FALSE(j["metadata"].contains("continue"));
  ASSERT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["items"][0]["metadata"]["name"], "n1");  // sorted by name
  EXPECT_EQ(j["items"][1]["metadata"]["name"], "n2");
  // Items of a typed list carry no kind/apiVersion.
  EXPECT_FALSE(j["items"][0].contains("kind"));
  EXPECT_EQ(j["items"][0]["status"]["addresses"][0]["type"], "InternalIP");
  // Each item's own resourceVersion: the change that last wrote it.
  EXPECT_NE(j["items"][0]["metadata"]["resourceVersion"], j["items"][1]["metadata"]["resourceVersion"]);
}

TEST_F(KubeApiTest, GetOneNodeAndNotFound) {
  AddNodes({"n1"});
  Reply r = Call("/api/v1/nodes/n1");
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(r.j()["kind"], "Node");
  EXPECT_EQ(r.j()["metadata"]["name"], "n1");
  EXPECT_FALSE(r.j()["metadata"].value("uid", "").empty());
  Reply nf = Call("/api/v1/nodes/nope");
  ExpectStatus(nf, 404, "NotFound");
  EXPECT_EQ(nf.j()["message"], "nodes \"nope\" not found");
  EXPECT_EQ(nf.j()["details"]["name"], "nope");
  EXPECT_EQ(nf.j()["details"]["kind"], "nodes");
  ExpectStatus(Call("/api/v1/pods"), 404, "NotFound");
}

TEST_F(KubeApiTest, ChunkedListIsConsistentAndExpires) {
  AddNodes({"a", "b", "c"});
  const int64_t rv = server_->resource_version();
  Reply first = Call("/api/v1/nodes?limit=2");
  ASSERT_EQ(first.code, 200);
  json j = first.j();
  ASSERT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["metadata"]["remainingItemCount"], 1);
  const std::string cont = j["metadata"]["continue"];
  ASSERT_FALSE(cont.empty());
  // A change between chunks is not seen: every chunk is at the first one's version.
  ASSERT_TRUE(server_->SetAnnotations("c", {{"changed", "yes"}}));
  Reply second = Call("/api/v1/nodes?limit=2&continue=" + cont);
  ASSERT_EQ(second.code, 200) << second.body;
  json k = second.j();
  ASSERT_EQ(k["items"].size(), 1u);
  EXPECT_EQ(k["items"][0]["metadata"]["name"], "c");
  EXPECT_FALSE(k["items"][0]["metadata"]["annotations"].contains("changed"));
  EXPECT_EQ(k["metadata"]["resourceVersion"], std::to_string(rv));
  EXPECT_FALSE(k["metadata"].contains("continue"));
  // Once that version is compacted the token has expired: 410 and a fresh token.
  server_->Compact();
  Reply expired = Call("/api/v1/nodes?limit=2&continue=" + cont);
  ExpectStatus(expired, 410, "Expired");
  EXPECT_FALSE(expired.j()["metadata"].value("continue", "").empty());
  ExpectStatus(Call("/api/v1/nodes?continue=garbage"), 400, "BadRequest");
}

TEST_F(KubeApiTest, ListResourceVersionSemantics) {
  AddNodes({"a"});
  const int64_t before = server_->resource_version();
  AddNodes({"b"});
  // Exact: the state at that version, from history.
  Reply exact = Call("/api/v1/nodes?resourceVersion=" + std::to_string(before) +
                     "&resourceVersionMatch=Exact");
  ASSERT_EQ(exact.code, 200) << exact.body;
  EXPECT_EQ(exact.j()["items"].size(), 1u);
  EXPECT_EQ(exact.j()["metadata"]["resourceVersion"], std::to_string(before));
  // NotOlderThan (no match, no limit): the newest state.
  Reply nolder = Call("/api/v1/nodes?resourceVersion=" + std::to_string(before));
  EXPECT_EQ(nolder.j()["items"].size(), 2u);
  EXPECT_EQ(Call("/api/v1/nodes?resourceVersion=0").j()["items"].size(), 2u);
  // A version the server has not reached.
  ExpectStatus(Call("/api/v1/nodes?resourceVersion=" + std::to_string(before + 100)), 504, "Timeout");
  // Compacted: Exact (and the legacy resourceVersion+limit form) answer 410 Gone.
  server_->Compact();
  Reply gone = Call("/api/v1/nodes?resourceVersion=" + std::to_string(before) +
                    "&resourceVersionMatch=Exact");
  ExpectStatus(gone, 410, "Expired");
  EXPECT_EQ(gone.j()["message"], "The resourceVersion for the provided list is too old.");
  ExpectStatus(Call("/api/v1/nodes?limit=5&resourceVersion=" + std::to_string(before)), 410,
               "Expired");
}

// ---- Watch

TEST_F(KubeApiTest, WatchFromAVersionStreamsLaterChangesChunked) {
  AddNodes({"old"});
  const int64_t rv = server_->resource_version();
  Stream s(this, "/api/v1/nodes?watch=1&resourceVersion=" + std::to_string(rv) +
                     "&allowWatchBookmarks=true&timeoutSeconds=30");
  ASSERT_TRUE(server_->WaitForWatches(1));
  AddNodes({"n1"});
  ASSERT_TRUE(server_->SetAnnotations("n1", {{"x", "1"}}));
  ASSERT_TRUE(server_->DeleteNode("n1"));
  auto ev = s.WaitEvents(3);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0]["type"], "ADDED");
  EXPECT_EQ(ev[1]["type"], "MODIFIED");
  EXPECT_EQ(ev[2]["type"], "DELETED");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ev[i]["object"]["kind"], "Node");
    EXPECT_EQ(ev[i]["object"]["metadata"]["name"], "n1");  // not "old": before rv
    EXPECT_EQ(ev[i]["object"]["metadata"]["resourceVersion"], std::to_string(rv + 1 + i));
  }
  EXPECT_EQ(ev[1]["object"]["metadata"]["annotations"]["x"], "1");
  const std::string h = s.headers();
  EXPECT_NE(h.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(h.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(h.find("Content-Type: application/json"), std::string::npos);
  // Closed by the server mid-stream: the client sees a truncated chunked body.
  server_->CloseWatches();
  CURLcode rc = s.Finish();
  EXPECT_TRUE(rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR) << curl_easy_strerror(rc);
  EXPECT_EQ(server_->Count("watch", "/api/v1/nodes"), 1);
}

TEST_F(KubeApiTest, WatchWithoutVersionStartsWithSyntheticAdds) {
  AddNodes({"a", "b"});
  Stream s(this, "/api/v1/nodes?watch=true");
  auto ev = s.WaitEvents(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["type"], "ADDED");
  EXPECT_EQ(ev[1]["type"], "ADDED");
  EXPECT_EQ(ev[1]["object"]["metadata"]["name"], "b");
  ASSERT_TRUE(server_->SetPodCidrs("a", {"10.244.1.0/24"}));
  ev = s.WaitEvents(3);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[2]["type"], "MODIFIED");
  EXPECT_EQ(ev[2]["object"]["spec"]["podCIDR"], "10.244.1.0/24");
  EXPECT_EQ(ev[2]["object"]["spec"]["podCIDRs"][0], "10.244.1.0/24");
  server_->CloseWatches();
  s.Finish();
}

TEST_F(KubeApiTest, BookmarksOnlyWhenAllowedAndOnlyTheVersion) {
  AddNodes({"a"});
  const std::string rv = std::to_string(server_->resource_version());
  Stream with(this, "/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv);
  Stream without(this, "/api/v1/nodes?watch=1&resourceVersion=" + rv);
  ASSERT_TRUE(server_->WaitForWatches(2));
  server_->SendBookmark();
  AddNodes({"b"});
  auto ev = with.WaitEvents(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["type"], "BOOKMARK");
  EXPECT_EQ(ev[0]["object"], json::parse(R"({"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":")" +
                                         rv + "\"}}"));
  EXPECT_EQ(ev[1]["type"], "ADDED");
  auto ev2 = without.WaitEvents(1);
  ASSERT_EQ(ev2.size(), 1u);
  EXPECT_EQ(ev2[0]["type"], "ADDED");
  server_->CloseWatches();
  with.Finish();
  without.Finish();
}

class KubeApiPeriodicBookmarkTest : public KubeApiTest {
 protected:
  KubeApiServerOptions options() const override {
    KubeApiServerOptions o;
    o.bookmark_interval = std::chrono::milliseconds(100);
    return o;
  }
};

TEST_F(KubeApiPeriodicBookmarkTest, BookmarksArriveWithoutChanges) {
  AddNodes({"a"});
  const std::string rv = std::to_string(server_->resource_version());
  Stream s(this, "/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv);
  auto ev = s.WaitEvents(1);
  ASSERT_GE(ev.size(), 1u);
  EXPECT_EQ(ev[0]["type"], "BOOKMARK");
  EXPECT_EQ(ev[0]["object"]["metadata"]["resourceVersion"], rv);
  server_->CloseWatches();
  s.Finish();
}

TEST_F(KubeApiTest, WatchFromACompactedVersionGets410AsAnEvent) {
  AddNodes({"a"});
  const int64_t old = server_->resource_version();
  AddNodes({"b"});
  server_->Compact();
  Stream s(this, "/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=" +
                     std::to_string(old));
  EXPECT_EQ(s.Finish(), CURLE_OK);  // ends cleanly
  EXPECT_EQ(s.code(), 200);         // the real server accepts the watch first
  auto ev = s.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["type"], "ERROR");
  EXPECT_EQ(ev[0]["object"]["kind"], "Status");
  EXPECT_EQ(ev[0]["object"]["code"], 410);
  EXPECT_EQ(ev[0]["object"]["reason"], "Expired");
  EXPECT_EQ(ev[0]["object"]["status"], "Failure");
  // The current version is still fine.
  Stream ok(this, "/api/v1/nodes?watch=1&resourceVersion=" +
                      std::to_string(server_->resource_version()));
  ASSERT_TRUE(server_->WaitForWatches(1));
  server_->CloseWatches();
  ok.Finish();
  EXPECT_TRUE(ok.Events().empty());
}

TEST_F(KubeApiTest, WatchFromAFutureOrBadVersionGetsAnErrorEvent) {
  Stream future(this, "/api/v1/nodes?watch=1&resourceVersion=" +
                          std::to_string(server_->resource_version() + 50));
  EXPECT_EQ(future.Finish(), CURLE_OK);
  auto ev = future.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["type"], "ERROR");
  EXPECT_EQ(ev[0]["object"]["code"], 504);
  EXPECT_EQ(ev[0]["object"]["reason"], "Timeout");
  Stream bad(this, "/api/v1/nodes?watch=1&resourceVersion=abc");
  EXPECT_EQ(bad.Finish(), CURLE_OK);
  ev = bad.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["object"]["code"], 400);
  ExpectStatus(Call("/api/v1/nodes?resourceVersion=abc"), 400, "BadRequest");
}

TEST_F(KubeApiTest, ExpireWatchesSends410MidStream) {
  AddNodes({"a"});
  Stream s(this, "/api/v1/nodes?watch=1&resourceVersion=" +
                     std::to_string(server_->resource_version()));
  ASSERT_TRUE(server_->WaitForWatches(1));
  AddNodes({"b"});
  ASSERT_EQ(s.WaitEvents(1).size(), 1u);
  server_->ExpireWatches();
  EXPECT_EQ(s.Finish(), CURLE_OK);
  auto ev = s.Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1]["type"], "ERROR");
  EXPECT_EQ(ev[1]["object"]["code"], 410);
  EXPECT_EQ(ev[1]["object"]["reason"], "Expired");
  EXPECT_EQ(server_->open_watches(), 0u);
}

class KubeApiShortHistoryTest : public KubeApiTest {
 protected:
  KubeApiServerOptions options() const override {
    KubeApiServerOptions o;
    o.history_limit = 2;
    return o;
  }
};

TEST_F(KubeApiShortHistoryTest, HistoryBeyondTheLimitIsCompacted) {
  const int64_t start = server_->resource_version();
  AddNodes({"a", "b"});
  Stream in_window(this, "/api/v1/nodes?watch=1&resourceVersion=" + std::to_string(start));
  ASSERT_EQ(in_window.WaitEvents(2).size(), 2u);
  server_->CloseWatches();
  in_window.Finish();
  AddNodes({"c"});
  Stream s(this, "/api/v1/nodes?watch=1&resourceVersion=" + std::to_string(start));
  s.Finish();
  auto ev = s.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["object"]["code"], 410);
}

TEST_F(KubeApiTest, WatchTimeoutEndsTheStreamCleanly) {
  Stream s(this, "/api/v1/nodes?watch=1&timeoutSeconds=1&resourceVersion=" +
                     std::to_string(server_->resource_version()));
  EXPECT_EQ(s.Finish(), CURLE_OK);
  EXPECT_TRUE(s.Events().empty());
}

// ---- Patch

TEST_F(KubeApiTest, MergePatchOfAnnotationsOnStatus) {
  AddNodes({"n1"});
  ASSERT_TRUE(server_->SetAnnotations("n1", {{"keep", "k"}, {"drop", "d"}}));
  const int64_t rv = server_->resource_version();
  Reply r = Patch("/api/v1/nodes/n1/status", "application/merge-patch+json",
                  {{"metadata", {{"annotations", {{"new", "v"}, {"drop", nullptr}}}}}});
  ASSERT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(r.j()["metadata"]["resourceVersion"], std::to_string(rv + 1));
  EXPECT_EQ(server_->Annotation("n1", "new"), "v");
  EXPECT_EQ(server_->Annotation("n1", "keep"), "k");
  EXPECT_EQ(server_->Annotation("n1", "drop"), std::nullopt);
  EXPECT_EQ(server_->Annotation("n1", "node.alpha.kubernetes.io/ttl"), "0");
  EXPECT_EQ(server_->Count("patch", "/api/v1/nodes/n1/status"), 1);
  // The same patch again changes nothing: no new resourceVersion.
  Reply again = Patch("/api/v1/nodes/n1/status", "application/merge-patch+json",
                      {{"metadata", {{"annotations", {{"new", "v"}}}}}});
  ASSERT_EQ(again.code, 200);
  EXPECT_EQ(server_->resource_version(), rv + 1);
}

TEST_F(KubeApiTest, StrategicMergeKeepsTheKubeletsConditions) {
  AddNodes({"n1"});
  const json cond = {{"status",
                      {{"conditions",
                        {{{"type", "NetworkUnavailable"}, {"status", "False"},
                          {"reason", "FlannelIsUp"}, {"message", "Flannel is running on this node"}}}}}}};
  Reply r = Patch("/api/v1/nodes/n1/status", "application/strategic-merge-patch+json", cond);
  ASSERT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(server_->ConditionStatus("n1", "NetworkUnavailable"), "False");
  EXPECT_EQ(server_->ConditionStatus("n1", "Ready"), "True");
  EXPECT_EQ(r.j()["status"]["conditions"].size(), 5u);
  // Merged by type: patching it again updates that one entry, adds none.
  json flip = cond;
  flip["status"]["conditions"][0]["status"] = "True";
  ASSERT_EQ(Patch("/api/v1/nodes/n1/status", "application/strategic-merge-patch+json", flip).code, 200);
  EXPECT_EQ(server_->ConditionStatus("n1", "NetworkUnavailable"), "True");
  // A plain merge patch replaces the whole list: Ready is gone.
  ASSERT_EQ(Patch("/api/v1/nodes/n1/status", "application/merge-patch+json", cond).code, 200);
  EXPECT_EQ(server_->ConditionStatus("n1", "Ready"), std::nullopt);
  EXPECT_EQ(server_->ConditionStatus("n1", "NetworkUnavailable"), "False");
}

TEST_F(KubeApiTest, EachEndpointKeepsTheOtherHalf) {
  AddNodes({"n1"});
  ASSERT_TRUE(server_->SetPodCidrs("n1", {"10.244.1.0/24"}));
  // Conditions patched on the main resource are dropped (status belongs to /status).
  Reply main = Patch("/api/v1/nodes/n1", "application/strategic-merge-patch+json",
                     {{"status", {{"conditions", {{{"type", "NetworkUnavailable"}, {"status", "False"}}}}}},
                      {"metadata", {{"labels", {{"l", "1"}}}}}});
  ASSERT_EQ(main.code, 200) << main.body;
  EXPECT_EQ(server_->ConditionStatus("n1", "NetworkUnavailable"), std::nullopt);
  EXPECT_EQ(main.j()["metadata"]["labels"]["l"], "1");
  // Spec patched on /status is dropped.
  Reply st = Patch("/api/v1/nodes/n1/status", "application/merge-patch+json",
                   {{"spec", {{"unschedulable", true}}}});
  ASSERT_EQ(st.code, 200);
  EXPECT_FALSE(st.j()["spec"].contains("unschedulable"));
  // podCIDR cannot change once set.
  ExpectStatus(Patch("/api/v1/nodes/n1", "application/merge-patch+json",
                     {{"spec", {{"podCIDR", "10.244.9.0/24"}, {"podCIDRs", {"10.244.9.0/24"}}}}}),
               422, "Invalid");
}

TEST_F(KubeApiTest, PatchErrorsAreStatusObjects) {
  AddNodes({"n1"});
  const std::string path = "/api/v1/nodes/n1/status";
  ExpectStatus(Call(path, {.method = "PATCH", .body = "[]", .content_type = "application/json-patch+json"}),
               415, "UnsupportedMediaType");
  ExpectStatus(Call(path, {.method = "PATCH", .body = "{}", .content_type = "application/json"}),
               415, "UnsupportedMediaType");
  ExpectStatus(Call(path, {.method = "PATCH", .body = "{not json", .content_type = "application/merge-patch+json"}),
               400, "BadRequest");
  ExpectStatus(Call(path, {.method = "PATCH", .body = "[1]",
                           .content_type = "application/strategic-merge-patch+json"}),
               400, "BadRequest");
  ExpectStatus(Patch(path, "application/merge-patch+json", {{"metadata", {{"annotations", {{"n", 1}}}}}}),
               422, "Invalid");
  ExpectStatus(Patch(path, "application/merge-patch+json", {{"status", {{"conditions", "x"}}}}), 422,
               "Invalid");
  ExpectStatus(Patch("/api/v1/nodes/ghost/status", "application/merge-patch+json", json::object()),
               404, "NotFound");
  ExpectStatus(Patch(path, "application/merge-patch+json", {{"metadata", {{"resourceVersion", "1"}}}}),
               409, "Conflict");
  ExpectStatus(Patch(path, "application/merge-patch+json", {{"metadata", {{"name", "other"}}}}), 400,
               "BadRequest");
  // A merge-keyed list element without its key.
  Reply nokey = Patch(path, "application/strategic-merge-patch+json",
                      {{"status", {{"conditions", {{{"status", "False"}}}}}}});
  ExpectStatus(nokey, 500, "InternalError");
  EXPECT_NE(nokey.j()["message"].get<std::string>().find("does not contain declared merge key: type"),
            std::string::npos);
  ExpectStatus(Call("/api/v1/nodes/n1", {.method = "DELETE"}), 405, "MethodNotAllowed");
  // None of that changed the node.
  EXPECT_EQ(server_->ConditionStatus("n1", "Ready"), "True");
  EXPECT_EQ(server_->Count("patch"), 10);
}

TEST_F(KubeApiTest, RequestLogCountsVerbsAndPaths) {
  AddNodes({"n1"});
  Call("/api/v1/nodes");
  Call("/api/v1/nodes?limit=1");
  Call("/api/v1/nodes/n1");
  EXPECT_EQ(server_->Count("list"), 2);
  EXPECT_EQ(server_->Count("get", "/api/v1/nodes/n1"), 1);
  EXPECT_EQ(server_->Count("get", "/api/v1/nodes/n2"), 0);
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].query, "limit=1");
  EXPECT_EQ(reqs[1].code, 200);
  EXPECT_EQ(reqs[1].user, "system:serviceaccount:linen:linen");
  server_->ClearRequests();
  EXPECT_EQ(server_->Count("list"), 0);
}

TEST_F(KubeApiTest, FlannelAnnotationsInFlanneldsFormat) {
  AddNodes({"f1", "f2"});
  ASSERT_TRUE(server_->WriteFlannelAnnotations(
      "f1", {.vtep_mac = "ce:6b:3e:6f:28:1d", .public_ip = "10.99.0.10"}));
  EXPECT_EQ(server_->Annotation("f1", "flannel.alpha.coreos.com/backend-data"),
            R"({"VNI":1,"VtepMAC":"ce:6b:3e:6f:28:1d"})");
  EXPECT_EQ(server_->Annotation("f1", "flannel.alpha.coreos.com/backend-type"), "vxlan");
  EXPECT_EQ(server_->Annotation("f1", "flannel.alpha.coreos.com/kube-subnet-manager"), "true");
  EXPECT_EQ(server_->Annotation("f1", "flannel.alpha.coreos.com/public-ip"), "10.99.0.10");
  EXPECT_EQ(server_->Annotation("f1", "flannel.alpha.coreos.com/backend-v6-data"), std::nullopt);
  ASSERT_TRUE(server_->WriteFlannelAnnotations(
      "f2", {.backend_type = "host-gw", .public_ip = "10.99.0.11"}));
  EXPECT_EQ(server_->Annotation("f2", "flannel.alpha.coreos.com/backend-data"), "null");
  EXPECT_EQ(server_->Annotation("f2", "flannel.alpha.coreos.com/backend-v6-data"), std::nullopt);
}

// What flanneld writes for the families it runs (kube.go AcquireLease): vxlan only
// the families it has a VTEP for; host-gw always the IPv4 pair ("0.0.0.0" without
// IPv4) and "null" backend-v6-data beside public-ipv6.
TEST_F(KubeApiTest, FlannelAnnotationsPerFamily) {
  AddNodes({"d", "v6", "h6"});
  const std::string p = "flannel.alpha.coreos.com/";
  ASSERT_TRUE(server_->WriteFlannelAnnotations(
      "d", {.vtep_mac = "ce:6b:3e:6f:28:1d", .public_ip = "10.99.0.10",
            .vtep_mac_v6 = "ce:6b:3e:6f:28:1e", .public_ipv6 = "fd00:99::10"}));
  EXPECT_EQ(server_->Annotation("d", p + "backend-v6-data"),
            R"({"VNI":1,"VtepMAC":"ce:6b:3e:6f:28:1e"})");
  EXPECT_EQ(server_->Annotation("d", p + "public-ipv6"), "fd00:99::10");
  EXPECT_EQ(server_->Annotation("d", p + "public-ip"), "10.99.0.10");
  ASSERT_TRUE(server_->WriteFlannelAnnotations(
      "v6", {.vtep_mac_v6 = "ce:6b:3e:6f:28:1f", .public_ipv6 = "fd00:99::11"}));
  EXPECT_EQ(server_->Annotation("v6", p + "backend-data"), std::nullopt);
  EXPECT_EQ(server_->Annotation("v6", p + "public-ip"), std::nullopt);
  EXPECT_EQ(server_->Annotation("v6", p + "public-ipv6"), "fd00:99::11");
  ASSERT_TRUE(server_->WriteFlannelAnnotations(
      "h6", {.backend_type = "host-gw", .public_ipv6 = "fd00:99::12"}));
  EXPECT_EQ(server_->Annotation("h6", p + "backend-data"), "null");
  EXPECT_EQ(server_->Annotation("h6", p + "public-ip"), "0.0.0.0");
  EXPECT_EQ(server_->Annotation("h6", p + "backend-v6-data"), "null");
  EXPECT_EQ(server_->Annotation("h6", p + "public-ipv6"), "fd00:99::12");
}

TEST_F(KubeApiTest, CredentialFilesForClients) {
  linen::test::TempDir dir;
  ASSERT_TRUE(server_->WriteServiceAccountDir(dir.path() + "/sa"));
  auto read = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  EXPECT_EQ(read(dir.path() + "/sa/token"), server_->token());
  EXPECT_EQ(read(dir.path() + "/sa/namespace"), "linen");
  EXPECT_EQ(read(dir.path() + "/sa/ca.crt"), read(server_->ca_file()));
  ASSERT_TRUE(server_->WriteKubeconfig(dir.path() + "/kubeconfig"));
  const std::string kc = read(dir.path() + "/kubeconfig");
  EXPECT_NE(kc.find("server: " + server_->url()), std::string::npos);
  EXPECT_NE(kc.find("token: " + server_->token()), std::string::npos);
  EXPECT_NE(kc.find("certificate-authority: " + server_->ca_file()), std::string::npos);
}

TEST_F(KubeApiTest, FieldSelectorOnTheNodeName) {
  AddNodes({"a", "b"});
  Reply l = Call("/api/v1/nodes?fieldSelector=metadata.name%3Db");
  ASSERT_EQ(l.code, 200) << l.body;
  ASSERT_EQ(l.j()["items"].size(), 1u);
  EXPECT_EQ(l.j()["items"][0]["metadata"]["name"], "b");
  ExpectStatus(Call("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue"), 400, "BadRequest");
  ExpectStatus(Call("/api/v1/nodes?labelSelector=x%3Dy"), 400, "BadRequest");
  Stream s(this, "/api/v1/nodes?watch=1&fieldSelector=metadata.name%3D%3Db");
  ASSERT_EQ(s.WaitEvents(1).size(), 1u);
  ASSERT_TRUE(server_->SetAnnotations("a", {{"x", "1"}}));
  ASSERT_TRUE(server_->SetAnnotations("b", {{"x", "1"}}));
  auto ev = s.WaitEvents(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["object"]["metadata"]["name"], "b");
  EXPECT_EQ(ev[1]["type"], "MODIFIED");
  EXPECT_EQ(ev[1]["object"]["metadata"]["name"], "b");
  server_->CloseWatches();
  s.Finish();
}

TEST_F(KubeApiTest, ExpectContinueIsAnswered) {
  AddNodes({"n1"});
  // With "Expect: 100-continue" curl holds the body back until the interim answer
  // (Call waits up to 30 s for it, beyond its 5 s request limit).
  const json p = {{"metadata", {{"annotations", {{"big", std::string(4096, 'x')}}}}}};
  Reply r = Call("/api/v1/nodes/n1/status", {.method = "PATCH",
                                             .body = p.dump(),
                                             .content_type = "application/merge-patch+json",
                                             .headers = {"Expect: 100-continue"}});
  EXPECT_EQ(r.rc, CURLE_OK) << curl_easy_strerror(r.rc);
  EXPECT_EQ(r.code, 200);
  EXPECT_NE(r.headers.find("100 Continue"), std::string::npos);
  EXPECT_EQ(server_->Annotation("n1", "big"), std::string(4096, 'x'));
}

TEST_F(KubeApiTest, PutNodeUnchangedIsNoChange) {
  const std::string node = MakeNodeJson("n1", "10.99.0.10", {"10.244.1.0/24"});
  auto first = server_->PutNode(node);
  ASSERT_TRUE(first);
  auto again = server_->PutNode(*server_->GetNode("n1"));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(server_->resource_version(), *first);
  EXPECT_FALSE(server_->PutNode("[]"));
  EXPECT_FALSE(server_->PutNode(R"({"metadata":{}})"));
  EXPECT_FALSE(server_->DeleteNode("ghost"));
  EXPECT_FALSE(server_->SetPodCidrs("ghost", {"10.244.2.0/24"}));
}

TEST_F(KubeApiTest, StopAndRestartKeepTheStore) {
  AddNodes({"n1"});
  Stream s(this, "/api/v1/nodes?watch=1&resourceVersion=" +
                     std::to_string(server_->resource_version()));
  ASSERT_TRUE(server_->WaitForWatches(1));
  server_->Stop();
  EXPECT_FALSE(server_->running());
  CURLcode rc = s.Finish();
  EXPECT_TRUE(rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR) << curl_easy_strerror(rc);
  EXPECT_EQ(Call("/api/v1/nodes").rc, CURLE_COULDNT_CONNECT);
  ASSERT_TRUE(server_->Restart());
  EXPECT_TRUE(server_->running());
  Reply r = Call("/api/v1/nodes/n1");
  EXPECT_EQ(r.code, 200) << curl_easy_strerror(r.rc);
}

TEST_F(KubeApiTest, InjectedFailuresThenService) {
  AddNodes({"n1"});
  server_->FailRequests(2, 429);
  Reply first = Call("/api/v1/nodes");
  ExpectStatus(first, 429, "TooManyRequests");
  EXPECT_NE(first.headers.find("Retry-After: 1"), std::string::npos);
  ExpectStatus(Patch("/api/v1/nodes/n1/status", "application/merge-patch+json",
                     {{"metadata", {{"annotations", {{"a", "b"}}}}}}),
               429, "TooManyRequests");
  EXPECT_EQ(server_->Annotation("n1", "a"), std::nullopt);  // the failed patch did nothing
  EXPECT_EQ(Call("/api/v1/nodes").code, 200);
  server_->FailRequests(1, 500);
  ExpectStatus(Call("/api/v1/nodes?watch=1"), 500, "InternalError");
  EXPECT_EQ(Call("/api/v1/nodes/n1").code, 200);
  EXPECT_TRUE(server_->WaitForCount("list", "/api/v1/nodes", 2));
  EXPECT_FALSE(server_->WaitForCount("list", "/api/v1/nodes", 3, std::chrono::milliseconds(0)));
  ASSERT_TRUE(server_->SetAnnotations("n1", {{"k", "v"}}));
  EXPECT_EQ(server_->Annotations("n1").at("k"), "v");
  EXPECT_TRUE(server_->Annotations("ghost").empty());
}

}  // namespace
}  // namespace linen::kube::testing
