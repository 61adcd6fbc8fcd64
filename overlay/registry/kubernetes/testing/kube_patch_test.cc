#include "overlay/registry/kubernetes/testing/kube_patch.h"

#include <gtest/gtest.h>

namespace linen::kube::testing {
namespace {

using nlohmann::json;

json Smp(const json& orig, const json& patch) {
  json out;
  auto e = StrategicMergePatch(orig, patch, &out);
  EXPECT_FALSE(e) << e->message;
  return out;
}

TEST(MergePatch, Rfc7386) {
  const json t = R"({"a":"b","c":{"d":"e","f":"g"},"l":[1,2]})"_json;
  EXPECT_EQ(MergePatch(t, R"({"a":"z","c":{"f":null},"l":[3]})"_json),
            R"({"a":"z","c":{"d":"e"},"l":[3]})"_json);
  EXPECT_EQ(MergePatch(t, R"({"n":{"x":null,"y":1}})"_json)["n"], R"({"y":1})"_json);
}

TEST(StrategicMergePatch, ConditionsMergeByTypeAndDelete) {
  const json node = R"({"status":{"conditions":[{"type":"Ready","status":"True"},
                        {"type":"DiskPressure","status":"False"}]}})"_json;
  json r = Smp(node, R"({"status":{"conditions":[{"type":"DiskPressure","status":"True","reason":"x"},
                         {"type":"NetworkUnavailable","status":"False"}]}})"_json);
  EXPECT_EQ(r["status"]["conditions"],
            R"([{"type":"Ready","status":"True"},{"type":"DiskPressure","status":"True","reason":"x"},
                {"type":"NetworkUnavailable","status":"False"}])"_json);
  r = Smp(node, R"({"status":{"conditions":[{"type":"Ready","$patch":"delete"}]}})"_json);
  EXPECT_EQ(r["status"]["conditions"], R"([{"type":"DiskPressure","status":"False"}])"_json);
  // A null member inside an element removes that member only.
  r = Smp(R"({"status":{"conditions":[{"type":"Ready","status":"True","reason":"r"}]}})"_json,
          R"({"status":{"conditions":[{"type":"Ready","reason":null}]}})"_json);
  EXPECT_EQ(r["status"]["conditions"], R"([{"type":"Ready","status":"True"}])"_json);
}

TEST(StrategicMergePatch, AddressesByTypeOwnerReferencesByUid) {
  const json node = R"({"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"},
                        {"type":"Hostname","address":"n1"}]},
                        "metadata":{"ownerReferences":[{"uid":"u1","name":"a"}]}})"_json;
  json r = Smp(node, R"({"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.2"}]},
                         "metadata":{"ownerReferences":[{"uid":"u2","name":"b"}]}})"_json);
  EXPECT_EQ(r["status"]["addresses"],
            R"([{"type":"InternalIP","address":"10.0.0.2"},{"type":"Hostname","address":"n1"}])"_json);
  EXPECT_EQ(r["metadata"]["ownerReferences"],
            R"([{"uid":"u1","name":"a"},{"uid":"u2","name":"b"}])"_json);
}

TEST(StrategicMergePatch, SetListsUnionOtherListsReplace) {
  const json node = R"({"spec":{"podCIDRs":["10.0.0.0/24"],"taints":[{"key":"a"}]},
                        "metadata":{"finalizers":["x"]}})"_json;
  json r = Smp(node, R"({"spec":{"podCIDRs":["fd00::/64"],"taints":[{"key":"b"}]},
                         "metadata":{"finalizers":["x","y"]}})"_json);
  EXPECT_EQ(r["spec"]["podCIDRs"], R"(["10.0.0.0/24","fd00::/64"])"_json);
  EXPECT_EQ(r["spec"]["taints"], R"([{"key":"b"}])"_json);
  EXPECT_EQ(r["metadata"]["finalizers"], R"(["x","y"])"_json);
  r = Smp(node, R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["x"]}})"_json);
  EXPECT_EQ(r["metadata"]["finalizers"], json::array());
  r = Smp(node, R"({"spec":{"$patch":"replace","podCIDR":"10.1.0.0/24"}})"_json);
  EXPECT_EQ(r["spec"], R"({"podCIDR":"10.1.0.0/24"})"_json);
  // Ordering directives are accepted and change nothing else.
  r = Smp(node, R"({"status":{"$setElementOrder/conditions":[{"type":"Ready"}]}})"_json);
  EXPECT_EQ(r["spec"], node["spec"]);
}

TEST(StrategicMergePatch, BadDirectivesAreRefused) {
  json out;
  auto e = StrategicMergePatch(json::object(), R"({"$patch":"bogus"})"_json, &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 400);
  e = StrategicMergePatch(json::object(), R"({"spec":{"$retainKeys":["a"]}})"_json, &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 400);
  e = StrategicMergePatch(json::object(), json::array(), &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 400);
}

TEST(ValidateNode, TypesThatDoNotDecodeAreInvalid) {
  EXPECT_FALSE(ValidateNode(R"({"metadata":{"name":"a","annotations":{"k":"v"}}})"_json));
  EXPECT_EQ(ValidateNode(R"({"metadata":{"name":"a","annotations":{"k":1}}})"_json)->code, 422);
  EXPECT_EQ(ValidateNode(R"({"metadata":{"name":"a"},"spec":{"podCIDRs":"x"}})"_json)->code, 422);
  EXPECT_EQ(ValidateNode(R"({"metadata":{"name":"a"},"status":{"conditions":[{"type":1}]}})"_json)->code,
            422);
  EXPECT_EQ(ValidateNode(R"({"metadata":{}})"_json)->code, 422);
}

}  // namespace
}  // namespace linen::kube::testing
