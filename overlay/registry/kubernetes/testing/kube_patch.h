// Internal to the test API server: the two patch formats linen sends, applied to a
// Node as the real API server applies them, and the Node checks that decide 422.
#ifndef LINEN_OVERLAY_REGISTRY_KUBERNETES_TESTING_KUBE_PATCH_H_
#define LINEN_OVERLAY_REGISTRY_KUBERNETES_TESTING_KUBE_PATCH_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace linen::kube::testing {

// What becomes a v1 Status: HTTP code, Status reason, message.
struct ApiError {
  int code = 500;
  std::string reason;
  std::string message;
};

// RFC 7386 JSON merge patch: objects merge recursively, null removes a member,
// anything else (arrays included) replaces.
nlohmann::json MergePatch(const nlohmann::json& target, const nlohmann::json& patch);

// Strategic merge patch with core/v1 Node's patch strategy (see kube_api_server.h).
// `patch` must be an object. Returns the patched object or a 400/422 error.
std::optional<ApiError> StrategicMergePatch(const nlohmann::json& original,
                                            const nlohmann::json& patch,
                                            nlohmann::json* out);

// The checks the server makes before storing a patched Node (422 Invalid).
std::optional<ApiError> ValidateNode(const nlohmann::json& node);

}  // namespace linen::kube::testing

#endif  // LINEN_OVERLAY_REGISTRY_KUBERNETES_TESTING_KUBE_PATCH_H_
