// The bad-input matrix: every case runs against every plugin executable it applies
// to, on a node (a TempNetns with its state directories in a TempDir). Each must print
// the spec error JSON with the expected code on stdout, exit non-zero, and leave the
// node and the container exactly as they were (kernel state and state files compared
// before/after). The list of cases and what each guarantees is in docs/reliability.md.
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/hardening/node.h"

namespace linen::hardening {
namespace {

using nlohmann::json;
using Env = std::map<std::string, std::string>;

const std::set<std::string> kAll = {"bridge", "host-local", "loopback", "host-gw", "vxlan",
                                    "portmap"};
// bandwidth runs the same skeleton as the others, so it takes only the cases about
// what it reads itself (netns, prevResult, runtimeConfig, its keys): each case costs
// two namespaces and two snapshots.
std::set<std::string> WithBw(std::set<std::string> s) {
  s.insert("bandwidth");
  return s;
}
// Plugins that open CNI_NETNS (host-local, like the reference, never looks at it).
const std::set<std::string> kNetnsUsers = {"bridge", "loopback", "host-gw", "vxlan", "bandwidth"};
const std::set<std::string> kBandwidth = {"bandwidth"};
const std::set<std::string> kIpam = {"bridge", "host-local"};
const std::set<std::string> kOverlay = {"host-gw", "vxlan"};
// Plugins that read CNI_ARGS (loopback, like the reference, never looks at it).
const std::set<std::string> kArgsUsers = {"bridge", "host-local", "host-gw", "vxlan"};

struct Case {
  std::string name;
  std::set<std::string> plugins;
  // Turns the valid ADD (env, stdin) into the bad input.
  std::function<void(const Node&, Env*, std::string*)> mutate;
  std::set<int> codes;  // accepted CNI error codes; empty: exit 0, nothing on stdout;
                        // {kAnyCode}: any error code
};
constexpr int kAnyCode = -1;

// Helpers that build mutations.
auto SetEnv(std::string key, std::string value) {
  return [=](const Node&, Env* e, std::string*) { (*e)[key] = value; };
}
auto Verb(std::string verb, std::function<void(const Node&, Env*, std::string*)> then = {}) {
  return [=](const Node& n, Env* e, std::string* in) {
    (*e)["CNI_COMMAND"] = verb;
    if (then) then(n, e, in);
  };
}
auto UnsetEnv(std::string verb, std::string key) {
  return [=](const Node&, Env* e, std::string*) {
    (*e)["CNI_COMMAND"] = verb;
    e->erase(key);
  };
}
auto Stdin(std::string text) {
  return [=](const Node&, Env*, std::string* in) { *in = text; };
}
// Edits the valid config as JSON.
auto Conf(std::function<void(const Node&, json*)> edit) {
  return [=](const Node& n, Env*, std::string* in) {
    json j = n.Config();
    edit(n, &j);
    *in = j.dump();
  };
}
// Replaces one value of the valid config by `raw` text (for input nlohmann would
// refuse to build or would take long to build).
auto ConfRaw(std::function<json*(json*)> where, std::string raw) {
  return [=](const Node& n, Env*, std::string* in) {
    json j = n.Config();
    *where(&j) = "@@RAW@@";
    std::string text = j.dump();
    text.replace(text.find("\"@@RAW@@\""), 9, raw);
    *in = std::move(text);
  };
}
std::string Deep(size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

std::vector<Case> Cases() {
  std::vector<Case> c;
  // --- the environment, per verb ---
  // As the Go skel: no CNI_COMMAND at all means "run by hand": about text on stderr, exit 0.
  c.push_back({"NoCommand", kAll, UnsetEnv("", "CNI_COMMAND"), {}});
  c.push_back({"EmptyCommand", kAll, SetEnv("CNI_COMMAND", ""), {}});
  c.push_back({"UnknownCommand", kAll, SetEnv("CNI_COMMAND", "FROB"), {4}});
  c.push_back({"LowercaseCommand", kAll, SetEnv("CNI_COMMAND", "add"), {4}});
  c.push_back({"AddNoContainerId", kAll, UnsetEnv("ADD", "CNI_CONTAINERID"), {4}});
  c.push_back({"AddEmptyContainerId", kAll, SetEnv("CNI_CONTAINERID", ""), {4}});
  c.push_back({"AddNoNetns", WithBw(kAll), UnsetEnv("ADD", "CNI_NETNS"), {4}});
  c.push_back({"AddNoIfname", kAll, UnsetEnv("ADD", "CNI_IFNAME"), {4}});
  c.push_back({"AddNoPath", kAll, UnsetEnv("ADD", "CNI_PATH"), {4}});
  c.push_back({"DelNoContainerId", kAll, UnsetEnv("DEL", "CNI_CONTAINERID"), {4}});
  c.push_back({"DelNoIfname", kAll, UnsetEnv("DEL", "CNI_IFNAME"), {4}});
  c.push_back({"DelNoPath", kAll, UnsetEnv("DEL", "CNI_PATH"), {4}});
  c.push_back({"CheckNoNetns", kAll, UnsetEnv("CHECK", "CNI_NETNS"), {4}});
  c.push_back({"GcNoPath", kAll, UnsetEnv("GC", "CNI_PATH"), {4}});
  c.push_back({"StatusNoPath", kAll, UnsetEnv("STATUS", "CNI_PATH"), {4}});
  // --- CNI_NETNS ---
  c.push_back({"NetnsMissing", kNetnsUsers, SetEnv("CNI_NETNS", "/run/netns/linen-no-such-ns"), {3}});
  c.push_back({"NetnsRegularFile", kNetnsUsers,
               [](const Node& n, Env* e, std::string*) { (*e)["CNI_NETNS"] = "/etc/hostname"; },
               {8}});
  c.push_back({"NetnsDirectory", kNetnsUsers, SetEnv("CNI_NETNS", "/tmp"), {8}});
  c.push_back({"NetnsIsPluginsOwn", WithBw(kAll),
               [](const Node& n, Env* e, std::string*) { (*e)["CNI_NETNS"] = n.node_path(); },
               {8}});
  c.push_back({"DelNetnsIsPluginsOwn", WithBw(kAll),
               Verb("DEL", [](const Node& n, Env* e, std::string*) {
                 (*e)["CNI_NETNS"] = n.node_path();
               }),
               {8}});
  // --- container IDs (pkg/utils: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$) ---
  c.push_back({"IdSlash", kAll, SetEnv("CNI_CONTAINERID", "abc/def"), {4}});
  c.push_back({"IdDotDot", kAll, SetEnv("CNI_CONTAINERID", ".."), {4}});
  c.push_back({"IdTraversal", WithBw(kAll), SetEnv("CNI_CONTAINERID", "../../../etc/passwd"), {4}});
  c.push_back({"IdSpace", kAll, SetEnv("CNI_CONTAINERID", "abc def"), {4}});
  c.push_back({"IdNewline", kAll, SetEnv("CNI_CONTAINERID", "abc\ndef"), {4}});
  c.push_back({"IdLeadingDash", kAll, SetEnv("CNI_CONTAINERID", "-abc"), {4}});
  c.push_back({"IdNonAscii", kAll, SetEnv("CNI_CONTAINERID", "caf\xc3\xa9"), {4}});
  c.push_back({"DelIdSlash", WithBw(kAll), Verb("DEL", SetEnv("CNI_CONTAINERID", "a/b")), {4}});
  // --- interface names ---
  c.push_back({"Ifname16Bytes", kAll, SetEnv("CNI_IFNAME", "abcdefghijklmnop"), {4}});
  c.push_back({"IfnameDot", kAll, SetEnv("CNI_IFNAME", "."), {4}});
  c.push_back({"IfnameDotDot", kAll, SetEnv("CNI_IFNAME", ".."), {4}});
  c.push_back({"IfnameSlash", kAll, SetEnv("CNI_IFNAME", "et/h0"), {4}});
  c.push_back({"IfnameColon", kAll, SetEnv("CNI_IFNAME", "eth:0"), {4}});
  c.push_back({"IfnameSpace", kAll, SetEnv("CNI_IFNAME", "eth 0"), {4}});
  c.push_back({"IfnameTab", kAll, SetEnv("CNI_IFNAME", "eth\t0"), {4}});
  c.push_back({"DelIfname16Bytes", kAll, Verb("DEL", SetEnv("CNI_IFNAME", "abcdefghijklmnop")), {4}});
  // --- CNI_ARGS ---
  c.push_back({"ArgsPairWithoutEquals", kArgsUsers, SetEnv("CNI_ARGS", "IgnoreUnknown=1;FOO"), {4}});
  c.push_back({"ArgsBadIp", kIpam, SetEnv("CNI_ARGS", "IgnoreUnknown=1;IP=10.77.0.300"), {4, 7}});
  c.push_back({"ArgsIpOutsideRange", kIpam, SetEnv("CNI_ARGS", "IgnoreUnknown=1;IP=10.99.0.5"), {7, 100}});
  c.push_back({"ArgsBadMac", {"bridge"}, SetEnv("CNI_ARGS", "IgnoreUnknown=1;MAC=zz:zz"), {4, 7}});
  // --- stdin ---
  c.push_back({"StdinEmpty", kAll, Stdin(""), {6}});
  c.push_back({"StdinNotJson", WithBw(kAll), Stdin("hello"), {6}});
  c.push_back({"StdinArray", kAll, Stdin("[]"), {6}});
  c.push_back({"StdinTruncated", kAll,
               [](const Node& n, Env*, std::string* in) {
                 *in = n.Config().dump();
                 in->pop_back();
               },
               {6}});
  c.push_back({"DelStdinNotJson", kAll, Verb("DEL", Stdin("{not json")), {6}});
  c.push_back({"NameIsNumber", kAll, Conf([](const Node&, json* j) { (*j)["name"] = 5; }), {6}});
  c.push_back({"VersionIsNumber", kAll, Conf([](const Node&, json* j) { (*j)["cniVersion"] = 1; }), {6}});
  c.push_back({"IpamIsString", kAll, Conf([](const Node&, json* j) { (*j)["ipam"] = "x"; }), {6}});
  c.push_back({"DeepNestedDocument", kAll, Stdin(Deep(100000)), {6}});
  c.push_back({"DeepNestedPrevResult", WithBw(kAll),
               ConfRaw([](json* j) { return &(*j)["prevResult"]; }, Deep(100000)), {6}});
  c.push_back({"DeepNestedRanges", kIpam,
               ConfRaw([](json* j) { return &(*j)["ipam"]["ranges"]; }, Deep(100000)), {6}});
  c.push_back({"DeepNestedTopology", kOverlay,
               ConfRaw([](json* j) { return &(*j)["topology"]["nodes"]; }, Deep(100000)), {6}});
  c.push_back({"Huge64MiBUnterminated", kAll,
               [](const Node& n, Env*, std::string* in) {
                 json j = n.Config();
                 std::string text = j.dump();
                 text.pop_back();  // drop '}'
                 *in = text + ",\"pad\":\"" + std::string(64u << 20, 'A');
               },
               {6}});
  c.push_back({"VersionUnsupported", WithBw(kAll), Conf([](const Node&, json* j) { (*j)["cniVersion"] = "9.9.9"; }), {1}});
  c.push_back({"VersionGarbage", kAll, Conf([](const Node&, json* j) { (*j)["cniVersion"] = "one"; }), {1}});
  c.push_back({"CheckOnOldVersion", WithBw(kAll),
               Verb("CHECK", Conf([](const Node&, json* j) { (*j)["cniVersion"] = "0.3.1"; })), {1}});
  c.push_back({"GcOnOldVersion", kAll, Verb("GC"), {1}});
  c.push_back({"StatusOnOldVersion", kAll, Verb("STATUS"), {1}});
  c.push_back({"NameTraversal", kAll, Conf([](const Node&, json* j) { (*j)["name"] = "../../x"; }), {7}});
  c.push_back({"NameWithSlash", kAll, Conf([](const Node&, json* j) { (*j)["name"] = "a/b"; }), {7}});
  c.push_back({"NameEmpty", kAll, Conf([](const Node&, json* j) { (*j)["name"] = ""; }), {7}});
  c.push_back({"TypeWithSlash", kAll, Conf([](const Node&, json* j) { (*j)["type"] = "../bridge"; }), {7}});
  c.push_back({"PrevResultIsString", WithBw(kAll), Conf([](const Node&, json* j) { (*j)["prevResult"] = "x"; }), {6}});
  // CHECK whose prevResult is in another version's shape (0.2.0 ip4) than the config
  // (for an attachment that does not exist): any error, but a clean one.
  c.push_back({"CheckPrevResultOtherVersion", WithBw(kAll),
               Verb("CHECK", Conf([](const Node&, json* j) {
                 (*j)["prevResult"] = {{"cniVersion", "0.2.0"},
                                       {"ip4", {{"ip", "10.77.0.5/24"}, {"gateway", "10.77.0.1"}}}};
               })),
               {kAnyCode}});
  // --- capability args of the wrong shape ---
  c.push_back({"RuntimeConfigIsString", WithBw(kAll),
               Conf([](const Node&, json* j) { (*j)["runtimeConfig"] = "x"; }), {6}});
  c.push_back({"ArgsIsList", kAll, Conf([](const Node&, json* j) { (*j)["args"] = json::array(); }), {6}});
  c.push_back({"CapIpsIsString", kIpam,
               Conf([](const Node&, json* j) { (*j)["runtimeConfig"] = {{"ips", "10.77.0.9"}}; }), {6}});
  c.push_back({"CapIpsNotAnIp", kIpam,
               Conf([](const Node&, json* j) { (*j)["runtimeConfig"] = {{"ips", {"ten"}}}; }), {7}});
  c.push_back({"CapIpRangesIsObject", kIpam,
               Conf([](const Node&, json* j) {
                 (*j)["runtimeConfig"] = {{"ipRanges", {{"subnet", "10.77.0.0/24"}}}};
               }),
               {6}});
  c.push_back({"ArgsCniIpsIsNumber", kIpam,
               Conf([](const Node&, json* j) { (*j)["args"] = {{"cni", {{"ips", 5}}}}; }), {6}});
  c.push_back({"CapMacIsNumber", {"bridge"},
               Conf([](const Node&, json* j) { (*j)["runtimeConfig"] = {{"mac", 5}}; }), {6}});
  c.push_back({"CapMacInvalid", {"bridge"},
               Conf([](const Node&, json* j) { (*j)["runtimeConfig"] = {{"mac", "01:zz"}}; }), {7}});
  // --- plugin-specific config values ---
  c.push_back({"BridgeMtuIsString", {"bridge"}, Conf([](const Node&, json* j) { (*j)["mtu"] = "1500"; }), {6}});
  c.push_back({"BridgeVlanOutOfRange", {"bridge"}, Conf([](const Node&, json* j) { (*j)["vlan"] = 5000; }), {7}});
  c.push_back({"SubnetBadPrefix", kIpam,
               Conf([](const Node&, json* j) {
                 (*j)["ipam"]["ranges"] = {{{{"subnet", "10.77.0.0/33"}}}};
               }),
               {7}});
  // portmap: the portMappings capability and the reference's keys.
  const std::set<std::string> kPortmap = {"portmap"};
  auto Mapping = [](std::string key, json value) {
    return Conf([=](const Node&, json* j) { (*j)["runtimeConfig"]["portMappings"][1][key] = value; });
  };
  c.push_back({"PortMappingsIsObject", kPortmap,
               Conf([](const Node&, json* j) { (*j)["runtimeConfig"]["portMappings"] = json::object(); }),
               {6}});
  c.push_back({"PortMappingIsNumber", kPortmap,
               Conf([](const Node&, json* j) { (*j)["runtimeConfig"]["portMappings"][1] = 5; }), {6}});
  c.push_back({"HostPortZero", kPortmap, Mapping("hostPort", 0), {7}});
  c.push_back({"HostPortTooBig", kPortmap, Mapping("hostPort", 65536), {7}});
  c.push_back({"HostPortNegative", kPortmap, Mapping("hostPort", -80), {7}});
  c.push_back({"HostPortIsString", kPortmap, Mapping("hostPort", "80"), {6}});
  c.push_back({"HostPortIsFloat", kPortmap, Mapping("hostPort", 80.5), {6}});
  c.push_back({"HostPortMissing", kPortmap, Mapping("hostPort", nullptr), {7}});
  c.push_back({"ContainerPortTooBig", kPortmap, Mapping("containerPort", 70000), {7}});
  c.push_back({"ContainerPortIsBool", kPortmap, Mapping("containerPort", true), {6}});
  c.push_back({"ProtocolUnknown", kPortmap, Mapping("protocol", "icmp"), {7}});
  c.push_back({"ProtocolIsNumber", kPortmap, Mapping("protocol", 17), {6}});
  c.push_back({"HostIpInvalid", kPortmap, Mapping("hostIP", "10.0.0.256"), {7}});
  c.push_back({"HostIpIsList", kPortmap, Mapping("hostIP", json::array()), {6}});
  c.push_back({"SameHostPortTwice", kPortmap,
               Conf([](const Node&, json* j) {
                 (*j)["runtimeConfig"]["portMappings"][1] = (*j)["runtimeConfig"]["portMappings"][0];
                 (*j)["runtimeConfig"]["portMappings"][1]["containerPort"] = 81;
               }),
               {7}});
  c.push_back({"SnatIsNumber", kPortmap, Conf([](const Node&, json* j) { (*j)["snat"] = 1; }), {6}});
  c.push_back({"MarkMasqBitOutOfRange", kPortmap,
               Conf([](const Node&, json* j) { (*j)["markMasqBit"] = 32; }), {7}});
  c.push_back({"MarkMasqBitWithExternalChain", kPortmap,
               Conf([](const Node&, json* j) {
                 (*j)["markMasqBit"] = 13;
                 (*j)["externalSetMarkChain"] = "KUBE-MARK-MASQ";
               }),
               {7}});
  c.push_back({"ConditionsV4Given", kPortmap,
               Conf([](const Node&, json* j) { (*j)["conditionsV4"] = {"-s", "10.0.0.0/8"}; }), {7}});
  c.push_back({"ConditionsV6IsString", kPortmap,
               Conf([](const Node&, json* j) { (*j)["conditionsV6"] = "x"; }), {6}});
  c.push_back({"BackendUnknown", kPortmap, Conf([](const Node&, json* j) { (*j)["backend"] = "bpf"; }), {7}});
  c.push_back({"NoPrevResult", kPortmap, Conf([](const Node&, json* j) { j->erase("prevResult"); }), {7}});
  c.push_back({"TopologyIsNumber", kOverlay, Conf([](const Node&, json* j) { (*j)["topology"] = 5; }), {6}});
  c.push_back({"NodeNameUnknown", kOverlay,
               Conf([](const Node&, json* j) { (*j)["nodeName"] = "nodeX"; }), {7}});
  c.push_back({"TopologySubnetOutsideNetwork", kOverlay,
               Conf([](const Node&, json* j) {
                 (*j)["topology"]["nodes"][1]["subnet"] = "10.99.2.0/24";
               }),
               {7}});
  // --- bandwidth: every key, wrong types, out-of-range values, halves of a pair ---
  auto Bw = [](json edits) {
    return Conf([edits](const Node&, json* j) {
      for (auto k : {"ingressRate", "ingressBurst", "egressRate", "egressBurst"}) j->erase(k);
      j->update(edits);
    });
  };
  c.push_back({"BwIngressRateIsString", kBandwidth, Bw({{"ingressRate", "1M"}, {"ingressBurst", 800}}), {6}});
  c.push_back({"BwIngressBurstIsFraction", kBandwidth, Bw({{"ingressRate", 8000}, {"ingressBurst", 80.5}}), {6}});
  c.push_back({"BwEgressRateIsBool", kBandwidth, Bw({{"egressRate", true}, {"egressBurst", 800}}), {6}});
  c.push_back({"BwEgressBurstIsObject", kBandwidth, Bw({{"egressRate", 8000}, {"egressBurst", json::object()}}), {6}});
  c.push_back({"BwIngressBurstWithoutRate", kBandwidth, Bw({{"ingressBurst", 800}}), {7}});
  c.push_back({"BwIngressRateWithoutBurst", kBandwidth, Bw({{"ingressRate", 8000}}), {7}});
  c.push_back({"BwEgressBurstWithoutRate", kBandwidth, Bw({{"egressBurst", 800}}), {7}});
  c.push_back({"BwEgressRateWithoutBurst", kBandwidth, Bw({{"egressRate", 8000}}), {7}});
  c.push_back({"BwIngressRateNegative", kBandwidth, Bw({{"ingressRate", -8000}, {"ingressBurst", 800}}), {7}});
  c.push_back({"BwEgressRateBelowOneByte", kBandwidth, Bw({{"egressRate", 7}, {"egressBurst", 800}}), {7}});
  c.push_back({"BwIngressBurstBelowOneByte", kBandwidth, Bw({{"ingressRate", 8000}, {"ingressBurst", 4}}), {7}});
  c.push_back({"BwEgressBurstAbove4GB", kBandwidth,
               Bw({{"egressRate", 8000}, {"egressBurst", 34'359'738'360ull}}), {7}});
  c.push_back({"BwIngressRateAbove64Bits", kBandwidth,
               Bw({{"ingressRate", 1e20}, {"ingressBurst", 800}}), {7}});
  c.push_back({"BwEgressRateIsExponent", kBandwidth,
               Bw({{"egressRate", 1e6}, {"egressBurst", 800}}), {6}});
  c.push_back({"BwCapabilityIsString", kBandwidth,
               Bw({{"runtimeConfig", {{"bandwidth", "fast"}}}}), {6}});
  c.push_back({"BwCapabilityBurstWithoutRate", kBandwidth,
               Bw({{"runtimeConfig", {{"bandwidth", {{"egressBurst", 800}}}}}}), {7}});
  c.push_back({"BwNoPrevResult", kBandwidth,
               Conf([](const Node&, json* j) { j->erase("prevResult"); }), {7}});
  c.push_back({"BwPrevResultWithoutHostInterface", kBandwidth,
               Conf([](const Node&, json* j) {
                 auto& ifs = (*j)["prevResult"]["interfaces"];
                 ifs.erase(ifs.begin());
                 (*j)["prevResult"]["ips"][0]["interface"] = 0;
               }),
               {7}});
  c.push_back({"BwVersionBeforeChaining", kBandwidth,
               Conf([](const Node&, json* j) {
                 (*j)["cniVersion"] = "0.2.0";
                 j->erase("prevResult");
               }),
               {1}});
  return c;
}

struct Param {
  std::string plugin;
  Case c;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.plugin << "/" << p.c.name; }

std::vector<Param> Params() {
  std::vector<Param> out;
  for (const auto& p : AllPlugins()) {
    for (const auto& c : Cases()) {
      if (c.plugins.count(p)) out.push_back({p, c});
    }
  }
  return out;
}

class BadInputTest : public ::testing::TestWithParam<Param> {};

TEST_P(BadInputTest, RefusedWithCodeAndNodeUnchanged) {
  const Param& p = GetParam();
  std::string err;
  auto node = Node::Create(p.plugin, &err);
  ASSERT_NE(node, nullptr) << err;
  Env env = node->Env("ADD");
  std::string in = node->Config().dump();
  p.c.mutate(*node, &env, &in);
  const std::string before = node->Snapshot();

  auto r = node->Exec(env, in);

  const std::string after = node->Snapshot();
  EXPECT_TRUE(before == after) << "node or container changed:\n" << DiffSnapshots(before, after);
  // Error messages stay readable: never an echo of a huge input.
  EXPECT_LT(r.out.size(), 64u * 1024) << "stdout is " << r.out.size() << " bytes: "
                                      << r.out.substr(0, 300);
  if (p.c.codes.empty()) {
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "");
    return;
  }
  EXPECT_GT(r.exit_code, 0) << "stdout: " << r.out << "\nstderr: " << r.err;
  json j;
  try {
    j = json::parse(r.out);
  } catch (const json::exception& e) {
    FAIL() << "exit " << r.exit_code << ", stdout is not JSON: " << r.out.substr(0, 400) << "\nstderr: " << r.err.substr(0, 400);
  }
  ASSERT_TRUE(j.is_object()) << r.out;
  ASSERT_TRUE(j.contains("code") && j["code"].is_number_integer()) << r.out;
  EXPECT_TRUE(p.c.codes.count(kAnyCode) || p.c.codes.count(j["code"].get<int>()))
      << "unexpected code " << j["code"] << ": " << r.out;
  EXPECT_TRUE(j.contains("msg") && j["msg"].is_string() && !j["msg"].get<std::string>().empty())
      << r.out;
  EXPECT_TRUE(j.contains("cniVersion") && j["cniVersion"].is_string()) << r.out;
}

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  return TestName(info.param.plugin) + "_" + info.param.c.name;
}

INSTANTIATE_TEST_SUITE_P(Matrix, BadInputTest, ::testing::ValuesIn(Params()), ParamName);

// The harness can see a change: a valid ADD changes the node (or, for loopback, the
// container), and DEL succeeds. Without this the matrix could pass vacuously.
class ControlTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ControlTest, ValidAddIsSeenAndDelSucceeds) {
  std::string err;
  auto node = Node::Create(GetParam(), &err);
  ASSERT_NE(node, nullptr) << err;
  const std::string before = node->Snapshot();
  // Unknown CNI_ARGS keys are ignored, as the reference does with IgnoreUnknown.
  Env env = node->Env("ADD");
  env["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p;FOO=bar";
  auto add = node->Exec(env, node->Config().dump());
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_TRUE(node->Snapshot() != before) << "a valid ADD changed nothing the snapshot sees";
  env["CNI_COMMAND"] = "DEL";
  auto del = node->Exec(env, node->Config().dump());
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_TRUE(node->IpFiles().empty());
}

INSTANTIATE_TEST_SUITE_P(Plugins, ControlTest, ::testing::ValuesIn(AllPlugins()),
                         [](const auto& info) { return TestName(info.param); });

}  // namespace
}  // namespace linen::hardening
