// Every field of realistic inputs replaced by every JSON type: the parsers must
// answer with a value or a coded error, never throw or crash.
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "libcni/skel.h"
#include "libcni/types.h"

namespace cni {
namespace {

const char* kConf = R"({"cniVersion":"1.0.0","name":"n","type":"bridge","bridge":"cni0",
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.0.0/24"}]]},
  "dns":{"nameservers":["10.0.0.10"],"domain":"d","search":["s"],"options":["o"]},
  "runtimeConfig":{"ips":["10.1.0.9"]},"args":{"cni":{"ips":["10.1.0.7"]}},
  "prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"aa:bb:cc:dd:ee:ff",
    "mtu":1500,"sandbox":"/x","socketPath":"/s","pciID":"p"}],
    "ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1","interface":0}],
    "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1","mtu":1,"advmss":2,"priority":3,"table":4,
               "scope":5}],
    "dns":{"nameservers":["1.1.1.1"]}}})";

const char* kResult02 = R"({"cniVersion":"0.2.0",
  "ip4":{"ip":"10.1.0.5/24","gateway":"10.1.0.1","routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}]},
  "ip6":{"ip":"fd00::5/64","routes":[{"dst":"::/0"}]},"dns":{"domain":"x"}})";

std::vector<json> Replacements() {
  return {json(nullptr), json(1), json(-1), json(1.5), json(true), json("x"), json(""),
          json::array(), json::object(), json::array({1, "a"}), json(1ull << 40)};
}

// Printing in any version and parsing back is a fixed point (no data invented or
// lost on a second trip).
void ExpectFixedPoint(const AddResult& r) {
  for (const auto& v : SupportedVersions()) {
    auto j1 = ResultToJson(r, v);
    if (!j1) continue;
    auto r2 = ParseResult(*j1, v);
    ASSERT_TRUE(r2) << v << ": " << r2.error().msg() << "\n" << j1->dump();
    auto j2 = ResultToJson(*r2, v);
    ASSERT_TRUE(j2) << v;
    EXPECT_EQ(*j2, *j1) << v;
  }
}

void ForEachMutation(const json& doc, const std::function<void(const json&)>& fn) {
  auto flat = doc.flatten();
  std::set<std::string> pointers;
  for (auto& [ptr, _] : flat.items()) {
    // Every prefix of every leaf pointer: containers get replaced too.
    std::string p = ptr;
    while (!p.empty()) {
      pointers.insert(p);
      p = p.substr(0, p.rfind('/'));
    }
  }
  for (const auto& p : pointers) {
    for (const auto& r : Replacements()) {
      json m = doc;
      m[json::json_pointer(p)] = r;
      fn(m);
    }
  }
}

TEST(RobustnessTest, NetConfAndPrevResultNeverThrow) {
  int ok = 0, failed = 0;
  ForEachMutation(json::parse(kConf), [&](const json& m) {
    std::string text = m.dump();
    Result<NetConf> c = Error(Code::kInternal, "unset");
    ASSERT_NO_THROW(c = ParseNetConf(text)) << text;
    if (!c) {
      ++failed;
      auto code = c.error().code();
      EXPECT_TRUE(code == Code::kDecodingFailure || code == Code::kInvalidNetworkConfig ||
                  code == Code::kIncompatibleVersion)
          << text << " -> " << c.error().code_number();
      return;
    }
    ++ok;
    ASSERT_NO_THROW((void)c->RequestedIps());
    if (c->prev_result) {
      Result<AddResult> r = Error(Code::kInternal, "unset");
      ASSERT_NO_THROW(r = ParseResult(*c->prev_result, c->cni_version)) << text;
      if (r) {
        ASSERT_NO_THROW(ExpectFixedPoint(*r));
      } else {
        EXPECT_EQ(r.error().code(), Code::kDecodingFailure) << text;
      }
    }
  });
  // Both outcomes happen: the mutations reach the validators.
  EXPECT_GT(ok, 0);
  EXPECT_GT(failed, 0);
}

TEST(RobustnessTest, OldResultNeverThrows) {
  ForEachMutation(json::parse(kResult02), [&](const json& m) {
    Result<AddResult> r = Error(Code::kInternal, "unset");
    ASSERT_NO_THROW(r = ParseResult(m)) << m.dump();
    if (r) ExpectFixedPoint(*r);
    if (!r) {
      auto code = r.error().code();
      EXPECT_TRUE(code == Code::kDecodingFailure || code == Code::kIncompatibleVersion)
          << m.dump();
    }
  });
}

TEST(RobustnessTest, SkelAnswersJsonForEveryMutation) {
  PluginFuncs f;
  f.add = [](const CmdArgs& a) -> Result<AddResult> {
    AddResult r;
    r.ips = {{*IpNet::Parse("10.1.0.5/24"), std::nullopt, std::nullopt}};
    return r;
  };
  std::map<std::string, std::string> env = {{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "c"},
                                            {"CNI_NETNS", "/nonexistent"}, {"CNI_IFNAME", "e"},
                                            {"CNI_PATH", "/x"}};
  ForEachMutation(json::parse(kConf), [&](const json& m) {
    PluginOutput out;
    ASSERT_NO_THROW(out = RunPlugin(env, m.dump(), f));
    json j;
    ASSERT_NO_THROW(j = json::parse(out.stdout_text)) << out.stdout_text;
    if (out.exit_code != 0) {
      EXPECT_TRUE(j.contains("code"));
    }
  });
}

}  // namespace
}  // namespace cni
