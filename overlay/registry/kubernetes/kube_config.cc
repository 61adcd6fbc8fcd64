#include "overlay/registry/kubernetes/kube_config.h"

#include <yaml.h>

#include <cstring>
#include <memory>

#include "libcni/base64.h"
#include "libcni/decode.h"
#include "libcni/sys/file.h"
#include "libcni/types.h"

namespace linen::kube {
namespace {

using cni::json;

// A document this deep is not a kubeconfig; the bound keeps the recursion finite.
constexpr int kMaxDepth = 64;

cni::Result<json> NodeToJson(yaml_document_t* doc, yaml_node_t* node, int depth) {
  if (node == nullptr) return json();
  if (depth > kMaxDepth) {
    return cni::Error(cni::Code::kDecodingFailure, "YAML nested deeper than 64 levels");
  }
  switch (node->type) {
    case YAML_SCALAR_NODE: {
      std::string v(reinterpret_cast<const char*>(node->data.scalar.value),
                    node->data.scalar.length);
      if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (v == "true" || v == "True") return json(true);
        if (v == "false" || v == "False") return json(false);
        if (v == "null" || v == "~" || v.empty()) return json();
      }
      return json(v);
    }
    case YAML_SEQUENCE_NODE: {
      json out = json::array();
      for (auto* item = node->data.sequence.items.start; item < node->data.sequence.items.top;
           ++item) {
        auto v = NodeToJson(doc, yaml_document_get_node(doc, *item), depth + 1);
        if (!v) return v.error();
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML_MAPPING_NODE: {
      json out = json::object();
      for (auto* pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top;
           ++pair) {
        yaml_node_t* k = yaml_document_get_node(doc, pair->key);
        if (k == nullptr || k->type != YAML_SCALAR_NODE) {
          return cni::Error(cni::Code::kDecodingFailure, "YAML mapping key is not a scalar");
        }
        std::string key(reinterpret_cast<const char*>(k->data.scalar.value),
                        k->data.scalar.length);
        auto v = NodeToJson(doc, yaml_document_get_node(doc, pair->value), depth + 1);
        if (!v) return v.error();
        out[key] = std::move(*v);
      }
      return out;
    }
    default:
      return json();
  }
}

struct ParserDeleter {
  void operator()(yaml_parser_t* p) const {
    yaml_parser_delete(p);
    delete p;
  }
};
struct DocumentDeleter {
  void operator()(yaml_document_t* d) const {
    yaml_document_delete(d);
    delete d;
  }
};

// The entry of a kubeconfig list ("clusters", "users", "contexts") called `name`.
cni::Result<cni::Decoder> Named(const cni::Decoder& root, const char* list, const char* inner,
                                const std::string& name) {
  const cni::Decoder l = root[list];
  if (auto s = l.ArrayOrUnset(); !s) return s.error();
  for (size_t i = 0; i < l.size(); ++i) {
    auto n = l[i].Optional<std::string>("name");
    if (!n) return n.error();
    if (*n && **n == name) return l[i][inner];
  }
  return cni::InvalidConfig(std::string("kubeconfig: no entry named \"") + name + "\" in " + list);
}

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

cni::Result<std::string> Base64Field(const cni::Decoder& d, const char* key) {
  auto text = d.Optional<std::string>(key);
  if (!text) return text.error();
  if (!*text) return std::string();
  auto raw = cni::Base64Decode(**text);
  if (!raw) return d[key].Invalid("not base64");
  return *raw;
}

cni::Result<std::string> ReadSmallFile(const std::string& path, const std::string& what) {
  auto text = cni::ReadWholeFile(path, cni::Code::kInvalidNetworkConfig);
  if (!text) return text.error().Context(what);
  return text;
}

cni::Result<KubeClientConfig> DecodeKubeconfig(const cni::Decoder& root, const std::string& dir) {
  KubeClientConfig out;
  auto current = root.Optional<std::string>("current-context");
  if (!current) return current.error();
  if (!*current || (*current)->empty()) return cni::InvalidConfig("kubeconfig: no current-context");
  auto ctx = Named(root, "contexts", "context", **current);
  if (!ctx) return ctx.error();
  std::string cluster_name, user_name;
  if (auto s = ctx->Get("cluster", &cluster_name); !s) return s.error();
  if (auto s = ctx->Get("user", &user_name); !s) return s.error();
  if (cluster_name.empty()) {
    return cni::InvalidConfig("kubeconfig: context \"" + **current + "\" names no cluster");
  }

  auto cluster = Named(root, "clusters", "cluster", cluster_name);
  if (!cluster) return cluster.error();
  if (auto s = cluster->Get("server", &out.server); !s) return s.error();
  if (out.server.rfind("https://", 0) != 0) {
    return cni::InvalidConfig("kubeconfig: cluster \"" + cluster_name + "\" server \"" +
                              out.server + "\" must be an https:// URL");
  }
  while (!out.server.empty() && out.server.back() == '/') out.server.pop_back();
  bool insecure = false;
  if (auto s = cluster->Get("insecure-skip-tls-verify", &insecure); !s) return s.error();
  if (insecure) {
    return cni::InvalidConfig(
        "kubeconfig: cluster \"" + cluster_name +
        "\" sets insecure-skip-tls-verify; linen always verifies the API server: "
        "give certificate-authority(-data)");
  }
  std::string ca_file;
  if (auto s = cluster->Get("certificate-authority", &ca_file); !s) return s.error();
  out.ca_file = Resolve(dir, ca_file);
  auto ca_pem = Base64Field(*cluster, "certificate-authority-data");
  if (!ca_pem) return ca_pem.error();
  out.ca_pem = *ca_pem;

  if (user_name.empty()) return out;  // a server that needs no credentials
  auto user = Named(root, "users", "user", user_name);
  if (!user) return user.error();
  for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
    if (user->value().is_object() && user->value().contains(unsupported)) {
      return cni::InvalidConfig(
          "kubeconfig: user \"" + user_name + "\" uses \"" + unsupported +
          "\", which linen does not support: give a token, tokenFile or a client "
          "certificate");
    }
  }
  std::string token_file, cert_file, key_file;
  if (auto s = user->Get("token", &out.token); !s) return s.error();
  if (auto s = user->Get("tokenFile", &token_file); !s) return s.error();
  if (auto s = user->Get("client-certificate", &cert_file); !s) return s.error();
  if (auto s = user->Get("client-key", &key_file); !s) return s.error();
  out.token_file = Resolve(dir, token_file);
  out.cert_file = Resolve(dir, cert_file);
  out.key_file = Resolve(dir, key_file);
  auto cert_pem = Base64Field(*user, "client-certificate-data");
  if (!cert_pem) return cert_pem.error();
  auto key_pem = Base64Field(*user, "client-key-data");
  if (!key_pem) return key_pem.error();
  out.cert_pem = *cert_pem;
  out.key_pem = *key_pem;
  const bool has_cert = !out.cert_file.empty() || !out.cert_pem.empty();
  const bool has_key = !out.key_file.empty() || !out.key_pem.empty();
  if (has_cert != has_key) {
    return cni::InvalidConfig("kubeconfig: user \"" + user_name +
                              "\" needs both a client certificate and its key");
  }
  return out;
}

}  // namespace

cni::Result<std::string> YamlToJson(const std::string& text) {
  std::unique_ptr<yaml_parser_t, ParserDeleter> parser(new yaml_parser_t);
  if (yaml_parser_initialize(parser.get()) == 0) {
    delete parser.release();
    return cni::Error(cni::Code::kInternal, "YAML parser could not be initialised");
  }
  yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  std::unique_ptr<yaml_document_t, DocumentDeleter> doc(new yaml_document_t);
  if (yaml_parser_load(parser.get(), doc.get()) == 0) {
    std::string why = parser->problem != nullptr ? parser->problem : "syntax error";
    delete doc.release();  // nothing to delete inside on failure
    return cni::Error(cni::Code::kDecodingFailure,
                      "not YAML: " + why + " at line " +
                          std::to_string(parser->problem_mark.line + 1));
  }
  auto j = NodeToJson(doc.get(), yaml_document_get_root_node(doc.get()), 0);
  if (!j) return j.error();
  return j->dump();
}

cni::Result<KubeClientConfig> ParseKubeconfig(const std::string& text, const std::string& dir) {
  auto as_json = YamlToJson(text);
  if (!as_json) return as_json.error().Context("kubeconfig");
  json j = json::parse(*as_json);
  if (!j.is_object()) return cni::InvalidConfig("kubeconfig: not a mapping");
  return DecodeKubeconfig(cni::Decoder(j), dir);
}

cni::Result<KubeClientConfig> LoadKubeconfig(const std::string& path) {
  auto text = ReadSmallFile(path, "--kubeconfig");
  if (!text) return text.error();
  auto cfg = ParseKubeconfig(*text, cni::DirName(path));
  if (!cfg) return cfg.error().Context(path);
  return cfg;
}

cni::Result<KubeClientConfig> InClusterConfig(
    const std::function<const char*(const char*)>& getenv, const std::string& sa_dir) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || host[0] == '\0' || port[0] == '\0') {
    return cni::InvalidConfig(
        "kubernetes: not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset) and no "
        "--kubeconfig given");
  }
  KubeClientConfig out;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // an IPv6 service address
  out.server = "https://" + h + ":" + port;
  out.ca_file = sa_dir + "/ca.crt";
  out.token_file = sa_dir + "/token";
  for (const std::string* f : {&out.ca_file, &out.token_file}) {
    if (auto t = ReadSmallFile(*f, "service account"); !t) return t.error();
  }
  return out;
}

}  // namespace linen::kube
