// How linend reaches the Kubernetes API server: a kubeconfig file (--kubeconfig) or
// the pod's in-cluster service account. Both end as one KubeClientConfig.
//
// Kubeconfig: the current-context's cluster (server, certificate-authority or
// certificate-authority-data) and user (token, tokenFile, client-certificate(-data)
// with client-key(-data)). Relative file paths are relative to the kubeconfig's
// folder, as kubectl reads them. The file is YAML (parsed with libyaml, so anything
// kubectl or kubeadm writes, JSON included); exec/auth-provider plugins, basic auth
// and insecure-skip-tls-verify are refused with a message saying so: linen verifies
// the server and runs no helper programs.
//
// In-cluster: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the CA and
// token of /var/run/secrets/kubernetes.io/serviceaccount (the token file is re-read
// when it changes: projected tokens rotate).
#ifndef LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_CONFIG_H_
#define LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_CONFIG_H_

#include <chrono>
#include <functional>
#include <string>

#include "libcni/error.h"

namespace linen::kube {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubeClientConfig {
  std::string server;      // "https://10.96.0.1:443", no trailing slash
  std::string ca_file;     // PEM bundle that signed the server; with ca_pem "" = system store
  std::string ca_pem;      // certificate-authority-data, decoded
  std::string token;       // a fixed bearer token
  std::string token_file;  // a token file, re-read when it changes (wins over token)
  std::string cert_file;   // client certificate + key, as files ...
  std::string key_file;
  std::string cert_pem;    // ... or as PEM text (client-certificate-data / -key-data)
  std::string key_pem;
  std::chrono::milliseconds request_timeout{5000};  // as etcd's: linend's stall limit
  std::chrono::milliseconds connect_timeout{3000};
};

// Parses kubeconfig text; `dir` resolves relative paths. Code 6 for text that is not
// YAML, 7 for a kubeconfig that names no usable context/cluster/user.
cni::Result<KubeClientConfig> ParseKubeconfig(const std::string& text, const std::string& dir);
// Reads and parses the file at `path` (code 7 naming it when unreadable).
cni::Result<KubeClientConfig> LoadKubeconfig(const std::string& path);

// The in-cluster config from the environment (`getenv`, so tests can pass their own)
// and the service account folder `sa_dir`.
cni::Result<KubeClientConfig> InClusterConfig(
    const std::function<const char*(const char*)>& getenv, const std::string& sa_dir);

// YAML text as JSON text (mappings, sequences; plain true/false as booleans, every
// other scalar a string). Exposed for tests.
cni::Result<std::string> YamlToJson(const std::string& text);

}  // namespace linen::kube

#endif  // LINEN_OVERLAY_REGISTRY_KUBERNETES_KUBE_CONFIG_H_
