// The pure plan function. See reconciler.h.
#include "agent/core/reconciler.h"

#include <functional>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace pwire::agent {
namespace {

using SessionKey = std::pair<uint32_t, uint32_t>;

struct Wanted {
  std::map<uint32_t, dataplane::TunnelConfig> tunnels;
  std::map<SessionKey, std::pair<std::string, dataplane::SessionConfig>> sessions;
};

// Finds the observed tunnel an initiator would use for `key` (not one being closed).
const ObservedTunnel* FindTunnel(const ObservedView& obs, const TunnelKey& key) {
  for (const auto& [id, t] : obs.tunnels) {
    if (t.key == key && t.state != LinkState::kClosing) return &t;
  }
  return nullptr;
}

void PlanDynamic(const DesiredPseudowire& pw, const ObservedView& obs, Wanted& wanted,
                 std::set<TunnelKey>& opening, std::vector<Action>& opens) {
  auto s = obs.sessions.find(pw.name);
  if (s != obs.sessions.end() && SessionCompatible(s->second.opened_with, pw)) {
    if (s->second.state != LinkState::kEstablished) return;
    auto t = obs.tunnels.find(s->second.tunnel_id);
    if (t == obs.tunnels.end()) return;
    wanted.sessions[{t->first, s->second.local_session_id}] = {pw.name,
                                                               SessionConfigFor(pw, s->second)};
    return;
  }
  if (s != obs.sessions.end()) return;        // Incompatible: closed below, reopened next round.
  if (pw.role != PwRole::kInitiator) return;  // The peer opens; we accept (agent.cc).
  const ObservedTunnel* t = FindTunnel(obs, pw.tunnel);
  if (t == nullptr) {
    if (opening.insert(pw.tunnel).second) opens.push_back(action::OpenTunnel{pw.tunnel, pw.name});
    return;
  }
  // The engine holds an ICRQ until its control connection is established (RFC 3931 §7.3).
  opens.push_back(action::OpenSession{pw.name, t->local_id});
}

// CDN for sessions no longer desired, or needing renegotiation.
std::vector<Action> PlanCdns(const DesiredSnapshot& desired, const ObservedView& obs) {
  std::vector<Action> out;
  for (const auto& [name, s] : obs.sessions) {
    auto d = desired.pseudowires.find(name);
    bool keep = d != desired.pseudowires.end() && !d->second.is_static &&
                SessionCompatible(s.opened_with, d->second);
    if (!keep && s.state != LinkState::kClosing) out.push_back(action::CloseSession{name});
  }
  return out;
}

// StopCCN for control connections with no session that stays and no desired use.
std::vector<Action> PlanStopCcns(const DesiredSnapshot& desired, const ObservedView& obs) {
  std::map<uint32_t, int> live;  // per tunnel, sessions that stay
  for (const auto& [name, s] : obs.sessions) {
    auto d = desired.pseudowires.find(name);
    if (d != desired.pseudowires.end() && !d->second.is_static &&
        SessionCompatible(s.opened_with, d->second)) {
      ++live[s.tunnel_id];
    }
  }
  std::vector<Action> out;
  for (const auto& [id, t] : obs.tunnels) {
    if (t.state == LinkState::kClosing || live.count(id)) continue;
    bool needed = false;
    for (const auto& [name, pw] : desired.pseudowires) {
      if (pw.is_static) continue;
      if (!t.peer_initiated && pw.tunnel == t.key) needed = true;
      // A peer's tunnel stays while a desired pseudowire could still be opened on it.
      if (t.peer_initiated && pw.role == PwRole::kResponder && pw.tunnel.peer == t.key.peer &&
          pw.tunnel.local == t.key.local && pw.tunnel.encap == t.key.encap) {
        needed = true;
      }
    }
    if (!needed) out.push_back(action::CloseTunnel{id});
  }
  return out;
}

// Data plane objects that should not exist, or differ: sessions first, then tunnels.
void PlanDataplaneRemovals(const Wanted& wanted, const ObservedView& obs, std::vector<Action>& plan,
                           std::set<SessionKey>& present, std::set<uint32_t>& tunnels_present) {
  for (const auto& s : obs.dataplane.sessions) {
    SessionKey k{s.tunnel_id, s.local_session_id};
    auto w = wanted.sessions.find(k);
    if (w != wanted.sessions.end() && w->second.second.SameAs(s)) {
      present.insert(k);
    } else {
      plan.push_back(action::RemoveSession{k.first, k.second});
    }
  }
  for (const auto& t : obs.dataplane.tunnels) {
    auto w = wanted.tunnels.find(t.local_tunnel_id);
    if (w != wanted.tunnels.end() && w->second.SameAs(t)) {
      tunnels_present.insert(t.local_tunnel_id);
      continue;
    }
    plan.push_back(action::RemoveTunnel{t.local_tunnel_id});
    // Deleting a tunnel deletes its sessions: the wanted ones are programmed again.
    for (auto it = present.begin(); it != present.end();) {
      it = it->first == t.local_tunnel_id ? present.erase(it) : std::next(it);
    }
  }
}

}  // namespace

