#include "overlay/plugin/masquerade.h"

#include <nftables/libnftables.h>

#include <memory>

namespace linen::overlay {
namespace {

struct CtxDeleter {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};

// Runs one nft script as one transaction; returns stdout or the parser's words.
cni::Result<std::string> RunNft(const std::string& script, const std::string& what) {
  std::unique_ptr<nft_ctx, CtxDeleter> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return cni::Error(cni::Code::kInternal, what + ": nft_ctx_new failed");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  int rc = nft_run_cmd_from_buffer(ctx.get(), script.c_str());
  if (rc != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx.get());
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return cni::Error(cni::Code::kInternal, what + ": nftables: " + err);
  }
  return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

std::string Rule(const cni::IpNet& cluster) {
  std::string net = cluster.Masked().ToString();
  return "ip saddr " + net + " ip daddr != " + net + " ip daddr != 224.0.0.0/4";
}

}  // namespace

// Network names match [a-zA-Z0-9][a-zA-Z0-9_.-]*, all valid in an unquoted nft
// identifier after the "linen-" prefix (this nft does not take quoted table names).
std::string MasqTableName(const std::string& net_name) { return "linen-" + net_name; }

cni::Status EnsureMasquerade(const std::string& net_name, const cni::IpNet& cluster) {
  std::string t = "ip " + MasqTableName(net_name);
  // add + delete + add in one transaction: idempotent whether or not it existed,
  // and never a moment without the rule.
  std::string script = "add table " + t + "\ndelete table " + t + "\ntable " + t +
                       " {\n chain postrouting {\n  type nat hook postrouting priority srcnat; "
                       "policy accept;\n  " + Rule(cluster) + " counter masquerade\n }\n}\n";
  auto out = RunNft(script, "masquerade for " + cluster.ToString());
  if (!out) return out.error();
  return cni::OkStatus();
}

cni::Result<bool> MasqueradeExists(const std::string& net_name) {
  // "list tables" cannot fail for a missing table, unlike "list table".
  auto out = RunNft("list tables ip\n", "list masquerade tables");
  if (!out) return out.error();
  const std::string want = "table ip " + MasqTableName(net_name) + "\n";
  return out->starts_with(want) || out->find("\n" + want) != std::string::npos;
}

cni::Status DeleteMasquerade(const std::string& net_name) {
  std::string t = "ip " + MasqTableName(net_name);
  auto out = RunNft("add table " + t + "\ndelete table " + t + "\n", "delete masquerade");
  if (!out) return out.error();
  return cni::OkStatus();
}

cni::Status CheckMasquerade(const std::string& net_name, const cni::IpNet& cluster) {
  auto out = RunNft("list table ip " + MasqTableName(net_name) + "\n", "check masquerade");
  if (!out) return out.error().WithCode(cni::Code::kBackendNotReady);
  auto pos = out->find(Rule(cluster));
  if (pos == std::string::npos || out->find("masquerade", pos) == std::string::npos) {
    return cni::Error(cni::Code::kBackendNotReady,
                      "masquerade rule for " + cluster.ToString() + " missing in table " +
                          MasqTableName(net_name));
  }
  return cni::OkStatus();
}

}  // namespace linen::overlay
