// cnitool: run a CNI network configuration against a network namespace by hand.
// Wiring only: flags -> Request, environment -> ToolEnv, then commands.cc.
#include <iostream>

#include <CLI/CLI.hpp>

#include "tools/cnitool/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "cnitool: add, check, delete, garbage-collect or query a CNI network for a network "
      "namespace.\nEnvironment: NETCONFPATH (default /etc/cni/net.d), CNI_PATH (default "
      "/opt/cni/bin), CNI_IFNAME (default eth0), CNI_ARGS (K=V;K2=V2), CAP_ARGS (JSON), "
      "CNI_CONTAINERID (default cnitool-<sha512 of the netns path>)."};
  app.require_subcommand(1);
  app.fallthrough();

  cnitool::Request req;
  bool no_cleanup = false;
  app.add_option("-i,--ifname", req.ifname, "interface name (overrides CNI_IFNAME)");
  app.add_option("--container-id", req.container_id, "container ID (overrides CNI_CONTAINERID)");
  app.add_option("--cache-dir", req.cache_dir, "result cache directory (default /var/lib/cni)");
  app.add_flag("--json", req.json_output, "compact JSON output (results and errors on stdout)");

  const char* kNetHelp = "network name in NETCONFPATH, or a .conflist/.conf/.json path with a '/'";
  for (const char* verb : {"add", "check", "del"}) {
    auto* sub = app.add_subcommand(verb, std::string(verb) + " an attachment");
    sub->add_option("net", req.net, kNetHelp)->required();
    sub->add_option("netns", req.netns, "network namespace path, e.g. /run/netns/pod1");
    sub->add_option("--netns-name", req.netns_name,
                    "use /run/netns/NAME (add creates it when missing)");
    if (std::string(verb) == "add") {
      sub->add_flag("--no-cleanup", no_cleanup, "keep what a failed ADD left (no DEL)");
    }
    if (std::string(verb) == "del") {
      sub->add_flag("--rm-netns", req.remove_netns, "delete the --netns-name namespace after DEL");
    }
  }
  auto* gc = app.add_subcommand(
      "gc", "DEL every cached attachment of the network not kept, then send GC (>= 1.1.0)");
  gc->add_option("net", req.net, kNetHelp)->required();
  gc->add_option("netns", req.netns, "ignored (accepted for compatibility)");
  gc->add_option("--keep", "attachment to keep: CONTAINERID[/IFNAME]; repeatable")
      ->each([&](const std::string& v) {
        if (!req.keep) req.keep.emplace();
        req.keep->push_back(v);
      });
  auto* status = app.add_subcommand("status", "ask each plugin whether it is ready (>= 1.1.0)");
  status->add_option("net", req.net, kNetHelp)->required();
  status->add_option("netns", req.netns, "ignored (accepted for compatibility)");
  auto* version = app.add_subcommand(
      "version", "spec versions of cnitool, or of each plugin of a network");
  version->add_option("net", req.net, kNetHelp);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? cnitool::kExitOk : cnitool::kExitUsage;
  }
  req.verb = app.get_subcommands().front()->get_name();
  req.cleanup = !no_cleanup;
  return cnitool::RunRequest(req, cnitool::ReadToolEnv(), std::cout, std::cerr);
}