SessionShape::SessionShape(const DesiredPseudowire& pw) {
  // Combines field hashes (no allocation: Plan computes this per pseudowire and round).
  uint64_t h = 0;
  auto mix = [&h](uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  auto str = [&mix](std::string_view v) { mix(std::hash<std::string_view>{}(v)); };
  const auto& t = pw.tunnel;
  const auto& c = pw.session;
  str(t.local);
  str(t.peer);
  str(t.klass);
  mix(static_cast<uint64_t>(t.encap) << 32 | uint64_t{t.peer_port} << 1 | uint64_t{t.is_static});
  str(std::string_view(reinterpret_cast<const char*>(pw.remote_end_id.data()),
                       pw.remote_end_id.size()));
  mix(pw.cookie_length);
  mix(static_cast<uint64_t>(c.pw_type) << 8 | static_cast<uint64_t>(c.sublayer) << 4 |
      uint64_t{c.send_seq} << 1 | uint64_t{c.recv_seq});
  str(c.ifname);
  mix(static_cast<uint64_t>(c.mtu));
  mix(static_cast<uint64_t>(c.attach.kind));
  str(c.attach.name);
  mix(c.vlan_id);
  mix(static_cast<uint64_t>(c.reorder_timeout.count()));
  fingerprint = h;
}

bool SessionCompatible(const SessionShape& had, const DesiredPseudowire& want) {
  return had == SessionShape(want);
}

dataplane::SessionConfig SessionConfigFor(const DesiredPseudowire& pw, const ObservedSession& s) {
  dataplane::SessionConfig c = pw.session;
  c.tunnel_id = s.tunnel_id;
  c.local_session_id = s.local_session_id;
  c.peer_session_id = s.peer_session_id;
  c.cookie = s.cookie;
  c.peer_cookie = s.peer_cookie;
  return c;
}

std::vector<Action> Plan(const DesiredSnapshot& desired, const ObservedState& observed) {
  return Plan(desired, ObservedView{observed.tunnels, observed.sessions, observed.dataplane});
}

std::vector<Action> Plan(const DesiredSnapshot& desired, const ObservedView& obs) {
  Wanted wanted;
  std::set<TunnelKey> opening;
  std::vector<Action> opens;
  for (const auto& [name, pw] : desired.pseudowires) {
    if (pw.is_static) {
      wanted.tunnels[pw.tunnel_config.local_tunnel_id] = pw.tunnel_config;
      wanted.sessions[{pw.session.tunnel_id, pw.session.local_session_id}] = {name, pw.session};
    } else {
      PlanDynamic(pw, obs, wanted, opening, opens);
    }
  }
  std::vector<Action> cdns = PlanCdns(desired, obs);
  std::vector<Action> stops = PlanStopCcns(desired, obs);
  // Established control connections that stay keep their data plane tunnel.
  std::set<uint32_t> stopping;
  for (const auto& a : stops) stopping.insert(std::get<action::CloseTunnel>(a).tunnel_id);
  for (const auto& [id, t] : obs.tunnels) {
    if (t.state == LinkState::kEstablished && !stopping.count(id)) wanted.tunnels[id] = t.config;
  }
  std::vector<Action> plan;
  std::set<SessionKey> present;
  std::set<uint32_t> tunnels_present;
  PlanDataplaneRemovals(wanted, obs, plan, present, tunnels_present);
  plan.insert(plan.end(), cdns.begin(), cdns.end());
  plan.insert(plan.end(), stops.begin(), stops.end());
  for (const auto& [id, cfg] : wanted.tunnels) {
    if (!tunnels_present.count(id)) plan.push_back(action::ProgramTunnel{cfg});
  }
  for (const auto& [k, named] : wanted.sessions) {
    if (!present.count(k)) plan.push_back(action::ProgramSession{named.first, named.second});
  }
  plan.insert(plan.end(), opens.begin(), opens.end());
  return plan;
}

std::string ActionToString(const Action& a) {
  struct V {
    std::string operator()(const action::OpenTunnel& x) {
      return absl::StrCat("open-tunnel ", x.key.ToString(), " for ", x.for_pw);
    }
    std::string operator()(const action::CloseTunnel& x) {
      return absl::StrCat("close-tunnel ", x.tunnel_id);
    }
    std::string operator()(const action::OpenSession& x) {
      return absl::StrCat("open-session ", x.pw, " on tunnel ", x.tunnel_id);
    }
    std::string operator()(const action::CloseSession& x) {
      return absl::StrCat("close-session ", x.pw);
    }
    std::string operator()(const action::ProgramTunnel& x) {
      return absl::StrCat("program-tunnel ", x.config.DebugString());
    }
    std::string operator()(const action::RemoveTunnel& x) {
      return absl::StrCat("remove-tunnel ", x.tunnel_id);
    }
    std::string operator()(const action::ProgramSession& x) {
      return absl::StrCat("program-session ", x.pw, " ", x.config.DebugString());
    }
    std::string operator()(const action::RemoveSession& x) {
      return absl::StrCat("remove-session ", x.tunnel_id, "/", x.session_id);
    }
  };
  return std::visit(V{}, a);
}

}  // namespace pwire::agent
