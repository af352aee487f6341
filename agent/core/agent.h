// pwire::agent::Agent: the agent's state and behaviour on its event loop. It holds the
// desired snapshot (from the server, plus locally configured static pseudowires), observes
// the control plane and the data plane, runs the reconciler's plan and applies it (reporting
// what was really applied), acks or nacks each desired version, reports status changes to
// the server within a second and counters periodically, and exposes Prometheus metrics.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "agent/core/config.h"
#include "agent/core/control_plane.h"
#include "agent/core/desired.h"
#include "agent/core/dispatcher.h"
#include "agent/core/metrics.h"
#include "agent/core/reconciler.h"
#include "agent/dataplane/dataplane.h"
#include "pwire/v1/agent_service.pb.h"

namespace pwire::agent {

struct AppliedAction {
  Action action;
  absl::Status status;
};

class Agent {
 public:
  using Sender = std::function<bool(v1::AgentMessage)>;

  Agent(Dispatcher& loop, AgentConfig config, dataplane::Dataplane& dataplane,
        ControlPlane& control);
  ~Agent();

  // Loop thread. Converts the local pseudowires, reconciles once (adopting what the data
  // plane already holds) and starts the periodic reconcile.
  absl::Status Start();

  // Loop thread. The configuration file again (SIGHUP): its local_pseudowires and
  // external_peers replace the ones loaded; the difference is applied (new entries come up,
  // removed ones are closed: CDN, and StopCCN for a control connection left with nothing
  // desired; unchanged ones are left alone). Other fields need a restart. On an error
  // nothing changes.
  absl::Status Reload(const AgentConfig& config);
  // Loop thread. Stops for good (SIGTERM): no more reconciles; with stop_teardown, a StopCCN
  // (result 6, RFC 3931 §5.4.2) on every control connection (§7.2: on local termination the
  // originator MUST send one), then `done` once each is acknowledged or after `timeout`.
  // Without stop_teardown `done` runs at once. The data plane is left as it is: a static
  // tunnel stays for the next start to adopt; a managed one goes with its socket.
  void Stop(base::Duration timeout, std::function<void()> done);

  // Thread-safe: the Hello for the next dial.
  v1::Hello MakeHello() const;

  // Loop thread: the server connection's events (posted by main.cc).
  void SetSender(Sender sender) { sender_ = std::move(sender); }
  void OnWelcome(const v1::Welcome& welcome);
  void OnDesiredState(const v1::DesiredState& state);
  void OnDisconnected();

  // Loop thread. Plans and applies; plans again at once only while data plane actions fail
  // and others progress (a plan applied without a failure is complete: the next reconcile
  // verifies it). After a slice of time applying it yields and continues in the loop's next
  // round, so that sockets and timers are served between slices; returns what it applied.
  std::vector<AppliedAction> Reconcile();
  // Asks for a reconcile soon (coalesces many requests into one). Loop thread.
  void RequestReconcile();

  v1::StatusReport BuildStatusReport(bool full);
  v1::CountersReport BuildCountersReport();
  std::vector<MetricFamily> CollectMetrics() const;

  const DesiredSnapshot& desired() const { return desired_; }
  uint64_t applied_version() const { return applied_version_; }

 private:
  absl::Status Apply(const Action& action);
  // The control plane's SessionReadyHandler: programs a session (and its tunnel) the moment
  // its parameters are final, before the reply that lets the peer send data (RFC 3931 §7.3);
  // what fails is left to the next reconcile.
  void ProgramEarly(const std::string& pw);
  // Runs the next reconcile slice in the loop's next round (not spaced like RequestReconcile).
  void ContinueReconcile();
  // Drops the SCCRQs and ICRQs still backing off after a failure (ControlPlane::RetryAt)
  // and schedules a reconcile when the first may go.
  void HoldBackRetries(std::vector<Action>& plan);
  v1::EndpointStatus EndpointStatusFor(const DesiredPseudowire& pw) const;
  void ReportChanges();
  void ScheduleCounters();
  // desired_ = the server's snapshot plus the local pseudowires.
  void RebuildDesired(DesiredSnapshot from_server);
  bool Send(v1::AgentMessage msg);
  // Pseudowire name of each (tunnel id, local session id) this agent runs.
  std::map<std::pair<uint32_t, uint32_t>, std::string> SessionNames() const;

  // Work handed to the loop (posted tasks, timers, handlers the control plane and the data
  // plane call) holds this token weakly and does nothing once the Agent is gone: a timer or a
  // posted task may outlive it, and a data plane thread may call its handler at any time.
  Dispatcher::Task Guarded(Dispatcher::Task task) const {
    return Dispatcher::IfAlive(alive_, std::move(task));
  }
  std::shared_ptr<const int> alive_ = std::make_shared<const int>(0);

  Dispatcher& loop_;
  AgentConfig config_;
  dataplane::Dataplane& dp_;
  ControlPlane& cp_;
  Sender sender_;
  bool connected_ = false;
  bool have_server_state_ = false;

  std::map<std::string, DesiredPseudowire> local_;  // from the config file
  DesiredSnapshot desired_;                         // server's + local
  std::atomic<uint64_t> applied_version_{0};

  // What the agent keeps of each programmed session between reconciles, for status, counters
  // and metrics; the data plane holds the rest (a full SessionConfig is ~4 times as big).
  struct Programmed {
    uint32_t tunnel_id = 0;
    uint32_t local_session_id = 0;
    uint32_t peer_session_id = 0;
    uint8_t cookie_length = 0;
    uint8_t peer_cookie_length = 0;
    std::string ifname;  // at most 15 characters: no allocation
  };
  void KeepProgrammed(const dataplane::Snapshot& snap);
  const Programmed* FindProgrammed(uint32_t tunnel, uint32_t session) const;
  std::vector<Programmed> programmed_;  // by (tunnel_id, local_session_id)
  int static_tunnels_ = 0;
  std::set<uint32_t> dp_tunnels_;  // tunnels the data plane holds (last List, then applied)
  std::map<std::string, std::string> last_error_;  // per pseudowire, from the applier
  std::map<std::string, std::string> reported_;    // per pseudowire, last status sent
  bool reconcile_pending_ = false;
  bool continue_pending_ = false;
  uint64_t reconcile_slices_yielded_ = 0;
  base::Instant last_reconcile_{};
  base::Duration last_reconcile_took_{};
  bool report_pending_ = false;
  Dispatcher::TimerId periodic_ = 0;
  Dispatcher::TimerId counters_timer_ = 0;
  Dispatcher::TimerId retry_timer_ = 0;
  Dispatcher::TimerId stop_timer_ = 0;
  bool stopping_ = false;
  std::chrono::milliseconds report_interval_{10000};
  uint64_t actions_ok_ = 0;
  uint64_t actions_failed_ = 0;
  uint64_t desired_nacks_ = 0;
};

// The configuration file's pseudowires (local_pseudowires, external_peers) by name.
absl::StatusOr<std::map<std::string, DesiredPseudowire>> LocalPseudowires(
    const AgentConfig& config);
// A locally configured static pseudowire as the reconciler sees it.
absl::StatusOr<DesiredPseudowire> FromLocal(const LocalPseudowire& pw,
                                            const std::string& default_local);
// A locally configured external peer: a dynamic pseudowire (role, Remote End ID, expected
// Host Name, secret) whose tunnel key class is "local/external".
absl::StatusOr<DesiredPseudowire> FromExternal(const ExternalPeer& peer,
                                               const std::string& default_local);

}  // namespace pwire::agent
