#include "libcni/runtime/result_cache.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "test/support/test_support.h"

namespace cni::runtime {
namespace {

using linen::test::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CacheEntry Sample() {
  CacheEntry e;
  e.container_id = "cnitool-254dc2c1a36160f60f59";
  e.ifname = "eth0";
  e.network_name = "mynet";
  e.netns = "/run/netns/foo";
  e.config = R"({"cniVersion":"1.0.0","name":"mynet","plugins":[{"type":"bridge"}]})";
  e.cni_args = {{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "a&b"}};
  e.capability_args = {{"mac", "0a:58:0a:01:00:05"}};
  e.result = json::parse(R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0",
      "mac":"0a:58:0a:01:00:05","sandbox":"/run/netns/foo"}],
      "ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1","interface":0}],"dns":{}})");
  return e;
}

// Exactly what the reference libcni's json.Marshal(cachedInfo) writes for the same
// attachment: struct fields in declaration order, map keys sorted, []byte as base64,
// and <, >, & escaped.
constexpr const char* kReferenceBytes =
    R"({"kind":"cniCacheV1","containerId":"cnitool-254dc2c1a36160f60f59",)"
    R"("config":"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoibXluZXQiLCJwbHVnaW5zIjpbeyJ0eXBlIjoiYnJpZGdlIn1dfQ==",)"
    R"("ifName":"eth0","networkName":"mynet","netns":"/run/netns/foo",)"
    R"("cniArgs":[["IgnoreUnknown","1"],["K8S_POD_NAME","a\u0026b"]],)"
    R"("capabilityArgs":{"mac":"0a:58:0a:01:00:05"},)"
    R"("result":{"cniVersion":"1.0.0","dns":{},"interfaces":[{"mac":"0a:58:0a:01:00:05",)"
    R"("name":"eth0","sandbox":"/run/netns/foo"}],"ips":[{"address":"10.1.0.5/24",)"
    R"("gateway":"10.1.0.1","interface":0}]}})";

TEST(ResultCache, SerializesByteForByteLikeTheReference) {
  EXPECT_EQ(SerializeCacheEntry(Sample()), kReferenceBytes);
}

TEST(ResultCache, OmitsEmptyOptionalFieldsLikeGoOmitempty) {
  CacheEntry e;
  e.container_id = "c";
  e.ifname = "eth0";
  e.network_name = "n";
  e.config = "{}";
  EXPECT_EQ(SerializeCacheEntry(e),
            R"({"kind":"cniCacheV1","containerId":"c","config":"e30=","ifName":"eth0",)"
            R"("networkName":"n"})");
}

TEST(ResultCache, ReadsAReferenceWrittenFile) {
  auto e = ParseCacheEntry(kReferenceBytes);
  ASSERT_TRUE(e) << e.error().msg();
  CacheEntry want = Sample();
  EXPECT_FALSE(e->legacy);
  EXPECT_EQ(e->container_id, want.container_id);
  EXPECT_EQ(e->ifname, want.ifname);
  EXPECT_EQ(e->network_name, want.network_name);
  EXPECT_EQ(e->netns, want.netns);
  EXPECT_EQ(e->config, want.config);
  EXPECT_EQ(e->cni_args, want.cni_args);
  EXPECT_EQ(e->capability_args, want.capability_args);
  ASSERT_TRUE(e->result);
  EXPECT_EQ(*e->result, *want.result);
}

TEST(ResultCache, LegacyFileIsABareResult) {
  auto e = ParseCacheEntry(R"({"cniVersion":"0.3.1","ips":[]})");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->legacy);
  EXPECT_EQ((*e->result)["cniVersion"], "0.3.1");
  EXPECT_FALSE(ParseCacheEntry("not json"));
  EXPECT_FALSE(ParseCacheEntry(R"({"kind":"cniCacheV1","config":"%%%"})"));
}

TEST(ResultCache, WriteReadRemoveWithReferencePathAndModes) {
  TempDir d;
  ResultCache cache(d.path() + "/cni");
  ASSERT_TRUE(cache.Write(Sample()));
  const std::string path = d.path() + "/cni/results/mynet-cnitool-254dc2c1a36160f60f59-eth0";
  EXPECT_EQ(ReadAll(path), kReferenceBytes);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((d.path() + "/cni/results").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // No temp file left behind.
  int files = 0;
  for (auto& f : std::filesystem::directory_iterator(d.path() + "/cni/results")) {
    (void)f;
    ++files;
  }
  EXPECT_EQ(files, 1);

  auto got = cache.Read("mynet", "cnitool-254dc2c1a36160f60f59", "eth0");
  ASSERT_TRUE(got) << got.error().msg();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->netns, "/run/netns/foo");

  auto none = cache.Read("mynet", "other", "eth0");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(cache.Remove("mynet", "cnitool-254dc2c1a36160f60f59", "eth0"));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(cache.Remove("mynet", "cnitool-254dc2c1a36160f60f59", "eth0"));  // idempotent
}

TEST(ResultCache, CorruptFileIsAnErrorNamingIt) {
  TempDir d;
  ResultCache cache(d.path());
  std::filesystem::create_directories(d.path() + "/results");
  std::ofstream(d.path() + "/results/n-c-eth0") << "{garbage";
  auto got = cache.Read("n", "c", "eth0");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().msg().find("results/n-c-eth0"), std::string::npos);
}

TEST(ResultCache, FilePathNeedsAllParts) {
  ResultCache cache("/x");
  auto p = cache.FilePath("n", "", "eth0");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().msg().find("container ID"), std::string::npos);
  EXPECT_EQ(*cache.FilePath("n", "c", "eth0"), "/x/results/n-c-eth0");
}

TEST(ResultCache, ListSkipsLegacyBrokenAndFiltersByContainer) {
  TempDir d;
  ResultCache cache(d.path());
  CacheEntry a = Sample();
  CacheEntry b = Sample();
  b.container_id = "other";
  ASSERT_TRUE(cache.Write(a));
  ASSERT_TRUE(cache.Write(b));
  std::ofstream(d.path() + "/results/legacy-x-eth0") << R"({"cniVersion":"0.3.1"})";
  std::ofstream(d.path() + "/results/broken-x-eth0") << "{";
  auto all = cache.List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].container_id, a.container_id);
  EXPECT_EQ(all[1].container_id, "other");
  auto one = cache.List("other");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].container_id, "other");
}

}  // namespace
}  // namespace cni::runtime
