// FakeDataplane: see fake_dataplane.h.
#include "agent/dataplane/fake_dataplane.h"

#include "absl/strings/str_cat.h"

namespace pwire::dataplane {

FakeDataplane::FakeDataplane() {
  caps_.name = "fake";
  caps_.pw_types = {
      PwType::kFrameRelayDlci, PwType::kAtmAal5SduVcc, PwType::kAtmCellPort, PwType::kEthernetVlan,
      PwType::kEthernet,       PwType::kHdlc,          PwType::kPpp,         PwType::kAtmCellVcc,
      PwType::kAtmCellVpc};
  caps_.encap_udp = caps_.encap_ip = caps_.ipv6 = true;
  caps_.managed_tunnels = caps_.static_tunnels = true;
  caps_.asymmetric_sublayer = true;
}

Capabilities FakeDataplane::GetCapabilities() const { return caps_; }

absl::Status FakeDataplane::TakeFailure() {
  if (!fail_next_) {
    return absl::OkStatus();
  }
  absl::Status s = *fail_next_;
  fail_next_.reset();
  return s;
}

absl::Status FakeDataplane::CreateTunnel(const TunnelConfig& config) {
  std::lock_guard lock(mu_);
  if (absl::Status s = TakeFailure(); !s.ok()) {
    return s;
  }
  if (config.local.family != config.peer.family || config.local.empty()) {
    return absl::InvalidArgumentError("tunnel local and peer addresses must be of one family");
  }
  if (config.mode == TunnelMode::kManaged && config.fd < 0) {
    return absl::InvalidArgumentError("a managed tunnel needs the agent's socket (fd)");
  }
  auto it = tunnels_.find(config.local_tunnel_id);
  if (it != tunnels_.end()) {
    if (it->second.SameAs(config)) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("tunnel ", config.local_tunnel_id,
                     " exists with other parameters: ", it->second.DebugString()));
  }
  tunnels_.emplace(config.local_tunnel_id, config);
  ++mutations_;
  return absl::OkStatus();
}

absl::Status FakeDataplane::DeleteTunnel(uint32_t tunnel_id) {
  std::lock_guard lock(mu_);
  if (absl::Status s = TakeFailure(); !s.ok()) {
    return s;
  }
  if (tunnels_.erase(tunnel_id) == 0) {
    return absl::OkStatus();
  }
  std::erase_if(sessions_, [&](const auto& kv) { return kv.first.first == tunnel_id; });
  std::erase_if(stats_, [&](const auto& kv) { return kv.first.first == tunnel_id; });
  ++mutations_;
  return absl::OkStatus();
}

absl::Status FakeDataplane::CreateSession(const SessionConfig& config) {
  std::lock_guard lock(mu_);
  if (absl::Status s = TakeFailure(); !s.ok()) {
    return s;
  }
  if (!tunnels_.contains(config.tunnel_id)) {
    return absl::NotFoundError(absl::StrCat("no tunnel ", config.tunnel_id));
  }
  if (!caps_.Supports(config.pw_type)) {
    return absl::UnimplementedError(absl::StrCat("pseudowire type ",
                                                 static_cast<unsigned>(config.pw_type),
                                                 " not supported by ", caps_.name));
  }
  if (absl::Status s = CheckSublayers(config, caps_); !s.ok()) {
    return s;
  }
  for (const auto* c : {&config.cookie, &config.peer_cookie}) {
    if (c->size() != 0 && c->size() != 4 && c->size() != 8) {
      return absl::InvalidArgumentError("cookies are 0, 4 or 8 bytes (RFC 3931 §4.1)");
    }
  }
  Key key{config.tunnel_id, config.local_session_id};
  auto it = sessions_.find(key);
  if (it != sessions_.end()) {
    if (it->second.SameAs(config)) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("session exists with other parameters: ", it->second.DebugString()));
  }
  SessionConfig stored = config;
  if (stored.ifname.empty()) {
    stored.ifname = absl::StrCat(DataplaneOptions{}.ifname_prefix, config.local_session_id);
  }
  sessions_.emplace(key, stored);
  ++mutations_;
  return absl::OkStatus();
}

absl::Status FakeDataplane::DeleteSession(uint32_t tunnel_id, uint32_t session_id) {
  std::lock_guard lock(mu_);
  if (absl::Status s = TakeFailure(); !s.ok()) {
    return s;
  }
  if (sessions_.erase({tunnel_id, session_id}) == 0) {
    return absl::OkStatus();
  }
  stats_.erase({tunnel_id, session_id});
  ++mutations_;
  return absl::OkStatus();
}

absl::StatusOr<Snapshot> FakeDataplane::List() const {
  std::lock_guard lock(mu_);
  Snapshot snap;
  for (const auto& [id, t] : tunnels_) {
    snap.tunnels.push_back(t);
  }
  for (const auto& [key, s] : sessions_) {
    snap.sessions.push_back(s);
  }
  return snap;
}

absl::StatusOr<Stats> FakeDataplane::SessionStats(uint32_t tunnel_id, uint32_t session_id) const {
  std::lock_guard lock(mu_);
  if (!sessions_.contains({tunnel_id, session_id})) {
    return absl::NotFoundError(absl::StrCat("no session ", tunnel_id, "/", session_id));
  }
  auto it = stats_.find({tunnel_id, session_id});
  return it == stats_.end() ? Stats{} : it->second;
}

Stats FakeDataplane::GlobalStats() const {
  std::lock_guard lock(mu_);
  return global_;
}

void FakeDataplane::SetEventHandler(EventHandler handler) {
  std::lock_guard lock(mu_);
  event_handler_ = std::move(handler);
}

void FakeDataplane::SetControlPacketHandler(ControlPacketHandler handler) {
  std::lock_guard lock(mu_);
  control_handler_ = std::move(handler);
}

void FakeDataplane::FailNextMutation(absl::Status status) {
  std::lock_guard lock(mu_);
  fail_next_ = std::move(status);
}

void FakeDataplane::SetSessionStats(uint32_t tunnel_id, uint32_t session_id, const Stats& stats) {
  std::lock_guard lock(mu_);
  stats_[{tunnel_id, session_id}] = stats;
}

void FakeDataplane::SetGlobalStats(const Stats& stats) {
  std::lock_guard lock(mu_);
  global_ = stats;
}

void FakeDataplane::InjectEvent(const Event& event) {
  EventHandler h;
  {
    std::lock_guard lock(mu_);
    h = event_handler_;
  }
  if (h) {
    h(event);
  }
}

void FakeDataplane::InjectControlPacket(uint32_t tunnel_id, std::vector<uint8_t> packet) {
  ControlPacketHandler h;
  {
    std::lock_guard lock(mu_);
    h = control_handler_;
  }
  if (h) {
    h(tunnel_id, std::move(packet));
  }
}

void FakeDataplane::RemoveBehindBack(uint32_t tunnel_id, uint32_t session_id) {
  std::lock_guard lock(mu_);
  sessions_.erase({tunnel_id, session_id});
  stats_.erase({tunnel_id, session_id});
}

int FakeDataplane::mutations() const {
  std::lock_guard lock(mu_);
  return mutations_;
}

}  // namespace pwire::dataplane
