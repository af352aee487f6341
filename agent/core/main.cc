// pwire-agent: wiring only. Parses the configuration, starts logging, the event loop and the
// agent, and runs until SIGINT or SIGTERM.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>

#include "agent/core/config.h"
#include "agent/core/event_loop.h"
#include "agent/core/logging.h"
#include "agent/core/metrics.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  using namespace pwire::agent;
  auto cfg = ParseAgentConfig(argc, argv);
  if (!cfg.ok()) {
    if (absl::IsCancelled(cfg.status())) {
      std::fputs(std::string(cfg.status().message()).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "pwire-agent: %s\n", std::string(cfg.status().message()).c_str());
    return 2;
  }
  if (auto s = SetupLogging(cfg->log_level, cfg->log_format); !s.ok()) {
    std::fprintf(stderr, "pwire-agent: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  auto loop = EventLoop::Create();
  if (!loop.ok()) {
    spdlog::critical("event loop: {}", loop.status().ToString());
    return 1;
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  (void)(*loop)->AddFd(sfd, EPOLLIN, [&](uint32_t) {
    spdlog::info("signal received, stopping");
    (*loop)->Stop();
  });
  std::unique_ptr<MetricsServer> metrics;
  if (!cfg->metrics_listen.empty()) {
    auto m = MetricsServer::Start(**loop, cfg->metrics_listen,
                                  [] { return std::vector<MetricFamily>{}; });
    if (!m.ok()) {
      spdlog::critical("{}", m.status().ToString());
      return 1;
    }
    metrics = std::move(*m);
  }
  spdlog::info("pwire-agent starting agent_id={} server={} dataplane={}", cfg->agent_id,
               cfg->server, DataplaneModeName(cfg->dataplane));
  (*loop)->Run();
  metrics.reset();
  close(sfd);
  return 0;
}
