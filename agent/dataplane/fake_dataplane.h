// FakeDataplane: an in-memory Dataplane for unit tests of the layers above (the agent's
// reconciler). Same idempotency rules as the real ones; tests set counters, inject events and
// failures, and read back what was applied. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {

class FakeDataplane final : public Dataplane {
 public:
  // Default capabilities: every PW type, UDP and IP, IPv4 and IPv6, managed and static.
  FakeDataplane();
  explicit FakeDataplane(Capabilities caps) : caps_(std::move(caps)) {}

  Capabilities GetCapabilities() const override;
  absl::Status CreateTunnel(const TunnelConfig& config) override;
  absl::Status DeleteTunnel(uint32_t tunnel_id) override;
  absl::Status CreateSession(const SessionConfig& config) override;
  absl::Status DeleteSession(uint32_t tunnel_id, uint32_t session_id) override;
  absl::StatusOr<Snapshot> List() const override;
  absl::StatusOr<Stats> SessionStats(uint32_t tunnel_id, uint32_t session_id) const override;
  Stats GlobalStats() const override;
  void SetEventHandler(EventHandler handler) override;
  void SetControlPacketHandler(ControlPacketHandler handler) override;

  // --- test controls ---
  // The next mutating call (create or delete) fails with `status` instead of acting.
  void FailNextMutation(absl::Status status);
  void SetSessionStats(uint32_t tunnel_id, uint32_t session_id, const Stats& stats);
  void SetGlobalStats(const Stats& stats);
  // Delivers an event to the handler (synchronously, on the caller's thread).
  void InjectEvent(const Event& event);
  void InjectControlPacket(uint32_t tunnel_id, std::vector<uint8_t> packet);
  // Simulates someone else removing a session behind our back (no event is sent).
  void RemoveBehindBack(uint32_t tunnel_id, uint32_t session_id);
  // Number of create/delete calls that changed state (idempotent no-ops not counted).
  int mutations() const;

 private:
  using Key = std::pair<uint32_t, uint32_t>;
  absl::Status TakeFailure();

  Capabilities caps_;
  mutable std::mutex mu_;
  std::map<uint32_t, TunnelConfig> tunnels_;
  std::map<Key, SessionConfig> sessions_;
  std::map<Key, Stats> stats_;
  Stats global_;
  std::optional<absl::Status> fail_next_;
  int mutations_ = 0;
  EventHandler event_handler_;
  ControlPacketHandler control_handler_;
};

}  // namespace pwire::dataplane
