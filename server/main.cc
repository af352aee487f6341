// pwire-server: flags, logging and signals; everything else is in PwireServer.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "CLI/CLI.hpp"
#include "server/server.h"
#include "spdlog/spdlog.h"

namespace {

constexpr std::chrono::seconds kForceExitAfter{15};

}  // namespace

int main(int argc, char** argv) {
  pwire::server::ServerOptions options;
  std::string log_level = "info";
  int report_s = 10, stale_s = 30;
  CLI::App app{"pwire-server: the pwire management server (API, store, agent streams)"};
  app.add_option("--db", options.db_path, "SQLite database file")->capture_default_str();
  app.add_option("--listen", options.listen,
                 "unix:///PATH or HOST:PORT (TCP needs mutual TLS); repeatable")
      ->capture_default_str();
  app.add_option("--tls-cert", options.tls_cert, "server certificate (PEM) for TCP");
  app.add_option("--tls-key", options.tls_key, "server private key (PEM) for TCP");
  app.add_option("--tls-ca", options.tls_ca, "CA (PEM) that signs client and agent certificates");
  app.add_option("--report-interval", report_s, "seconds between agent counter reports")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--stale-after", stale_s, "seconds of agent silence before its status is stale")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));
  options.agents.report_interval = std::chrono::seconds(report_s);
  options.agents.stale_after = std::chrono::seconds(stale_s);

  // SIGINT/SIGTERM are blocked before any gRPC thread exists (threads inherit the mask), so
  // only sigwait below receives them; the main thread then shuts down in order.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto server = pwire::server::PwireServer::Start(options);
  if (!server.ok()) {
    spdlog::error("pwire-server: {}", std::string(server.status().message()));
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("pwire-server: signal {}, shutting down", sig);
  // A watchdog: a second signal, or a shutdown stuck past kForceExitAfter, exits at once.
  std::thread([set] {
    timespec timeout{kForceExitAfter.count(), 0};
    siginfo_t info;
    // EINTR is no timeout: LeakSanitizer's exit-time check interrupts this wait, and logging
    // then, while static destructors run, used the destroyed spdlog logger.
    int again = 0;
    do {
      again = sigtimedwait(&set, &info, &timeout);
    } while (again < 0 && errno == EINTR);
    spdlog::error("pwire-server: {}, exiting without a clean shutdown",
                  again > 0 ? "second signal" : "shutdown took too long");
    std::_Exit(1);
  }).detach();
  // Ends every call (open Watch and agent streams are cancelled after a grace period), then
  // the destructor stops the hubs and lets the store write what is queued and close.
  (*server)->Shutdown();
  server->reset();
  spdlog::info("pwire-server: stopped");
  return 0;
}
