// The skeleton through RunPlugin: environment rules per verb, config decoding,
// version gates, output shapes. Every refusal must happen before the verb runs.
#include "libcni/skel.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace cni {
namespace {

using Env = std::map<std::string, std::string>;

constexpr const char* kConf10 = R"({"cniVersion":"1.0.0","name":"net1","type":"dummy"})";

std::string Conf(const std::string& version) {
  return R"({"cniVersion":")" + version + R"(","name":"net1","type":"dummy"})";
}

Env FullEnv(const std::string& cmd) {
  return {{"CNI_COMMAND", cmd},          {"CNI_CONTAINERID", "ctr1"},
          {"CNI_NETNS", "/run/netns/nonexistent-linen"}, {"CNI_IFNAME", "eth0"},
          {"CNI_ARGS", "K8S_POD_NAME=p;IgnoreUnknown=1"}, {"CNI_PATH", "/opt/a:/opt/b"}};
}

AddResult SampleResult() {
  AddResult r;
  r.interfaces = {{"eth0", "aa:bb:cc:dd:ee:ff", 1500, "/run/netns/x", "", ""}};
  r.ips = {{*IpNet::Parse("10.1.0.5/24"), IpAddr::Parse("10.1.0.1"), 0}};
  return r;
}

// Records which verb ran and with what.
struct Recorder {
  std::vector<std::string> calls;
  CmdArgs last;
  PluginFuncs Funcs() {
    PluginFuncs f;
    f.add = [this](const CmdArgs& a) -> Result<AddResult> {
      calls.push_back("ADD");
      last = a;
      return SampleResult();
    };
    auto rec = [this](const char* verb) {
      return [this, verb](const CmdArgs& a) -> Status {
        calls.push_back(verb);
        last = a;
        return OkStatus();
      };
    };
    f.del = rec("DEL");
    f.check = rec("CHECK");
    f.gc = rec("GC");
    f.status = rec("STATUS");
    return f;
  }
};

json ErrorOf(const PluginOutput& out) {
  EXPECT_NE(out.exit_code, 0);
  return json::parse(out.stdout_text);
}

TEST(SkelTest, AddPrintsResultInConfigVersion) {
  Recorder rec;
  auto out = RunPlugin(FullEnv("ADD"), kConf10, rec.Funcs());
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text;
  EXPECT_EQ(rec.calls, std::vector<std::string>{"ADD"});
  json j = json::parse(out.stdout_text);
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_EQ(j["ips"][0]["address"], "10.1.0.5/24");
  EXPECT_EQ(j["interfaces"][0]["mtu"], 1500);

  auto old = RunPlugin(FullEnv("ADD"), Conf("0.2.0"), rec.Funcs());
  ASSERT_EQ(old.exit_code, 0) << old.stdout_text;
  json o = json::parse(old.stdout_text);
  EXPECT_EQ(o["cniVersion"], "0.2.0");
  EXPECT_EQ(o["ip4"]["ip"], "10.1.0.5/24");
  EXPECT_EQ(o["ip4"]["gateway"], "10.1.0.1");
}

TEST(SkelTest, AddOutputUsesReferenceFieldOrder) {
  Recorder rec;
  auto out = RunPlugin(FullEnv("ADD"), Conf("0.4.0"), rec.Funcs());
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text;
  const std::string& t = out.stdout_text;
  // Go prints cniVersion, interfaces, ips, routes, dns; in ips version first.
  EXPECT_LT(t.find("\"cniVersion\""), t.find("\"interfaces\""));
  EXPECT_LT(t.find("\"interfaces\""), t.find("\"ips\""));
  EXPECT_LT(t.find("\"ips\""), t.find("\"dns\""));
  EXPECT_LT(t.find("\"version\""), t.find("\"address\""));
  EXPECT_NE(t.find("\n    \"cniVersion\": \"0.4.0\""), std::string::npos) << t;
}

TEST(SkelTest, VerbSeesEnvAndParsedConf) {
  Recorder rec;
  std::string conf = R"({"cniVersion":"0.4.0","name":"net1","type":"dummy","extra":1})";
  auto out = RunPlugin(FullEnv("DEL"), conf, rec.Funcs());
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text;
  EXPECT_EQ(out.stdout_text, "");
  EXPECT_EQ(rec.last.command, "DEL");
  EXPECT_EQ(rec.last.container_id, "ctr1");
  EXPECT_EQ(rec.last.netns, "/run/netns/nonexistent-linen");
  EXPECT_EQ(rec.last.ifname, "eth0");
  EXPECT_EQ(rec.last.args, "K8S_POD_NAME=p;IgnoreUnknown=1");
  EXPECT_EQ(rec.last.path, "/opt/a:/opt/b");
  EXPECT_EQ(rec.last.PathDirs(), (std::vector<std::string>{"/opt/a", "/opt/b"}));
  EXPECT_EQ(rec.last.stdin_data, conf);
  EXPECT_EQ(rec.last.conf.name, "net1");
  EXPECT_EQ(rec.last.conf.raw["extra"], 1);
}

struct MissingCase {
  const char* cmd;
  const char* missing;
};
class SkelMissingEnv : public ::testing::TestWithParam<MissingCase> {};
TEST_P(SkelMissingEnv, Code4NamesVariables) {
  Recorder rec;
  auto out = RunPlugin({{"CNI_COMMAND", GetParam().cmd}}, Conf("1.1.0"), rec.Funcs());
  json e = ErrorOf(out);
  EXPECT_EQ(e["code"], 4);
  EXPECT_EQ(e["msg"], std::string("required env variables [") + GetParam().missing + "] missing");
  EXPECT_TRUE(rec.calls.empty());
}
INSTANTIATE_TEST_SUITE_P(
    PerVerb, SkelMissingEnv,
    ::testing::Values(MissingCase{"ADD", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH"},
                      MissingCase{"CHECK", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH"},
                      MissingCase{"DEL", "CNI_CONTAINERID,CNI_IFNAME,CNI_PATH"},
                      MissingCase{"GC", "CNI_PATH"}, MissingCase{"STATUS", "CNI_PATH"}));

TEST(SkelTest, AddWithoutNetnsIsCode4AndDelWithoutNetnsRuns) {
  Recorder rec;
  Env env = FullEnv("ADD");
  env.erase("CNI_NETNS");
  json e = ErrorOf(RunPlugin(env, kConf10, rec.Funcs()));
  EXPECT_EQ(e["code"], 4);
  EXPECT_EQ(e["msg"], "required env variables [CNI_NETNS] missing");
  env["CNI_COMMAND"] = "DEL";
  auto out = RunPlugin(env, kConf10, rec.Funcs());
  EXPECT_EQ(out.exit_code, 0) << out.stdout_text;
  EXPECT_EQ(rec.calls, std::vector<std::string>{"DEL"});
  EXPECT_EQ(rec.last.netns, "");
}

TEST(SkelTest, EmptyValueCountsAsMissing) {
  Recorder rec;
  Env env = FullEnv("ADD");
  env["CNI_PATH"] = "";
  json e = ErrorOf(RunPlugin(env, kConf10, rec.Funcs()));
  EXPECT_EQ(e["code"], 4);
  EXPECT_NE(e["msg"].get<std::string>().find("CNI_PATH"), std::string::npos);
}

TEST(SkelTest, GcAndStatusNeedNoContainer) {
  Recorder rec;
  Env env = {{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/opt/cni/bin"}};
  EXPECT_EQ(RunPlugin(env, Conf("1.1.0"), rec.Funcs()).exit_code, 0);
  env["CNI_COMMAND"] = "STATUS";
  EXPECT_EQ(RunPlugin(env, Conf("1.1.0"), rec.Funcs()).exit_code, 0);
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"GC", "STATUS"}));
}

TEST(SkelTest, UnsetGcAndStatusSucceedSilently) {
  Env env = {{"CNI_COMMAND", "STATUS"}, {"CNI_PATH", "/x"}};
  PluginFuncs none;
  auto out = RunPlugin(env, Conf("1.1.0"), none);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text, "");
  env["CNI_COMMAND"] = "GC";
  EXPECT_EQ(RunPlugin(env, Conf("1.1.0"), none).exit_code, 0);
}

TEST(SkelTest, BadContainerIdAndIfname) {
  Recorder rec;
  Env env = FullEnv("ADD");
  env["CNI_CONTAINERID"] = "-bad id";
  json e = ErrorOf(RunPlugin(env, kConf10, rec.Funcs()));
  EXPECT_EQ(e["code"], 4);
  EXPECT_EQ(e["msg"], "invalid characters in containerID");
  EXPECT_EQ(e["details"], "-bad id");

  env = FullEnv("ADD");
  env["CNI_IFNAME"] = "eth0:1";
  EXPECT_EQ(ErrorOf(RunPlugin(env, kConf10, rec.Funcs()))["code"], 4);
  env["CNI_IFNAME"] = "a-very-long-ifname";
  EXPECT_EQ(ErrorOf(RunPlugin(env, kConf10, rec.Funcs()))["code"], 4);
  env["CNI_IFNAME"] = "..";
  EXPECT_EQ(ErrorOf(RunPlugin(env, kConf10, rec.Funcs()))["code"], 4);
  EXPECT_TRUE(rec.calls.empty());
}

TEST(SkelTest, ContainerIdNotValidatedWhereNotRequired) {
  // skel validates a variable only for verbs that need it.
  Recorder rec;
  Env env = {{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/x"}, {"CNI_CONTAINERID", "bad id"}};
  EXPECT_EQ(RunPlugin(env, Conf("1.1.0"), rec.Funcs()).exit_code, 0);
}

TEST(SkelTest, BadStdinIsCode6) {
  Recorder rec;
  for (const char* bad : {"", "{", "not json", "[]", R"({"name":3})"}) {
    json e = ErrorOf(RunPlugin(FullEnv("ADD"), bad, rec.Funcs()));
    EXPECT_EQ(e["code"], 6) << bad;
    EXPECT_FALSE(e["msg"].get<std::string>().empty());
    EXPECT_EQ(e["cniVersion"], kCurrentVersion);
  }
  EXPECT_TRUE(rec.calls.empty());
}

TEST(SkelTest, UnsupportedVersionIsCode1) {
  Recorder rec;
  json e = ErrorOf(RunPlugin(FullEnv("ADD"), Conf("2.0.0"), rec.Funcs()));
  EXPECT_EQ(e["code"], 1);
  EXPECT_EQ(e["msg"], "incompatible CNI versions");
  EXPECT_NE(e["details"].get<std::string>().find("\"2.0.0\""), std::string::npos);
  EXPECT_TRUE(rec.calls.empty());
}

TEST(SkelTest, MissingOrBadNameIsCode7) {
  Recorder rec;
  EXPECT_EQ(ErrorOf(RunPlugin(FullEnv("ADD"), R"({"cniVersion":"1.0.0","type":"x"})",
                              rec.Funcs()))["code"], 7);
  EXPECT_EQ(ErrorOf(RunPlugin(FullEnv("DEL"), R"({"cniVersion":"1.0.0","name":"a b","type":"x"})",
                              rec.Funcs()))["code"], 7);
  EXPECT_TRUE(rec.calls.empty());
}

TEST(SkelTest, VerbVersionGates) {
  Recorder rec;
  json e = ErrorOf(RunPlugin(FullEnv("CHECK"), Conf("0.3.1"), rec.Funcs()));
  EXPECT_EQ(e["code"], 1);
  EXPECT_EQ(e["msg"], "config version does not allow CHECK");
  EXPECT_EQ(RunPlugin(FullEnv("CHECK"), Conf("0.4.0"), rec.Funcs()).exit_code, 0);
  for (const char* verb : {"GC", "STATUS"}) {
    json g = ErrorOf(RunPlugin(FullEnv(verb), Conf("1.0.0"), rec.Funcs()));
    EXPECT_EQ(g["code"], 1);
    EXPECT_EQ(g["msg"], std::string("config version does not allow ") + verb);
  }
  EXPECT_EQ(rec.calls, std::vector<std::string>{"CHECK"});
}

TEST(SkelTest, VersionIgnoresStdinAndEnv) {
  PluginFuncs none;
  for (const char* in : {"", "garbage", R"({"cniVersion":"9.9.9"})"}) {
    auto out = RunPlugin({{"CNI_COMMAND", "VERSION"}}, in, none);
    ASSERT_EQ(out.exit_code, 0) << in;
    EXPECT_EQ(json::parse(out.stdout_text),
              json::parse(R"({"cniVersion":"1.1.0","supportedVersions":
                  ["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"));
  }
  // A supported requested version is echoed back.
  auto out = RunPlugin({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion":"0.4.0"})", none);
  EXPECT_EQ(json::parse(out.stdout_text)["cniVersion"], "0.4.0");
}

TEST(SkelTest, UnknownOrMissingCommandIsCode4) {
  Recorder rec;
  json e = ErrorOf(RunPlugin({{"CNI_COMMAND", "FROB"}}, kConf10, rec.Funcs()));
  EXPECT_EQ(e["code"], 4);
  EXPECT_EQ(e["msg"], "unknown CNI_COMMAND: FROB");
  EXPECT_EQ(ErrorOf(RunPlugin({}, kConf10, rec.Funcs()))["code"], 4);
  EXPECT_EQ(ErrorOf(RunPlugin({{"CNI_COMMAND", "add"}}, kConf10, rec.Funcs()))["code"], 4);
  EXPECT_TRUE(rec.calls.empty());
}

TEST(SkelTest, VerbErrorsPassThroughWithCode) {
  PluginFuncs f;
  f.add = [](const CmdArgs&) -> Result<AddResult> {
    return Error(Code::kNoAddressAvailable, "range exhausted", "10.0.0.0/30");
  };
  f.del = [](const CmdArgs&) -> Status { return Error(Code::kTryAgainLater, "busy"); };
  json e = ErrorOf(RunPlugin(FullEnv("ADD"), Conf("0.4.0"), f));
  EXPECT_EQ(e, json::parse(R"({"cniVersion":"0.4.0","code":100,"msg":"range exhausted",
                              "details":"10.0.0.0/30"})"));
  EXPECT_EQ(ErrorOf(RunPlugin(FullEnv("DEL"), kConf10, f))["code"], 11);
}

TEST(SkelTest, ExceptionsBecomeCode999) {
  PluginFuncs f;
  f.add = [](const CmdArgs&) -> Result<AddResult> { throw std::runtime_error("kaboom"); };
  f.check = [](const CmdArgs&) -> Status { throw 42; };
  json e = ErrorOf(RunPlugin(FullEnv("ADD"), kConf10, f));
  EXPECT_EQ(e["code"], 999);
  EXPECT_NE(e["msg"].get<std::string>().find("kaboom"), std::string::npos);
  EXPECT_EQ(ErrorOf(RunPlugin(FullEnv("CHECK"), kConf10, f))["code"], 999);
}

TEST(SkelTest, UnimplementedVerbIsAnErrorNotACrash) {
  PluginFuncs none;
  EXPECT_EQ(ErrorOf(RunPlugin(FullEnv("ADD"), kConf10, none))["code"], 999);
  EXPECT_EQ(ErrorOf(RunPlugin(FullEnv("DEL"), kConf10, none))["code"], 999);
}

TEST(SkelTest, AddResultNotExpressibleInConfigVersion) {
  PluginFuncs f;
  f.add = [](const CmdArgs&) -> Result<AddResult> { return AddResult{}; };
  json e = ErrorOf(RunPlugin(FullEnv("ADD"), Conf("0.2.0"), f));
  EXPECT_EQ(e["code"], 1);
}

TEST(SkelTest, OwnNetnsRefusedUnlessOverridden) {
  // The test process's own namespace, named through /proc: nothing is changed.
  Recorder rec;
  Env env = FullEnv("ADD");
  env["CNI_NETNS"] = "/proc/self/ns/net";
  json e = ErrorOf(RunPlugin(env, kConf10, rec.Funcs()));
  EXPECT_EQ(e["code"], 8);
  env["CNI_COMMAND"] = "DEL";
  EXPECT_EQ(ErrorOf(RunPlugin(env, kConf10, rec.Funcs()))["code"], 8);
  EXPECT_TRUE(rec.calls.empty());
  for (const char* v : {"1", "true", "TRUE", "True"}) {
    env["CNI_NETNS_OVERRIDE"] = v;
    EXPECT_EQ(RunPlugin(env, kConf10, rec.Funcs()).exit_code, 0) << v;
  }
  env["CNI_NETNS_OVERRIDE"] = "yes";
  EXPECT_EQ(ErrorOf(RunPlugin(env, kConf10, rec.Funcs()))["code"], 8);
}

TEST(CniArgsTest, Parses) {
  auto m = ParseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size(), 3u);
  EXPECT_EQ(m->at("K8S_POD_NAME"), "web-0");
  EXPECT_TRUE(ParseCniArgs("")->empty());
  auto dup = ParseCniArgs("A=1;A=2;B=");
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->at("A"), "2");
  EXPECT_EQ(dup->at("B"), "");
  auto eq = ParseCniArgs("MAC=aa;LABEL=a=b");
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->at("LABEL"), "a=b");
  EXPECT_EQ(ParseCniArgs("A=1;")->size(), 1u);
}

TEST(CniArgsTest, PairWithoutEqualsIsCode4) {
  for (const char* bad : {"A", "A=1;B", "=x", "A=1;;=2"}) {
    auto m = ParseCniArgs(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code(), Code::kInvalidEnv);
    EXPECT_NE(m.error().msg().find("CNI_ARGS"), std::string::npos);
  }
}

TEST(CmdArgsTest, PathDirsDropsEmpties) {
  CmdArgs a;
  a.path = ":/a::/b:";
  EXPECT_EQ(a.PathDirs(), (std::vector<std::string>{"/a", "/b"}));
  a.path = "";
  EXPECT_TRUE(a.PathDirs().empty());
}

}  // namespace
}  // namespace cni
