// FallbackDataplane: what `auto` builds where the kernel has no L2TP. Each session goes to the
// first data plane that carries it (the eBPF one), and to the general one (userspace) when the
// first refuses it as UNIMPLEMENTED (IP encapsulation, data sequencing, other PW types). Every
// tunnel is made on the general one too, which reads managed tunnels' sockets and hands their
// control messages back (the first's data never reaches those sockets).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {

class FallbackDataplane final : public Dataplane {
 public:
  FallbackDataplane(std::unique_ptr<Dataplane> first, std::unique_ptr<Dataplane> general)
      : first_(std::move(first)), general_(std::move(general)) {}

  // The general one's, named "<first>+<general>".
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

  // Which data plane carries the session ("" when it is unknown).
  std::string CarrierOf(uint32_t tunnel_id, uint32_t session_id) const;

 private:
  using Key = std::pair<uint32_t, uint32_t>;
  Dataplane* Owner(const Key& key) const;

  std::unique_ptr<Dataplane> first_;
  std::unique_ptr<Dataplane> general_;
  mutable std::mutex mu_;
  std::set<uint32_t> first_tunnels_;    // tunnels the first data plane took
  std::map<Key, Dataplane*> sessions_;  // who carries each session
};

}  // namespace pwire::dataplane
