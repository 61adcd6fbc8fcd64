#include "overlay/registry/kubernetes/testing/kube_patch.h"

#include <algorithm>
#include <map>
#include <set>

namespace linen::kube::testing {

using nlohmann::json;

namespace {

// core/v1 Node's patch strategy (the `patchStrategy`/`patchMergeKey` struct tags of
// k8s.io/api/core/v1 and meta/v1), by path from the object's root. Lists not named
// here are replaced whole.
const std::map<std::string, std::string>& MergeKeys() {
  static const std::map<std::string, std::string> keys = {
      {"status/conditions", "type"},
      {"status/addresses", "type"},
      {"metadata/ownerReferences", "uid"},
  };
  return keys;
}
const std::set<std::string>& SetLists() {
  static const std::set<std::string> lists = {"spec/podCIDRs", "metadata/finalizers"};
  return lists;
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "/" + key;
}

ApiError BadRequest(std::string msg) { return {400, "BadRequest", std::move(msg)}; }

// Removes directive members from a value that is added, not merged.
json StripDirectives(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key().rfind("$", 0) == 0) continue;
      out[it.key()] = StripDirectives(it.value());
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(StripDirectives(e));
    return out;
  }
  return v;
}

std::optional<ApiError> MergeObject(const json& orig, const json& patch, const std::string& path,
                                    json* out);

std::optional<ApiError> MergeList(const json& orig, const json& patch, const std::string& path,
                                  json* out) {
  json list = orig.is_array() ? orig : json::array();
  // [{"$patch":"replace"}, ...]: the rest of the patch list is the new list.
  for (const auto& e : patch) {
    if (e.is_object() && e.contains("$patch") && e["$patch"] == "replace") {
      json rest = json::array();
      for (const auto& x : patch) {
        if (!(x.is_object() && x.contains("$patch"))) rest.push_back(StripDirectives(x));
      }
      *out = std::move(rest);
      return std::nullopt;
    }
  }
  auto mk = MergeKeys().find(path);
  if (mk != MergeKeys().end()) {
    const std::string& key = mk->second;
    for (const auto& e : patch) {
      if (!e.is_object() || !e.contains(key)) {
        // apimachinery's own words; the API server passes this error through
        // unclassified, so it answers 500 InternalError.
        return ApiError{500, "InternalError",
                        "map: " + e.dump() + " does not contain declared merge key: " + key};
      }
      auto same = std::find_if(list.begin(), list.end(), [&](const json& x) {
        return x.is_object() && x.contains(key) && x[key] == e[key];
      });
      if (e.contains("$patch")) {
        if (e["$patch"] != "delete") {
          return BadRequest("unknown patch type: " + e["$patch"].dump() + " in list " + path);
        }
        if (same != list.end()) list.erase(same);
        continue;
      }
      json merged;
      const json base = same != list.end() ? *same : json::object();
      if (auto err = MergeObject(base, e, path, &merged)) return err;
      if (same != list.end()) {
        *same = std::move(merged);
      } else {
        list.push_back(std::move(merged));
      }
    }
    *out = std::move(list);
    return std::nullopt;
  }
  if (SetLists().count(path)) {
    for (const auto& e : patch) {
      if (std::find(list.begin(), list.end(), e) == list.end()) list.push_back(e);
    }
    *out = std::move(list);
    return std::nullopt;
  }
  *out = StripDirectives(patch);
  return std::nullopt;
}

std::optional<ApiError> MergeObject(const json& orig, const json& patch, const std::string& path,
                                    json* out) {
  if (patch.contains("$patch")) {
    if (patch["$patch"] == "replace") {
      *out = StripDirectives(patch);
      return std::nullopt;
    }
    return BadRequest("unknown patch type: " + patch["$patch"].dump() + " at " +
                      (path.empty() ? "<root>" : path));
  }
  if (patch.contains("$retainKeys")) {
    return BadRequest("$retainKeys is not supported by this test API server");
  }
  json result = orig.is_object() ? orig : json::object();
  static const std::string kDeleteFrom = "$deleteFromPrimitiveList/";
  static const std::string kOrder = "$setElementOrder/";
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k.rfind(kDeleteFrom, 0) == 0) {
      const std::string list = k.substr(kDeleteFrom.size());
      if (!v.is_array()) return BadRequest("invalid value for " + k + ": not a list");
      if (result.contains(list) && result[list].is_array()) {
        json kept = json::array();
        for (const auto& x : result[list]) {
          if (std::find(v.begin(), v.end(), x) == v.end()) kept.push_back(x);
        }
        result[list] = std::move(kept);
      }
      continue;
    }
    if (k.rfind(kOrder, 0) == 0) {
      if (!v.is_array()) return BadRequest("invalid value for " + k + ": not a list");
      continue;  // only orders the list; the members come from the patch itself
    }
    if (k.rfind("$", 0) == 0) return BadRequest("unknown directive " + k);
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k.rfind("$", 0) == 0) continue;
    const std::string sub = Join(path, k);
    if (v.is_null()) {
      result.erase(k);
    } else if (v.is_object()) {
      if (v.contains("$patch") && v["$patch"] == "delete") {
        result.erase(k);
        continue;
      }
      json merged;
      const json base = result.contains(k) ? result[k] : json::object();
      if (auto err = MergeObject(base, v, sub, &merged)) return err;
      result[k] = std::move(merged);
    } else if (v.is_array()) {
      json merged;
      const json base = result.contains(k) ? result[k] : json::array();
      if (auto err = MergeList(base, v, sub, &merged)) return err;
      result[k] = std::move(merged);
    } else {
      result[k] = v;
    }
  }
  *out = std::move(result);
  return std::nullopt;
}

