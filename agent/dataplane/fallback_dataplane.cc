// Sessions to the first data plane that carries them: see fallback_dataplane.h.
#include "agent/dataplane/fallback_dataplane.h"

#include "absl/strings/str_cat.h"

namespace pwire::dataplane {

Capabilities FallbackDataplane::GetCapabilities() const {
  Capabilities c = general_->GetCapabilities();
  c.name = absl::StrCat(first_->GetCapabilities().name, "+", c.name);
  return c;
}

absl::Status FallbackDataplane::CreateTunnel(const TunnelConfig& config) {
  if (absl::Status s = general_->CreateTunnel(config); !s.ok()) {
    return s;
  }
  std::lock_guard lock(mu_);
  // A tunnel the first cannot take (IP encapsulation, no interface with its local address)
  // leaves all its sessions to the general one.
  if (first_->CreateTunnel(config).ok()) {
    first_tunnels_.insert(config.local_tunnel_id);
  }
  return absl::OkStatus();
}

absl::Status FallbackDataplane::DeleteTunnel(uint32_t tunnel_id) {
  std::lock_guard lock(mu_);
  (void)first_->DeleteTunnel(tunnel_id);
  first_tunnels_.erase(tunnel_id);
  std::erase_if(sessions_, [&](const auto& kv) { return kv.first.first == tunnel_id; });
  return general_->DeleteTunnel(tunnel_id);
}

Dataplane* FallbackDataplane::Owner(const Key& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second;
}

absl::Status FallbackDataplane::CreateSession(const SessionConfig& config) {
  std::lock_guard lock(mu_);
  Key key{config.tunnel_id, config.local_session_id};
  if (Dataplane* owner = Owner(key); owner != nullptr) {
    return owner->CreateSession(config);  // idempotent, or FAILED_PRECONDITION
  }
  Dataplane* target = general_.get();
  if (first_tunnels_.count(config.tunnel_id) != 0) {
    absl::Status s = first_->CreateSession(config);
    if (s.ok()) {
      sessions_[key] = first_.get();
      return s;
    }
    if (!absl::IsUnimplemented(s)) {
      return s;
    }
  }
  absl::Status s = target->CreateSession(config);
  if (s.ok()) {
    sessions_[key] = target;
  }
  return s;
}

absl::Status FallbackDataplane::DeleteSession(uint32_t tunnel_id, uint32_t session_id) {
  std::lock_guard lock(mu_);
  Key key{tunnel_id, session_id};
  Dataplane* owner = Owner(key);
  sessions_.erase(key);
  if (owner != nullptr) {
    return owner->DeleteSession(tunnel_id, session_id);
  }
  (void)first_->DeleteSession(tunnel_id, session_id);
  return general_->DeleteSession(tunnel_id, session_id);
}

absl::StatusOr<Snapshot> FallbackDataplane::List() const {
  auto snap = general_->List();
  if (!snap.ok()) {
    return snap;
  }
  auto first = first_->List();
  if (!first.ok()) {
    return first.status();
  }
  for (SessionConfig& s : first->sessions) {
    snap->sessions.push_back(std::move(s));
  }
  return snap;
}

absl::StatusOr<Stats> FallbackDataplane::SessionStats(uint32_t tunnel_id,
                                                      uint32_t session_id) const {
  std::lock_guard lock(mu_);
  Dataplane* owner = Owner({tunnel_id, session_id});
  if (owner == nullptr) {
    return absl::NotFoundError(absl::StrCat("no session ", tunnel_id, "/", session_id));
  }
  return owner->SessionStats(tunnel_id, session_id);
}

// The general one's alone: traffic of no session passes the first data plane to the stack,
// where the general one's socket of the same tunnel counts it again.
Stats FallbackDataplane::GlobalStats() const { return general_->GlobalStats(); }

void FallbackDataplane::SetEventHandler(EventHandler handler) {
  first_->SetEventHandler(handler);
  general_->SetEventHandler(std::move(handler));
}

void FallbackDataplane::SetControlPacketHandler(ControlPacketHandler handler) {
  first_->SetControlPacketHandler(handler);
  general_->SetControlPacketHandler(std::move(handler));
}

std::string FallbackDataplane::CarrierOf(uint32_t tunnel_id, uint32_t session_id) const {
  std::lock_guard lock(mu_);
  Dataplane* owner = Owner({tunnel_id, session_id});
  return owner == nullptr ? "" : owner->GetCapabilities().name;
}

}  // namespace pwire::dataplane
