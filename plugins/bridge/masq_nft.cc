#include "plugins/bridge/masq_nft.h"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <memory>
#include <mutex>
#include <type_traits>
#include <set>

#include "libcni/types.h"
#include "plugins/bridge/hash.h"
#include "plugins/bridge/nft_batch.h"

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

// libnftables (with libnftnl, libmnl, libxtables, libjansson, libgmp) costs every exec
// ~0.5 ms of relocation and ~1 MB of mapped pages, so it is not linked: it is dlopen'ed
// the first time a masquerade rule has to change, i.e. never for a config without
// ipMasq. The header still gives us the types and signatures.
struct NftApi {
  decltype(&::nft_ctx_new) ctx_new = nullptr;
  decltype(&::nft_ctx_free) ctx_free = nullptr;
  decltype(&::nft_ctx_output_set_flags) output_set_flags = nullptr;
  decltype(&::nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&::nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&::nft_run_cmd_from_buffer) run_cmd_from_buffer = nullptr;
  decltype(&::nft_ctx_get_error_buffer) get_error_buffer = nullptr;
  decltype(&::nft_ctx_get_output_buffer) get_output_buffer = nullptr;
};

constexpr const char* kLibNftables = "libnftables.so.1";

// Loaded once per process (the library stays mapped until exit).
cni::Result<const NftApi*> LoadNft() {
  static std::once_flag once;
  static NftApi api;
  static std::string error;
  std::call_once(once, [] {
    void* h = dlopen(kLibNftables, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      error = std::string("cannot load ") + kLibNftables + ": " + (e ? e : "unknown error");
      return;
    }
    bool ok = true;
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      if (!fn && ok) {
        ok = false;
        error = std::string(kLibNftables) + " lacks " + name;
      }
    };
    sym(api.ctx_new, "nft_ctx_new");
    sym(api.ctx_free, "nft_ctx_free");
    sym(api.output_set_flags, "nft_ctx_output_set_flags");
    sym(api.buffer_output, "nft_ctx_buffer_output");
    sym(api.buffer_error, "nft_ctx_buffer_error");
    sym(api.run_cmd_from_buffer, "nft_run_cmd_from_buffer");
    sym(api.get_error_buffer, "nft_ctx_get_error_buffer");
    sym(api.get_output_buffer, "nft_ctx_get_output_buffer");
    if (!ok) api = NftApi{};
  });
  if (!api.ctx_new) return Error(Code::kInternal, "nftables: " + error);
  return &api;
}

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
  auto api = LoadNft();
  if (!api) return api.error();
  const NftApi& nft = **api;
  auto free_ctx = [&nft](nft_ctx* c) { nft.ctx_free(c); };
  std::unique_ptr<nft_ctx, decltype(free_ctx)> ctx(nft.ctx_new(NFT_CTX_DEFAULT), free_ctx);
  if (!ctx) return Error(Code::kInternal, "nftables: cannot create a libnftables context");
  if (json_out) nft.output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  nft.buffer_output(ctx.get());
  nft.buffer_error(ctx.get());
  int rc = nft.run_cmd_from_buffer(ctx.get(), script.c_str());
  if (rc != 0) {
    std::string err = nft.get_error_buffer(ctx.get());
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Error(Code::kInternal, "nftables: " + (err.empty() ? "command failed" : err));
  }
  return std::string(nft.get_output_buffer(ctx.get()));
}

// ADD and DEL send NftSetupScript/NftTeardownScript's messages directly (nft_batch.h):
// no libnftables on the hot path. The scripts remain the readable specification.
cni::Status NftSetupMasq(const std::vector<cni::IpNet>& ips, const MasqTag& tag) {
  auto s = NftBatchSetupMasq(kNftTable, NftChainName(tag), NftComment(tag), ips);
  if (!s) return s.error().Context("failed to set up masquerade for " + NftComment(tag));
  return cni::OkStatus();
}

cni::Status NftTeardownMasq(const MasqTag& tag) {
  auto s = NftBatchDeleteChain(kNftTable, NftChainName(tag));
  if (!s) return s.error().Context("failed to remove masquerade for " + NftComment(tag));
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