ApiError Invalid(const std::string& field, const std::string& why) {
  return {422, "Invalid", "Node \"\" is invalid: " + field + ": Invalid value: " + why};
}

// Whether `v` decodes into a Go map[string]string.
bool IsStringMap(const json& v) {
  if (v.is_null()) return true;
  if (!v.is_object()) return false;
  return std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); });
}

std::optional<ApiError> CheckTypedList(const json& list, const std::string& field,
                                       const std::vector<std::string>& string_members) {
  if (list.is_null()) return std::nullopt;
  if (!list.is_array()) return Invalid(field, "must be a list");
  for (const auto& e : list) {
    if (!e.is_object()) return Invalid(field, "elements must be objects");
    for (const auto& m : string_members) {
      if (e.contains(m) && !e[m].is_string() && !e[m].is_null()) {
        return Invalid(field + "." + m, "must be a string");
      }
    }
  }
  return std::nullopt;
}

}  // namespace

json MergePatch(const json& target, const json& patch) {
  if (!patch.is_object()) return patch;
  json result = target.is_object() ? target : json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) {
      result.erase(it.key());
    } else {
      const json base = result.contains(it.key()) ? result[it.key()] : json();
      result[it.key()] = MergePatch(base, it.value());
    }
  }
  return result;
}

std::optional<ApiError> StrategicMergePatch(const json& original, const json& patch, json* out) {
  if (!patch.is_object()) return BadRequest("a strategic merge patch must be a JSON object");
  return MergeObject(original, patch, "", out);
}

std::optional<ApiError> ValidateNode(const json& node) {
  if (!node.is_object()) return Invalid("patch", "the result is not an object");
  const json& md = node.value("metadata", json::object());
  if (!md.is_object()) return Invalid("metadata", "must be an object");
  if (!md.contains("name") || !md["name"].is_string()) return Invalid("metadata.name", "required");
  if (md.contains("annotations") && !IsStringMap(md["annotations"])) {
    return Invalid("metadata.annotations", "values must be strings");
  }
  if (md.contains("labels") && !IsStringMap(md["labels"])) {
    return Invalid("metadata.labels", "values must be strings");
  }
  if (node.contains("spec")) {
    const json& spec = node["spec"];
    if (!spec.is_object() && !spec.is_null()) return Invalid("spec", "must be an object");
    if (spec.is_object()) {
      if (spec.contains("podCIDR") && !spec["podCIDR"].is_string()) {
        return Invalid("spec.podCIDR", "must be a string");
      }
      if (spec.contains("podCIDRs")) {
        const json& l = spec["podCIDRs"];
        if (!l.is_array() ||
            !std::all_of(l.begin(), l.end(), [](const json& x) { return x.is_string(); })) {
          return Invalid("spec.podCIDRs", "must be a list of strings");
        }
      }
    }
  }
  if (node.contains("status")) {
    const json& st = node["status"];
    if (!st.is_object() && !st.is_null()) return Invalid("status", "must be an object");
    if (st.is_object()) {
      if (st.contains("conditions")) {
        if (auto e = CheckTypedList(st["conditions"], "status.conditions",
                                    {"type", "status", "reason", "message", "lastHeartbeatTime",
                                     "lastTransitionTime"})) {
          return e;
        }
      }
      if (st.contains("addresses")) {
        if (auto e = CheckTypedList(st["addresses"], "status.addresses", {"type", "address"})) {
          return e;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace linen::kube::testing
