// Registry: the server's state and the rules on it. Holds classes, pseudowires and agents in
// memory (loaded from the Store at start), validates and applies every write, appends it to
// the store and answers only once it is durable (group commit keeps that fast), then tells
// listeners (Watch streams, agent streams) in revision order. Agent status lives here too,
// in memory only. Thread-safe: one mutex, short critical sections, no I/O under it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "pwire/v1/agent_service.pb.h"
#include "pwire/v1/pwire_service.pb.h"
#include "server/allocation.h"
#include "server/store.h"
#include "server/validation.h"

namespace pwire::server {

// Told about every change, after it is durable, on the store's thread, in order.
class RegistryListener {
 public:
  virtual ~RegistryListener() = default;
  virtual void OnEvents(const std::vector<pwire::v1::WatchEvent>& events) = 0;
  // Agents whose desired state may have changed.
  virtual void OnAgentsAffected(const std::set<std::string>& agent_ids) = 0;
};

template <typename T>
using Reply = std::function<void(absl::StatusOr<T>)>;

class Registry final : public ReferenceLookup {
 public:
  explicit Registry(Store* store);
  ~Registry() override;

  // Loads everything from the store; bumps the durable epoch (for desired state versions).
  absl::Status Load();
  void AddListener(RegistryListener* listener);
  void RemoveListener(RegistryListener* listener);

  // --- Pseudowires (registry_pw.cc) ---
  absl::StatusOr<pwire::v1::Pseudowire> GetPseudowire(const std::string& name) const;
  absl::StatusOr<pwire::v1::ListPseudowiresResponse> ListPseudowires(
      const pwire::v1::ListPseudowiresRequest& req) const;
  void CreatePseudowire(const pwire::v1::CreatePseudowireRequest& req,
                        Reply<pwire::v1::Pseudowire> reply);
  void UpdatePseudowire(const pwire::v1::UpdatePseudowireRequest& req,
                        Reply<pwire::v1::Pseudowire> reply);
  void DeletePseudowire(const pwire::v1::DeletePseudowireRequest& req, Reply<bool> reply);
  void Apply(const pwire::v1::ApplyRequest& req, Reply<pwire::v1::ApplyResponse> reply);

  // --- Classes (registry_class.cc) ---
  absl::StatusOr<pwire::v1::PseudowireClass> GetClass(const std::string& name) const;
  absl::StatusOr<pwire::v1::ListPseudowireClassesResponse> ListClasses(
      const pwire::v1::ListPseudowireClassesRequest& req) const;
  void CreateClass(const pwire::v1::CreatePseudowireClassRequest& req,
                   Reply<pwire::v1::PseudowireClass> reply);
  void UpdateClass(const pwire::v1::UpdatePseudowireClassRequest& req,
                   Reply<pwire::v1::PseudowireClass> reply);
  void DeleteClass(const pwire::v1::DeletePseudowireClassRequest& req, Reply<bool> reply);

  // --- Agents, status, desired state (registry_agent.cc) ---
  absl::StatusOr<pwire::v1::Agent> GetAgent(const std::string& name) const;
  absl::StatusOr<pwire::v1::ListAgentsResponse> ListAgents(
      const pwire::v1::ListAgentsRequest& req) const;
  void DeleteAgent(const pwire::v1::DeleteAgentRequest& req, Reply<bool> reply);
  // A stream said Hello: registers or refreshes the agent durably, marks it connected.
  void AgentConnected(const pwire::v1::Hello& hello, const std::string& peer,
                      Reply<pwire::v1::Agent> reply);
  void AgentDisconnected(const std::string& agent_id);
  // The stream sent `desired_version` whose content (deterministic bytes, version unset) is
  // `content`; kept so that a reconnecting agent that applied it is not sent it again.
  void AgentSent(const std::string& agent_id, uint64_t desired_version, std::string content);
  // The content last sent to agent_id if that was `version`, else nullopt.
  std::optional<std::string> SentContent(const std::string& agent_id, uint64_t version) const;
  void AgentAcked(const std::string& agent_id, uint64_t version);
  void AgentNacked(const std::string& agent_id, const pwire::v1::Nack& nack);
  void AgentStatus(const std::string& agent_id, const pwire::v1::StatusReport& report);
  void AgentCounters(const std::string& agent_id, const pwire::v1::CountersReport& report);
  // Marks connected agents silent since before `deadline` (and their status) stale.
  void MarkSilentAgentsStale(google::protobuf::Timestamp deadline);
  // Everything agent_id must run, without a version (the caller versions what it sends).
  pwire::v1::DesiredState BuildDesiredState(const std::string& agent_id) const;
  // A fresh desired state version: (epoch << 32) + counter, never reused across restarts.
  uint64_t NextDesiredVersion();

