// The pure plan function. See reconciler.h.
#include "agent/core/reconciler.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace pwire::agent {
namespace {

using SessionKey = std::pair<uint32_t, uint32_t>;

// A session the data plane should hold: a static pseudowire's (observed == nullptr) or an
// established dynamic session's. It points into the plan's inputs: a session config is built
// only to compare with the data plane's or for a ProgramSession action.
struct WantedSession {
  SessionKey key;
  const std::string* name;
  const DesiredPseudowire* pw;
  const ObservedSession* observed;  // nullptr: a static pseudowire
  bool present = false;             // the data plane holds it as wanted
};

// What one walk over the desired pseudowires and the observed sessions (both ordered by name,
// so walked side by side: no lookup by name) finds.
struct Walk {
  std::map<uint32_t, const dataplane::TunnelConfig*> tunnels;  // wanted in the data plane
  std::vector<WantedSession> sessions;                         // wanted in the data plane
  std::vector<Action> cdns;
  std::vector<Action> opens;
  std::set<TunnelKey> opening;
  std::set<uint32_t> live;  // control connections with a session that stays
};

// Whether a session's data plane parameters are final (compatibility aside).
bool Ready(const ObservedSession& s) {
  return s.state == LinkState::kEstablished || (s.state == LinkState::kConnecting && s.negotiated);
}

// Finds the observed tunnel an initiator would use for `key` (not one being closed).
const ObservedTunnel* FindTunnel(const ObservedView& obs, const TunnelKey& key) {
  for (const auto& [id, t] : obs.tunnels) {
    if (t.key == key && t.state != LinkState::kClosing) return &t;
  }
  return nullptr;
}

// One desired pseudowire, with its observed session if it has one.
void WalkDesired(const std::string& name, const DesiredPseudowire& pw, const ObservedSession* s,
                 const ObservedView& obs, Walk& w) {
  if (pw.is_static) {
    w.tunnels[pw.tunnel_config.local_tunnel_id] = &pw.tunnel_config;
    w.sessions.push_back(
        {{pw.session.tunnel_id, pw.session.local_session_id}, &name, &pw, nullptr, false});
    if (s != nullptr && s->state != LinkState::kClosing)
      w.cdns.push_back(action::CloseSession{name});
    return;
  }
  if (s != nullptr) {
    if (!SessionCompatible(s->opened_with, pw)) {
      // CDN now; the session is opened again once it is gone (a later plan).
      if (s->state != LinkState::kClosing) w.cdns.push_back(action::CloseSession{name});
      return;
    }
    w.live.insert(s->tunnel_id);
    if (Ready(*s) && obs.tunnels.contains(s->tunnel_id)) {
      w.sessions.push_back({{s->tunnel_id, s->local_session_id}, &name, &pw, s, false});
    }
    return;
  }
  if (pw.role != PwRole::kInitiator) return;  // The peer opens; we accept (l2tp_control.cc).
  const ObservedTunnel* t = FindTunnel(obs, pw.tunnel);
  if (t == nullptr) {
    if (w.opening.insert(pw.tunnel).second) {
      w.opens.push_back(action::OpenTunnel{pw.tunnel, pw.name});
    }
    return;
  }
  // The engine holds an ICRQ until its control connection is established (RFC 3931 §7.3).
  w.opens.push_back(action::OpenSession{pw.name, t->local_id});
}

// Desired pseudowires and observed sessions side by side (both maps are ordered by name).
void WalkByName(const DesiredSnapshot& desired, const ObservedView& obs, Walk& w) {
  auto d = desired.pseudowires.begin();
  auto s = obs.sessions.begin();
  while (d != desired.pseudowires.end() || s != obs.sessions.end()) {
    int order = d == desired.pseudowires.end() ? 1
                : s == obs.sessions.end()      ? -1
                                               : d->first.compare(s->first);
    if (order > 0) {  // A session no longer desired: CDN.
      if (s->second.state != LinkState::kClosing) w.cdns.push_back(action::CloseSession{s->first});
      ++s;
      continue;
    }
    WalkDesired(d->first, d->second, order == 0 ? &s->second : nullptr, obs, w);
    if (order == 0) ++s;
    ++d;
  }
}

// StopCCN for control connections with no session that stays and no desired use.
std::vector<Action> PlanStopCcns(const DesiredSnapshot& desired, const ObservedView& obs,
                                 const Walk& w) {
  std::vector<Action> out;
  for (const auto& [id, t] : obs.tunnels) {
    if (t.state == LinkState::kClosing || w.live.contains(id)) continue;
    bool needed = false;
    for (const auto& [name, pw] : desired.pseudowires) {
      if (pw.is_static) continue;
      if (!t.peer_initiated && pw.tunnel == t.key) needed = true;
      // A peer's tunnel stays while a desired pseudowire could still be opened on it.
      if (t.peer_initiated && pw.role == PwRole::kResponder && pw.tunnel.peer == t.key.peer &&
          pw.tunnel.local == t.key.local && pw.tunnel.encap == t.key.encap) {
        needed = true;
      }
      if (needed) break;
    }
    if (!needed) out.push_back(action::CloseTunnel{id});
  }
  return out;
}

// Orders the wanted sessions by key; of two with one key, the later (by name) stays.
void SortByKey(std::vector<WantedSession>& sessions) {
  std::stable_sort(sessions.begin(), sessions.end(),
                   [](const WantedSession& x, const WantedSession& y) { return x.key < y.key; });
  size_t out = 0;
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (out > 0 && sessions[out - 1].key == sessions[i].key) {
      sessions[out - 1] = sessions[i];
    } else {
      sessions[out++] = sessions[i];
    }
  }
  sessions.resize(out);
}

