#include "plugins/bridge/masq_nft.h"

#include <nftables/libnftables.h>

#include <memory>
#include <set>

#include "libcni/types.h"
#include "plugins/bridge/hash.h"

namespace bridge {

using cni::Code;
using cni::Error;

namespace {

constexpr size_t kCommentMax = 128;  // NFT_USERDATA_MAXLEN allows more; knftables uses 128

std::string StripQuotes(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != '"' && c != '\\') out += c;
  }
  return out;
}

struct CtxDeleter {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};

}  // namespace

std::string NftChainPrefix(const std::string& network) {
  return "masq-" + Sha512Hex(network).substr(0, 16) + "-";
}

std::string NftChainName(const MasqTag& tag) {
  return NftChainPrefix(tag.network) + Sha512Hex(tag.ifname + ":" + tag.container_id).substr(0, 16);
}

std::string NftComment(const MasqTag& tag) {
  std::string c = "net: " + StripQuotes(tag.network) + ", if: " + StripQuotes(tag.ifname) +
                  ", id: " + StripQuotes(tag.container_id);
  if (c.size() > kCommentMax) c.resize(kCommentMax);
  return c;
}

std::string NftSetupScript(const std::vector<cni::IpNet>& ips, const MasqTag& tag) {
  const std::string t = std::string("inet ") + kNftTable;
  const std::string chain = t + " " + NftChainName(tag);
  const std::string comment = "comment \"" + NftComment(tag) + "\"";
  std::string s = "add table " + t + "\n";
  s += "add chain " + chain + " { type nat hook postrouting priority srcnat; policy accept; " +
       comment + "; }\n";
  // Flush first so a repeated ADD replaces, never duplicates.
  s += "flush chain " + chain + "\n";
  for (const cni::IpNet& ip : ips) {
    bool v4 = ip.addr.is_v4();
    std::string fam = v4 ? "ip" : "ip6";
    s += "add rule " + chain + " " + fam + " saddr " + ip.addr.ToString() + " " + fam +
         " daddr != " + ip.Masked().ToString() + " " + fam + " daddr != " +
         (v4 ? "224.0.0.0/4" : "ff00::/8") + " masquerade " + comment + "\n";
  }
  return s;
}

std::string NftTeardownScript(const MasqTag& tag) {
  // `add` first makes the delete idempotent in one transaction: nft 1.0.6 has no
  // `destroy`, and a missing chain must not fail DEL.
  const std::string t = std::string("inet ") + kNftTable;
  const std::string chain = t + " " + NftChainName(tag);
  return "add table " + t + "\nadd chain " + chain + "\nflush chain " + chain +
         "\ndelete chain " + chain + "\n";
}

cni::Result<std::string> NftRun(const std::string& script, bool json_out) {
  std::unique_ptr<nft_ctx, CtxDeleter> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return Error(Code::kInternal, "nftables: cannot create a libnftables context");
  if (json_out) nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  int rc = nft_run_cmd_from_buffer(ctx.get(), script.c_str());
  if (rc != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx.get());
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Error(Code::kInternal, "nftables: " + (err.empty() ? "command failed" : err));
  }
  return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

cni::Status NftSetupMasq(const std::vector<cni::IpNet>& ips, const MasqTag& tag) {
  auto r = NftRun(NftSetupScript(ips, tag));
  if (!r) return r.error().Context("failed to set up masquerade for " + NftComment(tag));
  return cni::OkStatus();
}

cni::Status NftTeardownMasq(const MasqTag& tag) {
  auto r = NftRun(NftTeardownScript(tag));
  if (!r) return r.error().Context("failed to remove masquerade for " + NftComment(tag));
  return cni::OkStatus();
}

cni::Status NftGcChains(const std::string& family, const std::string& table,
                        const std::string& prefix, const std::set<std::string>& keep) {
  const std::string t = family + " " + table;
  auto listing = NftRun("list table " + t + "\n", true);
  if (!listing) {
    // No table: nothing was ever set up in this namespace.
    if (listing.error().msg().find("No such file or directory") != std::string::npos) {
      return cni::OkStatus();
    }
    return listing.error();
  }
  std::string script;
  try {
    cni::json j = cni::json::parse(*listing);
    for (const cni::json& item : j.at("nftables")) {
      if (!item.contains("chain")) continue;
      const cni::json& ch = item["chain"];
      if (ch.value("table", "") != table || ch.value("family", "") != family) continue;
      std::string name = ch.value("name", "");
      if (name.rfind(prefix, 0) != 0 || keep.count(name)) continue;
      script += "flush chain " + t + " " + name + "\ndelete chain " + t + " " + name + "\n";
    }
  } catch (const cni::json::exception& e) {
    return Error(Code::kInternal, std::string("cannot parse nft listing: ") + e.what());
  }
  if (script.empty()) return cni::OkStatus();
  auto r = NftRun(script);
  if (!r) return r.error();
  return cni::OkStatus();
}

cni::Status NftGcMasq(const std::string& network, const Attachments& valid) {
  std::set<std::string> keep;
  for (const auto& [id, ifname] : valid) keep.insert(NftChainName({network, ifname, id}));
  if (auto s = NftGcChains("inet", kNftTable, NftChainPrefix(network), keep); !s) {
    return s.error().Context("masquerade GC");
  }
  return cni::OkStatus();
}

}  // namespace bridge