  // --- Watch and status ---
  // The current resources of the requested kinds as ADDED events, and the revision they
  // reflect; listeners added before this call see every later change.
  std::vector<pwire::v1::WatchEvent> Snapshot(const pwire::v1::WatchRequest& req,
                                              int64_t* revision) const;
  pwire::v1::ServerStatus GetServerStatus() const;
  int64_t revision() const;

  // --- ReferenceLookup (callers hold mu_) ---
  const pwire::v1::PseudowireClass* FindClass(absl::string_view id) const override;
  const pwire::v1::Agent* FindAgent(absl::string_view id) const override;

 private:
  friend class RegistryTxn;
  struct Undo {
    RecordKind kind;
    std::string id;
    std::optional<std::string> old;  // serialized previous value
  };
  struct Txn {
    std::vector<Undo> undo;
    std::vector<Mutation> mutations;
    std::vector<pwire::v1::WatchEvent> events;
    std::set<std::string> agents;
    int64_t revision_before = 0;
  };
  struct AgentRuntime {
    pwire::v1::Agent::ConnectionState state = pwire::v1::Agent::NEVER_CONNECTED;
    google::protobuf::Timestamp last_seen, connect_time;
    std::string peer, last_nack;
    uint64_t desired_version = 0, acked_version = 0;
    std::string desired_content;  // of desired_version, see AgentSent
    bool stale = false;
    std::vector<pwire::v1::ControlConnectionStatus> control_connections;
  };
  using EndpointStatuses = std::array<std::optional<pwire::v1::EndpointStatus>, 2>;

  // Transactions (registry.cc).
  void BeginLocked(Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RollbackLocked(Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes txn durable; `then` runs after, on the store's thread, before the listeners.
  void SubmitLocked(Txn txn, const std::function<void()>& then) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PutPseudowireLocked(Txn& txn, pwire::v1::Pseudowire pw, pwire::v1::WatchEvent::Type type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ErasePseudowireLocked(Txn& txn, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PutClassLocked(Txn& txn, pwire::v1::PseudowireClass c, pwire::v1::WatchEvent::Type type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseClassLocked(Txn& txn, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PutAgentLocked(Txn& txn, pwire::v1::Agent a, pwire::v1::WatchEvent::Type type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseAgentLocked(Txn& txn, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void IndexPseudowireLocked(const pwire::v1::Pseudowire& pw, bool add)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(const std::vector<pwire::v1::WatchEvent>& events,
               const std::set<std::string>& agents);
  std::string NewEtag(int64_t generation) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Pseudowires (registry_pw.cc).
  absl::StatusOr<pwire::v1::ResourceChange> UpsertPseudowireLocked(
      Txn& txn, pwire::v1::Pseudowire in, bool must_create, bool must_exist,
      const google::protobuf::FieldMask* mask) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckConflictsLocked(const pwire::v1::Pseudowire& pw) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  pwire::v1::Pseudowire ViewLocked(const pwire::v1::Pseudowire& pw) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  pwire::v1::PseudowireStatus::State StateLocked(const pwire::v1::Pseudowire& pw) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AffectedByPseudowireLocked(const pwire::v1::Pseudowire& pw, std::set<std::string>& out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Classes (registry_class.cc).
  absl::StatusOr<pwire::v1::ResourceChange> UpsertClassLocked(
      Txn& txn, pwire::v1::PseudowireClass in, bool must_create, bool must_exist,
      const google::protobuf::FieldMask* mask) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReallocateClassUsersLocked(Txn& txn, const std::string& class_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Agents (registry_agent.cc).
  pwire::v1::Agent AgentViewLocked(const pwire::v1::Agent& a) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  pwire::v1::WatchEvent AgentEventLocked(const std::string& id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishStatusLocked(const std::set<std::string>& pw_ids,
                           std::vector<pwire::v1::WatchEvent>& out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string PickAddressLocked(const pwire::v1::AgentEndpoint& e, int family) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  mutable absl::Mutex mu_;
  std::map<std::string, pwire::v1::PseudowireClass> classes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, pwire::v1::Pseudowire> pseudowires_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, pwire::v1::Agent> agents_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, AgentRuntime> runtime_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, EndpointStatuses> status_ ABSL_GUARDED_BY(mu_);
  // Indexes.
  std::map<std::string, std::map<std::string, std::string>> circuits_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> pw_interfaces_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> agent_pws_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> class_users_ ABSL_GUARDED_BY(mu_);
  StaticIndex static_index_ ABSL_GUARDED_BY(mu_);
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t version_counter_ ABSL_GUARDED_BY(mu_) = 0;
  std::string secret_ ABSL_GUARDED_BY(mu_);
  google::protobuf::Timestamp start_time_;

  mutable absl::Mutex listeners_mu_;
  std::vector<RegistryListener*> listeners_ ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace pwire::server
