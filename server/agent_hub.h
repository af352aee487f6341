// Agent streams (AgentService.Connect): one bidirectional callback-API stream per agent, no
// thread per stream. On Hello the agent is registered durably and gets a Welcome and its
// desired state; after every relevant change it gets a new version (only if the content
// changed). Acks, nacks, status and counters go to the registry. A ticker marks the status
// of agents that went silent stale.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "pwire/v1/agent_service.grpc.pb.h"
#include "server/registry.h"

namespace pwire::server {

class AgentStream;

struct AgentHubOptions {
  std::chrono::milliseconds report_interval{10000};
  std::chrono::milliseconds stale_after{30000};
  // Under mutual TLS, the Hello's agent_id must equal the client certificate's CN.
  bool require_cert_identity = true;
};

class AgentHub final : public RegistryListener {
 public:
  AgentHub(Registry* registry, AgentHubOptions options);
  ~AgentHub() override;

  grpc::ServerBidiReactor<pwire::v1::AgentMessage, pwire::v1::ServerMessage>* Start(
      grpc::CallbackServerContext* ctx);
  int connected() const;
  // Ends every agent's stream, and each one that registers from now on, with `status`
  // (shutdown). Agents reconnect by themselves. Returns how many were open.
  int CloseAll(const grpc::Status& status);

  void OnEvents(const std::vector<pwire::v1::WatchEvent>& events) override {}
  void OnAgentsAffected(const std::set<std::string>& agent_ids) override;

 private:
  friend class AgentStream;
  // Makes `s` the stream of `agent_id`; an older stream of the same agent is ended.
  void Attach(const std::string& agent_id, AgentStream* s);
  // True if `s` was the agent's current stream.
  bool Detach(const std::string& agent_id, AgentStream* s);
  void Tick();

  Registry* const registry_;
  const AgentHubOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, AgentStream*> streams_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> closed_ ABSL_GUARDED_BY(mu_);

  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace pwire::server
