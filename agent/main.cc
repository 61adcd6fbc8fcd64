// linend: wiring only. Flags -> registry -> agent loop; SIGTERM/SIGINT stop it
// leaving the data path in place.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "agent/agent.h"
#include "agent/http_server.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/options.h"
#include "agent/registry_factory.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
  auto opts = linen::agent::ParseOptions(argc, argv);
  if (!opts) {
    bool info = opts.error().code() == cni::Code::kOk;
    std::fputs((opts.error().msg() + "\n").c_str(), info ? stdout : stderr);
    return info ? 0 : 2;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto registry = linen::agent::MakeRegistry(*opts);
  if (!registry) {
    linen::agent::Log(registry.error().msg());
    return 1;
  }
  linen::agent::Metrics metrics;
  linen::agent::Agent agent(*opts, std::move(*registry), &metrics);
  if (opts->cleanup) {
    auto s = agent.RunCleanup();
    if (!s) {
      linen::agent::Log(s.error().msg());
      return 1;
    }
    return 0;
  }

  std::unique_ptr<linen::agent::HttpServer> http;
  if (!opts->metrics_address.empty()) {
    auto srv = linen::agent::HttpServer::Start(
        opts->metrics_address, [&metrics](const std::string& path) -> linen::agent::HttpResponse {
          // Liveness (the loop turns) and readiness (leased, subnet.env, every peer
          // programmed) apart, as kubelet probes and flannel have them.
          if (path == "/healthz") {
            auto now = std::chrono::steady_clock::now();
            return {metrics.Live(now) ? 200 : 503, "text/plain; charset=utf-8",
                    metrics.HealthText(now)};
          }
          if (path == "/readyz") {
            std::string text = metrics.ReadyText();  // one look: status and body agree
            return {text == "ok\n" ? 200 : 503, "text/plain; charset=utf-8", text};
          }
          if (path == "/metrics") {
            return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.RenderPrometheus()};
          }
          return {404, "text/plain; charset=utf-8", "not found\n"};
        });
    if (!srv) {
      linen::agent::Log(srv.error().msg());
      return 1;
    }
    http = std::move(*srv);
  }
  auto s = agent.Run(g_stop);
  if (!s) {
    linen::agent::Log(s.error().msg());
    return 1;
  }
  return 0;
}
