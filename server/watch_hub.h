// Watch streams: each subscriber gets a snapshot of the current resources (ADDED events), a
// SYNC marker, then every change as the registry publishes it (gNMI-style). Streams use the
// gRPC callback API, so a thousand watchers cost memory, not threads.
#pragma once

#include <optional>
#include <set>

#include "absl/synchronization/mutex.h"
#include "pwire/v1/pwire_service.grpc.pb.h"
#include "server/registry.h"

namespace pwire::server {

class WatchStream;

class WatchHub final : public RegistryListener {
 public:
  explicit WatchHub(Registry* registry);
  ~WatchHub() override;

  // Starts a stream for one Watch call.
  grpc::ServerWriteReactor<pwire::v1::WatchEvent>* Start(grpc::CallbackServerContext* ctx,
                                                         const pwire::v1::WatchRequest& req);
  int watchers() const;
  // Ends every open stream, and each one started from now on, with `status` (shutdown).
  // Returns how many were open.
  int CloseAll(const grpc::Status& status);

  void OnEvents(const std::vector<pwire::v1::WatchEvent>& events) override;
  void OnAgentsAffected(const std::set<std::string>& agent_ids) override {}

 private:
  friend class WatchStream;
  void Remove(WatchStream* s);

  Registry* const registry_;
  mutable absl::Mutex mu_;
  std::set<WatchStream*> streams_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> closed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pwire::server
