#include "libcni/attachments.h"

namespace cni {

Result<std::vector<Attachment>> ValidAttachments(const json& conf) {
  std::vector<Attachment> out;
  if (!conf.is_object()) return out;
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    auto list = conf.find(key);
    if (list == conf.end() || list->is_null()) continue;
    if (!list->is_array()) {
      return Error(Code::kDecodingFailure, std::string(key) + ": expected list, got " +
                                               list->type_name());
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const json& a = (*list)[i];
      const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
      auto id = a.is_object() ? a.find("containerID") : a.end();
      if (id == a.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
        return Error(Code::kDecodingFailure,
                     where + ": expected {\"containerID\",\"ifname\"}, got " + a.dump());
      }
      auto ifname = a.find("ifname");
      if (ifname != a.end() && !ifname->is_null() && !ifname->is_string()) {
        return Error(Code::kDecodingFailure,
                     where + ".ifname: expected string, got " + ifname->type_name());
      }
      out.push_back({id->get<std::string>(),
                     ifname != a.end() && ifname->is_string() ? ifname->get<std::string>() : ""});
    }
    break;
  }
  return out;
}

}  // namespace cni
