// PwireServer: everything pwire-server runs, assembled: the store, the registry, the agent
// and watch hubs, and a gRPC server (PwireService, AgentService, health, reflection) on a
// unix socket and optionally TCP with mutual TLS. Tests start one in-process.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/agent_hub.h"
#include "server/pwire_service.h"
#include "server/registry.h"
#include "server/store.h"
#include "server/watch_hub.h"

namespace pwire::server {

inline constexpr char kDefaultListen[] = "unix:///run/pwire/pwire.sock";
inline constexpr char kDefaultDb[] = "/var/lib/pwire/pwire.db";

inline constexpr std::chrono::seconds kShutdownGrace{2};

struct ServerOptions {
  std::string db_path = kDefaultDb;  // "" with `store` set: use that store
  // "unix:///path" or "host:port" (TCP: needs the three TLS files; mutual TLS).
  std::vector<std::string> listen = {kDefaultListen};
  std::string tls_cert, tls_key, tls_ca;
  AgentHubOptions agents;
};

class PwireServer {
 public:
  // Opens the store (SQLite at db_path unless `store` is given), loads, listens.
  static absl::StatusOr<std::unique_ptr<PwireServer>> Start(ServerOptions options,
                                                            std::unique_ptr<Store> store = nullptr);
  ~PwireServer();

  // Blocks until Shutdown has run (from another thread).
  void Wait();
  // Stops serving: open Watch and agent streams end at once with UNAVAILABLE "server shutting
  // down", other calls get kShutdownGrace, then are cancelled; the store's queue is flushed.
  // Idempotent. The destructor calls it.
  void Shutdown();
  // Port bound for a "host:0" TCP listen address (first TCP one), else 0.
  int tcp_port() const { return tcp_port_; }
  Registry* registry() { return registry_.get(); }
  // An in-process channel, for tests.
  std::shared_ptr<grpc::Channel> InProcessChannel();

 private:
  PwireServer() = default;

  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<WatchHub> watch_;
  std::unique_ptr<AgentHub> agents_;
  std::unique_ptr<PwireServiceImpl> pwire_service_;
  std::unique_ptr<AgentServiceImpl> agent_service_;
  std::unique_ptr<grpc::Server> server_;
  int tcp_port_ = 0;
};

}  // namespace pwire::server
