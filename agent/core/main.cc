// pwire-agent: wiring only. Parses the configuration, starts logging, the data plane, the
// control plane, the agent on its event loop, the metrics endpoint and the server connection,
// then runs until SIGINT or SIGTERM (the agent stops: StopCCNs, bounded wait; a second one
// exits at once). SIGHUP reads the configuration file again (Agent::Reload).
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "agent/core/agent.h"
#include "agent/core/config.h"
#include "agent/core/control_plane.h"
#include "agent/core/event_loop.h"
#include "agent/core/logging.h"
#include "agent/core/metrics.h"
#include "agent/core/server_connection.h"
#include "agent/core/systemd.h"
#include "agent/dataplane/fake_dataplane.h"
#include "spdlog/spdlog.h"

namespace pwire::agent {
namespace {

absl::StatusOr<std::unique_ptr<dataplane::Dataplane>> MakeDataplane(DataplaneMode mode) {
  if (mode == DataplaneMode::kFake) return std::make_unique<dataplane::FakeDataplane>();
  auto kind = dataplane::ParseDataplaneKind(DataplaneModeName(mode));
  if (!kind.ok()) return kind.status();
  return dataplane::CreateDataplane(*kind, dataplane::DataplaneOptions{});
}

int Fail(const absl::Status& s) {
  spdlog::critical("{}", s.ToString());
  return 1;
}

// SIGHUP: the file again (flags still win); a configuration that does not parse is refused
// and the running one kept.
void OnReload(Agent& agent, int argc, const char* const* argv) {
  auto cfg = ParseAgentConfig(argc, argv);
  absl::Status s = cfg.ok() ? agent.Reload(*cfg) : cfg.status();
  if (!s.ok()) spdlog::error("SIGHUP: configuration not reloaded: {}", s.ToString());
}

int Run(const AgentConfig& cfg, int argc, const char* const* argv) {
  auto loop = EventLoop::Create();
  if (!loop.ok()) return Fail(loop.status());
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  std::function<void(int)> on_signal;
  (void)(*loop)->AddFd(sfd, EPOLLIN, [&](uint32_t) {
    signalfd_siginfo si{};
    while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (on_signal) {
        on_signal(static_cast<int>(si.ssi_signo));
      } else if (si.ssi_signo != SIGHUP) {
        (*loop)->Stop();  // not started yet: nothing to tear down
      }
    }
  });

  auto dp = MakeDataplane(cfg.dataplane);
  if (!dp.ok()) return Fail(dp.status());
  spdlog::info("dataplane: {}", (*dp)->GetCapabilities().name);
  auto cp = MakeControlPlane(**loop, cfg, **dp);
  if (!cp.ok()) return Fail(cp.status());
  Agent agent(**loop, cfg, **dp, **cp);
  if (auto s = agent.Start(); !s.ok()) return Fail(s);
  bool stopping = false;
  on_signal = [&](int signo) {
    if (signo == SIGHUP) {
      spdlog::info("SIGHUP: reloading {}", cfg.config_file.empty() ? "(no file)" : cfg.config_file);
      OnReload(agent, argc, argv);
      return;
    }
    if (stopping) {
      spdlog::info("signal {} again: exiting now", signo);
      (*loop)->Stop();
      return;
    }
    stopping = true;
    spdlog::info("signal {} received, stopping", signo);
    NotifyStopping();
    agent.Stop(std::chrono::milliseconds(cfg.stop_timeout_ms), [&] { (*loop)->Stop(); });
  };

  std::unique_ptr<MetricsServer> metrics;
  if (!cfg.metrics_listen.empty()) {
    auto m =
        MetricsServer::Start(**loop, cfg.metrics_listen, [&] { return agent.CollectMetrics(); });
    if (!m.ok()) return Fail(m.status());
    metrics = std::move(*m);
    spdlog::info("metrics on http://{}/metrics", cfg.metrics_listen);
  }

  EventLoop* l = loop->get();
  ServerConnection conn(
      {cfg.server, cfg.tls_ca, cfg.tls_cert, cfg.tls_key},
      {.make_hello = [&] { return agent.MakeHello(); },
       .on_welcome = [&, l](const v1::Welcome& w) { l->Post([&, w] { agent.OnWelcome(w); }); },
       .on_desired_state =
           [&, l](const v1::DesiredState& d) { l->Post([&, d] { agent.OnDesiredState(d); }); },
       .on_disconnected = [&,
                           l](const absl::Status&) { l->Post([&] { agent.OnDisconnected(); }); }},
      std::make_unique<base::SystemRandom>());
  agent.SetSender([&](v1::AgentMessage m) { return conn.Send(std::move(m)); });
  if (cfg.server != "none") {
    if (auto s = conn.Start(); !s.ok()) return Fail(s);
  }
  spdlog::info("pwire-agent running agent_id={} server={} underlay={}", cfg.agent_id, cfg.server,
               cfg.underlay.front());
  NotifyReady();
  (*loop)->Run();
  if (!stopping) NotifyStopping();
  conn.Stop();
  metrics.reset();
  close(sfd);
  return 0;
}

}  // namespace
}  // namespace pwire::agent

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
  return Run(*cfg, argc, argv);
}