// What negotiation decided, written over the pseudowire's settings.
void Negotiated(const ObservedSession& s, dataplane::SessionConfig& out) {
  out.tunnel_id = s.tunnel_id;
  out.local_session_id = s.local_session_id;
  out.peer_session_id = s.peer_session_id;
  out.cookie = s.cookie;
  out.peer_cookie = s.peer_cookie;
  // RFC 3931 §5.4.4: what we send is what the peer asked for, what we receive what we did.
  out.tx_sublayer = s.tx_sublayer;
  out.rx_sublayer = s.rx_sublayer;
  out.send_seq = s.send_seq;
  out.recv_seq = s.recv_seq;
}

// The config a wanted session has in the data plane, written over `out` (whose strings and
// vectors are reused: comparing ten thousand sessions allocates nothing).
void ConfigOf(const WantedSession& w, dataplane::SessionConfig& out) {
  out = w.pw->session;
  if (w.observed == nullptr) return;
  Negotiated(*w.observed, out);
}

std::vector<WantedSession>::iterator FindWanted(std::vector<WantedSession>& sessions,
                                                SessionKey key) {
  auto it = std::lower_bound(sessions.begin(), sessions.end(), key,
                             [](const WantedSession& w, const SessionKey& k) { return w.key < k; });
  return it != sessions.end() && it->key == key ? it : sessions.end();
}

// Data plane objects that should not exist, or differ: sessions first, then tunnels.
void PlanDataplaneRemovals(Walk& w, const ObservedView& obs, std::vector<Action>& plan,
                           std::set<uint32_t>& tunnels_present) {
  dataplane::SessionConfig scratch;
  for (const auto& s : obs.dataplane.sessions) {
    auto it = FindWanted(w.sessions, {s.tunnel_id, s.local_session_id});
    if (it != w.sessions.end()) {
      ConfigOf(*it, scratch);
      if (scratch.SameAs(s)) {
        it->present = true;
        continue;
      }
    }
    plan.push_back(action::RemoveSession{s.tunnel_id, s.local_session_id});
  }
  for (const auto& t : obs.dataplane.tunnels) {
    auto it = w.tunnels.find(t.local_tunnel_id);
    if (it != w.tunnels.end() && it->second->SameAs(t)) {
      tunnels_present.insert(t.local_tunnel_id);
      continue;
    }
    plan.push_back(action::RemoveTunnel{t.local_tunnel_id});
    // Deleting a tunnel deletes its sessions: the wanted ones are programmed again.
    auto first =
        std::lower_bound(w.sessions.begin(), w.sessions.end(), t.local_tunnel_id,
                         [](const WantedSession& x, uint32_t id) { return x.key.first < id; });
    for (; first != w.sessions.end() && first->key.first == t.local_tunnel_id; ++first) {
      first->present = false;
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
  mix(static_cast<uint64_t>(c.pw_type) << 8 | static_cast<uint64_t>(c.tx_sublayer) << 6 |
      static_cast<uint64_t>(c.rx_sublayer) << 4 | uint64_t{c.send_seq} << 1 | uint64_t{c.recv_seq});
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
  Negotiated(s, c);
  return c;
}

bool WantedInDataplane(const DesiredPseudowire& pw, const ObservedSession& s) {
  return Ready(s) && SessionCompatible(s.opened_with, pw);
}

std::vector<Action> PlanEarlySession(const DesiredPseudowire& pw, const ObservedSession& s,
                                     const ObservedTunnel& t, bool tunnel_programmed) {
  std::vector<Action> out;
  if (pw.is_static || !WantedInDataplane(pw, s) || t.local_id != s.tunnel_id ||
      t.state != LinkState::kEstablished) {
    return out;
  }
  if (!tunnel_programmed) out.push_back(action::ProgramTunnel{t.config});
  out.push_back(action::ProgramSession{pw.name, SessionConfigFor(pw, s)});
  return out;
}

std::vector<Action> Plan(const DesiredSnapshot& desired, const ObservedState& observed) {
  return Plan(desired, ObservedView{observed.tunnels, observed.sessions, observed.dataplane});
}

std::vector<Action> Plan(const DesiredSnapshot& desired, const ObservedView& obs) {
  Walk w;
  WalkByName(desired, obs, w);
  std::vector<Action> stops = PlanStopCcns(desired, obs, w);
  // Established control connections that stay keep their data plane tunnel.
  std::set<uint32_t> stopping;
  for (const auto& a : stops) stopping.insert(std::get<action::CloseTunnel>(a).tunnel_id);
  for (const auto& [id, t] : obs.tunnels) {
    if (t.state == LinkState::kEstablished && !stopping.contains(id)) w.tunnels[id] = &t.config;
  }
  SortByKey(w.sessions);
  std::vector<Action> plan;
  std::set<uint32_t> tunnels_present;
  PlanDataplaneRemovals(w, obs, plan, tunnels_present);
  plan.insert(plan.end(), w.cdns.begin(), w.cdns.end());
  plan.insert(plan.end(), stops.begin(), stops.end());
  for (const auto& [id, cfg] : w.tunnels) {
    if (!tunnels_present.contains(id)) plan.push_back(action::ProgramTunnel{*cfg});
  }
  for (const auto& s : w.sessions) {
    if (s.present) continue;
    action::ProgramSession p{*s.name, {}};
    ConfigOf(s, p.config);
    plan.push_back(std::move(p));
  }
  plan.insert(plan.end(), std::make_move_iterator(w.opens.begin()),
              std::make_move_iterator(w.opens.end()));
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
