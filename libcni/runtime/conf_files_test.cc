#include "libcni/runtime/conf_files.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "test/support/test_support.h"

namespace cni::runtime {
namespace {

using linen::test::TempDir;

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string List(const std::string& name, const std::string& type) {
  return R"({"cniVersion":"1.0.0","name":")" + name + R"(","plugins":[{"type":")" + type +
         R"("}]})";
}
std::string Single(const std::string& name, const std::string& type) {
  return R"({"cniVersion":"0.4.0","name":")" + name + R"(","type":")" + type + R"("})";
}

TEST(ConfFiles, ListsMatchingExtensionsSortedAndSkipsDirs) {
  TempDir d;
  Write(d.path() + "/20-b.conflist", "{}");
  Write(d.path() + "/10-a.conf", "{}");
  Write(d.path() + "/05-c.json", "{}");
  Write(d.path() + "/99-x.txt", "{}");
  ::mkdir((d.path() + "/50-dir.conf").c_str(), 0755);
  auto files = ConfFiles(d.path(), {".conf", ".json"});
  ASSERT_TRUE(files);
  EXPECT_EQ(*files, (std::vector<std::string>{d.path() + "/05-c.json", d.path() + "/10-a.conf"}));
  auto missing = ConfFiles(d.path() + "/nope", {".conf"});
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->empty());
}

TEST(LoadNetworkConf, FirstConflistInLexicalOrderWinsAndDuplicatesAreReported) {
  TempDir d;
  Write(d.path() + "/20-second.conflist", List("net", "second"));
  Write(d.path() + "/10-first.conflist", List("net", "first"));
  Write(d.path() + "/30-other.conflist", List("other", "x"));
  Write(d.path() + "/05-single.conf", Single("net", "legacy"));
  std::vector<std::string> warnings;
  auto list = LoadNetworkConf(d.path(), "net", &warnings);
  ASSERT_TRUE(list) << list.error().msg();
  // .conflist files come before any .conf, even one sorting earlier.
  EXPECT_EQ(list->plugins.at(0).type, "first");
  EXPECT_EQ(list->source, d.path() + "/10-first.conflist");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("20-second.conflist"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("05-single.conf"), std::string::npos) << warnings[1];
}

TEST(LoadNetworkConf, FallsBackToUpConvertedConfAndJson) {
  TempDir d;
  Write(d.path() + "/10-a.conflist", List("a", "x"));
  Write(d.path() + "/20-b.json", Single("b", "bridge"));
  auto list = LoadNetworkConf(d.path(), "b");
  ASSERT_TRUE(list) << list.error().msg();
  EXPECT_EQ(list->name, "b");
  EXPECT_EQ(list->cni_version, "0.4.0");
  ASSERT_EQ(list->plugins.size(), 1u);
  EXPECT_EQ(list->plugins[0].type, "bridge");
}

TEST(LoadNetworkConf, NotFoundNamesDirAndNetworksPresent) {
  TempDir d;
  Write(d.path() + "/10-a.conflist", List("alpha", "x"));
  auto list = LoadNetworkConf(d.path(), "beta");
  ASSERT_FALSE(list);
  EXPECT_TRUE(list.error().IsNotFound());
  EXPECT_EQ(list.error().msg(), "no net configuration with name \"beta\" in " + d.path() +
                                    " (found: \"alpha\")");
  auto empty = LoadNetworkConf(d.path() + "/none", "beta");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().msg(), "no net configurations found in " + d.path() + "/none");
}

TEST(LoadNetworkConf, BrokenFileBeforeTheMatchIsAnErrorNamingIt) {
  TempDir d;
  Write(d.path() + "/10-broken.conflist", R"({"name":"x","plugins":[{"bridge":"br0"}]})");
  Write(d.path() + "/20-good.conflist", List("good", "x"));
  auto list = LoadNetworkConf(d.path(), "good");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code(), Code::kInvalidNetworkConfig);
  EXPECT_NE(list.error().msg().find("10-broken.conflist"), std::string::npos)
      << list.error().msg();
  EXPECT_NE(list.error().msg().find("missing 'type'"), std::string::npos) << list.error().msg();
}

TEST(ConfListFromFile, AppendsPluginsFromNetworkSubdirUnlessInlinedOnly) {
  TempDir d;
  Write(d.path() + "/10-n.conflist", R"({"cniVersion":"1.0.0","name":"n"})");
  ::mkdir((d.path() + "/n").c_str(), 0755);
  Write(d.path() + "/n/2.conf", R"({"type":"second"})");
  Write(d.path() + "/n/1.conf", R"({"type":"first"})");
  auto list = ConfListFromFile(d.path() + "/10-n.conflist");
  ASSERT_TRUE(list) << list.error().msg();
  ASSERT_EQ(list->plugins.size(), 2u);
  EXPECT_EQ(list->plugins[0].type, "first");
  EXPECT_EQ(list->plugins[1].type, "second");

  Write(d.path() + "/20-m.conflist",
        R"({"name":"n","loadOnlyInlinedPlugins":true,"plugins":[{"type":"own"}]})");
  auto inlined = ConfListFromFile(d.path() + "/20-m.conflist");
  ASSERT_TRUE(inlined) << inlined.error().msg();
  ASSERT_EQ(inlined->plugins.size(), 1u);

  Write(d.path() + "/30-empty.conflist", R"({"name":"empty"})");
  auto none = ConfListFromFile(d.path() + "/30-empty.conflist");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().msg().find("no plugin configs found"), std::string::npos);
}

TEST(LoadNetworkFile, ByExtension) {
  TempDir d;
  Write(d.path() + "/a.conflist", List("a", "x"));
  Write(d.path() + "/b.conf", Single("b", "y"));
  Write(d.path() + "/c.yaml", "name: c");
  auto a = LoadNetworkFile(d.path() + "/a.conflist");
  ASSERT_TRUE(a) << a.error().msg();
  EXPECT_EQ(a->name, "a");
  auto b = LoadNetworkFile(d.path() + "/b.conf");
  ASSERT_TRUE(b) << b.error().msg();
  EXPECT_EQ(b->plugins.at(0).type, "y");
  auto c = LoadNetworkFile(d.path() + "/c.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().msg().find("extension"), std::string::npos);
  auto missing = LoadNetworkFile(d.path() + "/nope.conflist");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::kIoFailure);
  EXPECT_NE(missing.error().msg().find("nope.conflist"), std::string::npos);
}

// Every shipped example list loads the way a runtime would load it.
TEST(ConfExamples, EveryShippedConflistLoads) {
  auto files = ConfFiles(linen::test::SourcePath("conf-examples"), {".conflist"});
  ASSERT_TRUE(files);
  ASSERT_FALSE(files->empty());
  for (const auto& f : *files) {
    auto list = ConfListFromFile(f);
    ASSERT_TRUE(list) << f << ": " << list.error().msg();
    EXPECT_FALSE(list->name.empty()) << f;
    EXPECT_TRUE(IsSupportedVersion(list->cni_version)) << f << ": " << list->cni_version;
  }
}

}  // namespace
}  // namespace cni::runtime
