#include "overlay/backend/masquerade.h"

#include <linux/netfilter.h>

#include "overlay/backend/backend.h"

namespace linen::overlay {

namespace nft = cni::nft;

namespace {

constexpr const char* kChain = "postrouting";
constexpr int32_t kPrioritySrcnat = 100;  // NF_IP_PRI_NAT_SRC, nft's "srcnat"

nft::Family TableFamily(cni::Family f) {
  return f == cni::Family::kV4 ? nft::Family::kIp : nft::Family::kIp6;
}

// The rule's comment names the cluster network: CHECK and linend compare it
// instead of decoding expressions.
std::string RuleComment(const cni::IpNet& cluster) {
  return "linen: masquerade traffic leaving " + cluster.Masked().ToString();
}

void AddTableAndRule(nft::Batch& b, const std::string& table, const cni::IpNet& cluster,
                     bool exclusive) {
  const cni::IpNet net = cluster.Masked();
  const bool v4 = net.addr.is_v4();
  const nft::Family f = TableFamily(net.family());
  b.AddTable(f, table, exclusive);
  b.AddChain(f, table, kChain, nft::Hook{NF_INET_POST_ROUTING, kPrioritySrcnat, "nat"}, "");
  nft::Rule r;
  r.AddrIn(true, net)
      .AddrNotIn(false, net)
      .AddrNotIn(false, *cni::IpNet::Parse(v4 ? "224.0.0.0/4" : "ff00::/8"))
      .Counter()
      .Masquerade();
  b.AddRule(f, table, kChain, r, RuleComment(net));
}

}  // namespace

std::string MasqTableName(const std::string& name) { return "linen-" + name; }

cni::Result<bool> AddMasqueradeIfAbsent(nft::Socket& sock, const std::string& name,
                                        const cni::IpNet& cluster) {
  // A read first: a transaction that fails on the existing table would still run
  // its other commands against it and then abort them, which waits out an RCU
  // grace period (~8 ms here) on every ADD.
  auto table = sock.GetTable(TableFamily(cluster.family()), MasqTableName(name));
  if (table) return false;
  if (!table.error().IsNotFound()) return table.error();
  nft::Batch b;
  AddTableAndRule(b, MasqTableName(name), cluster, /*exclusive=*/true);
  auto s = sock.Commit(b, "masquerade for " + cluster.ToString());
  if (s) return true;
  if (s.error().IsExists()) return false;
  return s.error();
}

cni::Result<bool> SyncMasquerade(nft::Socket& sock, const std::string& name,
                                 const cni::IpNet& cluster) {
  if (CheckMasquerade(sock, name, cluster)) return false;
  // Create-then-delete makes the delete safe when the table is absent; the new
  // table replaces the old one in the same transaction, so there is no moment
  // without the rule.
  const std::string table = MasqTableName(name);
  const nft::Family f = TableFamily(cluster.family());
  nft::Batch b;
  b.AddTable(f, table);
  b.DeleteTable(f, table);
  AddTableAndRule(b, table, cluster, false);
  auto s = sock.Commit(b, "masquerade for " + cluster.ToString());
  if (!s) return s.error();
  return true;
}

cni::Status DeleteMasquerade(nft::Socket& sock, const std::string& name, cni::Family family) {
  const std::string table = MasqTableName(name);
  nft::Batch b;
  b.AddTable(TableFamily(family), table);
  b.DeleteTable(TableFamily(family), table);
  return sock.Commit(b, "delete masquerade table " + table);
}

cni::Status CheckMasquerade(nft::Socket& sock, const std::string& name,
                            const cni::IpNet& cluster) {
  const std::string table = MasqTableName(name);
  const nft::Family f = TableFamily(cluster.family());
  auto fail = [&](const std::string& why) {
    return cni::Error(cni::Code::kBackendNotReady,
                      "masquerade rule for " + cluster.Masked().ToString() + " " + why +
                          " in table " + table);
  };
  auto chain = sock.GetChain(f, table, kChain);
  if (!chain) return fail("missing (" + chain.error().msg() + ")");
  if (!chain->base) return fail("has no hook");
  auto rules = sock.ListRules(f, table, kChain);
  if (!rules) return rules.error().WithCode(cni::Code::kBackendNotReady);
  if (rules->size() != 1 || rules->front().comment != RuleComment(cluster)) {
    return fail("missing or changed");
  }
  return cni::OkStatus();
}

cni::Result<std::vector<cni::Family>> AddNodeMasqueradeIfAbsent(
    nft::Socket& sock, const std::string& name, const std::vector<cni::IpNet>& networks) {
  std::vector<cni::Family> created;
  for (const cni::IpNet& network : networks) {
    auto added = AddMasqueradeIfAbsent(sock, name, network);
    if (!added) {
      // All or nothing: what this call made goes again.
      for (cni::Family c : created) (void)DeleteMasquerade(sock, name, c);
      return added.error();
    }
    if (*added) created.push_back(network.family());
  }
  return created;
}

cni::Result<bool> SyncNodeMasquerade(nft::Socket& sock, const std::string& name,
                                     const ClusterConfig& cluster) {
  bool changed = false;
  for (cni::Family f : {cni::Family::kV4, cni::Family::kV6}) {
    const bool enabled = f == cni::Family::kV4 ? cluster.enable_ipv4 : cluster.enable_ipv6;
    if (cluster.ip_masq && enabled) {
      auto synced = SyncMasquerade(sock, name, ClusterNetwork(cluster, f));
      if (!synced) return synced.error();
      changed = changed || *synced;
      continue;
    }
    // A read first, so that a node with nothing to remove writes nothing.
    auto table = sock.GetTable(TableFamily(f), MasqTableName(name));
    if (!table) {
      if (table.error().IsNotFound()) continue;
      return table.error();
    }
    if (auto s = DeleteMasquerade(sock, name, f); !s) return s.error();
    changed = true;
  }
  return changed;
}

cni::Status CheckNodeMasquerade(nft::Socket& sock, const std::string& name,
                                const std::vector<cni::IpNet>& networks) {
  for (const cni::IpNet& network : networks) {
    if (auto s = CheckMasquerade(sock, name, network); !s) return s;
  }
  return cni::OkStatus();
}

cni::Status DeleteNodeMasquerade(nft::Socket& sock, const std::string& name) {
  for (cni::Family f : {cni::Family::kV4, cni::Family::kV6}) {
    if (auto s = DeleteMasquerade(sock, name, f); !s) return s;
  }
  return cni::OkStatus();
}

}  // namespace linen::overlay
