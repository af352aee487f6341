// L2tpControlPlane, driving the engine: endpoints (one engine each), the datagrams and
// timeouts fed to it, its packets sent and its events turned into observed tunnels and
// sessions, and the reconciler's commands. See l2tp_control.h.
#include "agent/core/l2tp_control.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/core/l2tp_convert.h"
#include "agent/core/udp_socket.h"
#include "agent/l2tp/header.h"
#include "spdlog/spdlog.h"

namespace pwire::agent {
using dataplane::IpAddress;

L2tpControlPlane::L2tpControlPlane(EventLoop& loop, const AgentConfig& config,
                                   dataplane::Dataplane& dataplane,
                                   std::unique_ptr<base::Random> random)
    : L2tpControlPlane(loop, config, dataplane, std::move(random),
                       std::make_unique<UdpSockets>(loop), nullptr) {}

L2tpControlPlane::L2tpControlPlane(Dispatcher& loop, const AgentConfig& config,
                                   dataplane::Dataplane& dataplane,
                                   std::unique_ptr<base::Random> random, DatagramSockets& sockets)
    : L2tpControlPlane(loop, config, dataplane, std::move(random), nullptr, &sockets) {}

L2tpControlPlane::L2tpControlPlane(Dispatcher& loop, const AgentConfig& config,
                                   dataplane::Dataplane& dataplane,
                                   std::unique_ptr<base::Random> random,
                                   std::unique_ptr<DatagramSockets> owned, DatagramSockets* sockets)
    : owned_net_(std::move(owned)),
      net_(sockets != nullptr ? *sockets : *owned_net_),
      loop_(loop),
      config_(config),
      dp_(dataplane),
      dp_reads_control_(dataplane.GetCapabilities().control_via_handler),
      random_(std::move(random)),
      backoff_(*random_) {
  // A data plane thread, maybe after this control plane is gone: it hands the message to the
  // loop (which outlives it), guarded by the lifetime token.
  dp_.SetControlPacketHandler([loop = &loop_, alive = std::weak_ptr<const void>(alive_), this](
                                  uint32_t tunnel_id, std::vector<uint8_t> packet) {
    loop->Post(Dispatcher::IfAlive(alive, [this, tunnel_id, p = std::move(packet)]() mutable {
      OnControlFromDataplane(tunnel_id, std::move(p));
    }));
  });
}

L2tpControlPlane::~L2tpControlPlane() {
  alive_.reset();  // What is still posted for this control plane does nothing now.
  dp_.SetControlPacketHandler(nullptr);
  sockets_.clear();  // closes them
  for (auto& [local, ep] : endpoints_) {
    if (ep->timer) loop_.Cancel(ep->timer);
  }
}

absl::Status L2tpControlPlane::Listen() {
  for (const auto& u : config_.underlay) {
    auto ep = EndpointFor(u);
    if (!ep.ok()) return ep.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<L2tpControlPlane::Endpoint*> L2tpControlPlane::EndpointFor(
    const std::string& local) {
  auto it = endpoints_.find(local);
  if (it != endpoints_.end()) return it->second.get();
  auto addr = IpAddress::Parse(local);
  if (!addr.ok()) return addr.status();
  auto socket = net_.Open(*addr, config_.l2tp_port, nullptr, 0);
  if (!socket.ok()) return socket.status();
  auto ep = std::make_unique<Endpoint>();
  ep->local = addr->ToString();
  ep->socket = std::move(*socket);
  l2tp::EngineConfig ec;
  ec.host_name = config_.agent_id;
  // RFC 3931 §5.4.3: the Router ID is unique per LCCE and never 0: the configured one, else
  // this endpoint's IPv4 address, else (IPv6) the agent's derived one.
  ec.router_id = LocalRouterId(config_);
  if (addr->is_v4() && config_.router_id == 0) {
    ec.router_id = uint32_t{addr->bytes[0]} << 24 | uint32_t{addr->bytes[1]} << 16 |
                   uint32_t{addr->bytes[2]} << 8 | addr->bytes[3];
  }
  ec.pw_capabilities.clear();
  for (auto t : dp_.GetCapabilities().pw_types) ec.pw_capabilities.push_back(uint16_t(t));
  ep->engine = std::make_unique<l2tp::Engine>(ec, *random_, this);
  Endpoint* raw = ep.get();
  if (auto s = WatchSocket(*raw, *raw->socket); !s.ok()) return s;
  spdlog::info("l2tp: listening on {}:{}", ep->local, config_.l2tp_port);
  endpoints_[ep->local] = std::move(ep);
  return raw;
}

void L2tpControlPlane::OnDatagram(Endpoint& ep, const l2tp::PeerAddress& peer,
                                  std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  if ((bytes[0] & 0x80) == 0) {
    // A data packet (T=0, RFC 3931 §4.1.2.1) on a control socket: from an address we have no
    // tunnel with, or for a session the data plane lacks. Dropped, but counted.
    ++extra_.data_unknown_session;
    return;
  }
  if (stopping_) {  // A new SCCRQ (to connection 0, §3.2.1) is left unanswered.
    auto h = l2tp::ParseControlHeader(bytes, l2tp::Transport::kUdp);
    if (h.ok() && h->header.connection_id == 0) return;
  }
  if (auto h = l2tp::ParseControlHeader(bytes, l2tp::Transport::kUdp);
      h.ok() && h->header.connection_id == 0 && !Expects(peer) && InUnexpectedGrace(peer)) {
    // Only an SCCRQ goes to connection 0 (RFC 3931 §3.2.1). From a peer that no desired
    // pseudowire names it is not answered at first: an answer could carry neither a class's
    // secret nor its timers. The peer retransmits it (§4.2), so when our desired state arrives
    // just after its SCCRQ (the server tells both ends at once), the retransmission gets in.
    // Past the grace, OnIncomingControlConnection refuses it with a StopCCN.
    ++extra_.refused_tunnels;
    spdlog::debug("l2tp: SCCRQ from {} not answered yet: no desired pseudowire with it",
                  peer.ToString());
    return;
  }
  absl::Status s = ep.engine->Receive(loop_.Now(), peer, bytes);
  if (!s.ok())
    spdlog::debug("l2tp: from {} dropped: {}", peer.ToString(), std::string(s.message()));
}

void L2tpControlPlane::OnControlFromDataplane(uint32_t tunnel_id, std::vector<uint8_t> packet) {
  auto t = tunnels_.find(tunnel_id);
  Endpoint* ep = EndpointOfTunnel(tunnel_id);
  if (t == tunnels_.end() || ep == nullptr) {
    OnControlForClosed(tunnel_id, packet);
    return;
  }
  auto peer = IpAddress::Parse(t->second.key.peer);
  if (!peer.ok()) return;
  OnDatagram(*ep, ToPeer(*peer, t->second.config.peer_port), packet);
  Drive(*ep);
}

L2tpControlPlane::Endpoint* L2tpControlPlane::EndpointOfTunnel(uint32_t tunnel_id) {
  auto t = tunnels_.find(tunnel_id);
  if (t == tunnels_.end()) return nullptr;
  auto ep = endpoints_.find(t->second.key.local);
  return ep == endpoints_.end() ? nullptr : ep->second.get();
}

void L2tpControlPlane::Drive(Endpoint& ep) {
  if (ep.driving) return;  // An event handler acted on the engine: the loop below sees it.
  ep.driving = true;
  // Events first: a SessionNegotiated or SessionUp programs the data plane before the ICRP
  // or ICCN after which the peer sends data (RFC 3931 §7.3) leaves in the packets below.
  bool changed = false;
  for (auto events = ep.engine->TakeEvents(); !events.empty(); events = ep.engine->TakeEvents()) {
    changed = true;
    for (const auto& e : events) HandleEvent(ep, e);
  }
  for (auto& d : ep.engine->TakePackets()) {
    if (auto s = ep.socket->SendTo(d.peer, d.bytes); !s.ok()) {
      spdlog::debug("l2tp: {}", std::string(s.message()));
    }
  }
  ep.driving = false;
  if (ep.timer) loop_.Cancel(ep.timer);
  ep.timer = 0;
  if (auto deadline = ep.engine->NextDeadline()) {
    Endpoint* raw = &ep;
    ep.timer = loop_.ScheduleAt(*deadline, [this, raw] {
      raw->timer = 0;
      raw->engine->HandleTimeout(loop_.Now());
      Drive(*raw);
    });
  }
  if (changed) Changed();
  if (on_drained_) CheckDrained();
}

void L2tpControlPlane::Changed() {
  if (on_change_) on_change_();
}

void L2tpControlPlane::HandleEvent(Endpoint& ep, const l2tp::Event& event) {
  if (auto* up = std::get_if<l2tp::ControlConnectionUp>(&event)) {
    OnConnectionUp(ep, *up);
  } else if (auto* down = std::get_if<l2tp::ControlConnectionDown>(&event)) {
    OnConnectionDown(*down);
  } else if (auto* su = std::get_if<l2tp::SessionUp>(&event)) {
    BindSession(su->info, LinkState::kEstablished);
  } else if (auto* sn = std::get_if<l2tp::SessionNegotiated>(&event)) {
    BindSession(sn->info, LinkState::kConnecting);
  } else if (auto* sd = std::get_if<l2tp::SessionDown>(&event)) {
    OnSessionDown(*sd);
  } else if (auto* cs = std::get_if<l2tp::CircuitStatusChanged>(&event)) {
    spdlog::info("l2tp: session {} peer circuit {}", cs->local_session_id,
                 cs->active ? "active" : "inactive");
    if (auto pw = session_pw_.find(cs->local_session_id); pw != session_pw_.end()) {
      if (auto s = sessions_.find(pw->second); s != sessions_.end()) {
        s->second.peer_circuit_active = cs->active;
      }
    }
  }
}

void L2tpControlPlane::OnConnectionUp(Endpoint& ep, const l2tp::ControlConnectionUp& up) {
  auto [it, inserted] = tunnels_.try_emplace(up.ccid);
  ObservedTunnel& t = it->second;
  IpAddress peer = FromPeer(up.peer);
  if (inserted) {  // The peer opened it.
    t.local_id = up.ccid;
    t.peer_initiated = true;
    t.key.local = ep.local;
    t.key.peer = peer.ToString();
    t.key.peer_port = up.peer.port;
  }
  t.peer_id = up.peer_ccid;
  t.state = LinkState::kEstablished;
  if (std::string why = IdentityMismatch(ep.local, peer.ToString(), up); !why.empty()) {
    RefuseConnection(t, why);  // Our SCCRQ stays in opening_: the close counts as a failure.
    return;
  }
  if (auto o = opening_.find(up.ccid); o != opening_.end()) {
    backoff_.erase(o->second);
    opening_.erase(o);
  }
  // The peer is reachable again: what failed with it may be tried at once.
  if (desired_ != nullptr) {
    for (const auto& [name, pw] : desired_->pseudowires) {
      if (pw.tunnel.peer == peer.ToString()) {
        backoff_.erase(name);
        backoff_.erase(pw.tunnel.ToString());
      }
    }
  }
  auto local = IpAddress::Parse(ep.local);
  t.config.mode = dataplane::TunnelMode::kManaged;
  t.config.encap = dataplane::Encap::kUdp;
  t.config.local_tunnel_id = up.ccid;
  t.config.peer_tunnel_id = up.peer_ccid;
  t.config.local = *local;
  t.config.peer = peer;
  t.config.local_port = config_.l2tp_port;
  t.config.peer_port = up.peer.port;
  spdlog::info("l2tp: control connection {}/{} with {} ({}) established{}", up.ccid, up.peer_ccid,
               up.peer.ToString(), up.peer_host_name, t.peer_initiated ? " (peer opened it)" : "");
  auto socket = net_.Open(*local, config_.l2tp_port, &peer, up.peer.port);
  if (!socket.ok()) {
    spdlog::error("l2tp: tunnel {} socket: {}", up.ccid, socket.status().ToString());
    return;
  }
  Socket sock{std::move(*socket), true, false, ep.local};
  sock.watched = WatchSocket(ep, *sock.socket).ok();
  sockets_[up.ccid] = std::move(sock);
}

void L2tpControlPlane::OnConnectionDown(const l2tp::ControlConnectionDown& down) {
  spdlog::info("l2tp: control connection {} with {} closed: result {} {}", down.ccid,
               down.peer.ToString(), down.result.result, down.reason);
  if (auto o = opening_.find(down.ccid); o != opening_.end()) {
    if (down.replaced_by == 0) Failed(o->second);  // Our SCCRQ failed or was refused.
    opening_.erase(o);
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.tunnel_id != down.ccid) {
      ++it;
    } else if (down.replaced_by != 0) {
      it->second.tunnel_id = down.replaced_by;  // Lost a tie: sessions carry on (§5.4.3).
      ++it;
    } else {
      last_error_[it->first] = absl::StrCat("control connection closed: ", down.reason);
      session_pw_.erase(it->second.local_session_id);
      it = sessions_.erase(it);
    }
  }
  if (auto t = tunnels_.find(down.ccid); t != tunnels_.end() && down.replaced_by == 0) {
    HoldClosed(down.ccid, t->second.key.local, down.peer);
  }
  tunnels_.erase(down.ccid);
  CloseSocket(down.ccid);
}

void L2tpControlPlane::HoldClosed(uint32_t ccid, const std::string& local,
                                  const l2tp::PeerAddress& peer) {
  if (closed_.size() >= kMaxClosedHeld) {
    std::erase_if(closed_, [&](const auto& kv) {
      auto ep = endpoints_.find(kv.second.first);
      return ep == endpoints_.end() || !ep->second->engine->ControlConnectionState(kv.first);
    });
  }
  if (closed_.size() < kMaxClosedHeld) closed_[ccid] = {local, peer};
}

void L2tpControlPlane::OnControlForClosed(uint32_t ccid, std::span<const uint8_t> packet) {
  auto c = closed_.find(ccid);
  if (c == closed_.end()) return;
  auto ep = endpoints_.find(c->second.first);
  if (ep == endpoints_.end() || !ep->second->engine->ControlConnectionState(ccid)) {
    closed_.erase(c);  // The engine's hold is over: nothing more for it.
    return;
  }
  OnDatagram(*ep->second, c->second.second, packet);
  Drive(*ep->second);
}

void L2tpControlPlane::BindSession(const l2tp::SessionInfo& info, LinkState state) {
  std::string pw;
  if (auto it = session_pw_.find(info.local_session_id); it != session_pw_.end()) {
    pw = it->second;
  } else if (auto a = accepted_.find(RequestKey(info.ccid, info.remote_end_id));
             a != accepted_.end()) {
    pw = a->second;
    accepted_.erase(a);
  }
  if (info.replaces_session != 0) {
    auto r = session_pw_.find(info.replaces_session);
    if (r != session_pw_.end()) {
      if (pw.empty()) pw = r->second;
      session_pw_.erase(r);
    }
  }
  const DesiredPseudowire* d = nullptr;
  if (desired_ && !pw.empty()) {
    auto it = desired_->pseudowires.find(pw);
    if (it != desired_->pseudowires.end()) d = &it->second;
  }
  if (d == nullptr) {
    spdlog::warn("l2tp: session {} up but no desired pseudowire: closing", info.local_session_id);
    (void)CloseSessionById(info.ccid, info.local_session_id);
    return;
  }
  session_pw_[info.local_session_id] = pw;
  std::optional<std::pair<uint32_t, uint32_t>> replaced;
  if (auto old = sessions_.find(pw);
      old != sessions_.end() && old->second.local_session_id != info.local_session_id) {
    replaced = {old->second.tunnel_id, old->second.local_session_id};
  }
  auto sub = [](l2tp::Sublayer x) {
    return x == l2tp::Sublayer::kDefault ? dataplane::Sublayer::kDefault
                                         : dataplane::Sublayer::kNone;
  };
  ObservedSession& s = sessions_[pw];
  s.tunnel_id = info.ccid;
  s.local_session_id = info.local_session_id;
  s.peer_session_id = info.remote_session_id;
  s.cookie = info.local_cookie;
  s.peer_cookie = info.remote_cookie;
  // RFC 3931 §5.4.4: we send what the peer asked for, and receive what we asked for. Data
  // Sequencing level 1 (non-IP only) is served by sequencing everything.
  s.tx_sublayer = sub(info.send_sublayer);
  s.rx_sublayer = sub(info.recv_sublayer);
  s.send_seq = info.send_sequenced;
  s.recv_seq = info.recv_sequenced;
  s.state = state;
  s.negotiated = true;
  s.peer_circuit_active = info.circuit_active;
  s.opened_with = *d;
  last_error_.erase(pw);
  backoff_.erase(pw);
  spdlog::info(
      "l2tp: session {} for {} {} (peer session {}, cookies {}/{}, sublayer tx {} rx {}, "
      "sequencing tx {} rx {})",
      info.local_session_id, pw, state == LinkState::kEstablished ? "established" : "negotiated",
      info.remote_session_id, info.local_cookie.size(), info.remote_cookie.size(),
      s.tx_sublayer == dataplane::Sublayer::kDefault ? "default" : "none",
      s.rx_sublayer == dataplane::Sublayer::kDefault ? "default" : "none", s.send_seq, s.recv_seq);
  if (replaced) {
    // The peer opened the pseudowire again on a new control connection: it lost its state
    // (a restart). The old session is closed; its CDN goes to a peer that forgot it.
    spdlog::info("l2tp: session {} for {} replaces session {} on tunnel {}", info.local_session_id,
                 pw, replaced->second, replaced->first);
    (void)CloseSessionById(replaced->first, replaced->second);
  }
  if (on_ready_) on_ready_(pw);  // Programs the data plane before our reply is sent.
}

void L2tpControlPlane::OnSessionDown(const l2tp::SessionDown& down) {
  auto it = session_pw_.find(down.local_session_id);
  if (it == session_pw_.end()) return;
  std::string pw = it->second;
  session_pw_.erase(it);
  auto s = sessions_.find(pw);
  if (s != sessions_.end() && s->second.local_session_id == down.local_session_id) {
    if (s->second.state != LinkState::kClosing) Failed(pw);  // Refused or closed by the peer.
    sessions_.erase(s);
  }
  last_error_[pw] = absl::StrCat("session closed: CDN result ", down.result.result,
                                 down.reason.empty() ? "" : ": ", down.reason);
  spdlog::info("l2tp: session {} for {} down: {}", down.local_session_id, pw, last_error_[pw]);
}

absl::Status L2tpControlPlane::OpenTunnel(const TunnelKey& key, const DesiredPseudowire& pw) {
  if (key.encap != dataplane::Encap::kUdp) {
    return absl::UnimplementedError("dynamic pseudowires over IP encapsulation: not yet");
  }
  auto ep = EndpointFor(key.local);
  if (!ep.ok()) return ep.status();
  auto peer = IpAddress::Parse(key.peer);
  if (!peer.ok()) return peer.status();
  l2tp::ControlConnectionParams params = ParamsFor(pw.control);
  auto ccid =
      (*ep)->engine->OpenControlConnection(loop_.Now(), ToPeer(*peer, key.peer_port), params);
  if (!ccid.ok()) return ccid.status();
  ObservedTunnel& t = tunnels_[*ccid];
  t.local_id = *ccid;
  t.key = key;
  t.state = LinkState::kConnecting;
  opening_[*ccid] = key.ToString();
  spdlog::info("l2tp: opening control connection {} to {}", *ccid, key.ToString());
  Drive(**ep);
  return absl::OkStatus();
}

absl::Status L2tpControlPlane::CloseTunnel(uint32_t tunnel_id) {
  CloseTunnelWith(tunnel_id, 1);  // §5.4.2: general request to clear the control connection
  return absl::OkStatus();
}

void L2tpControlPlane::CloseTunnelWith(uint32_t tunnel_id, uint16_t result) {
  Endpoint* ep = EndpointOfTunnel(tunnel_id);
  if (ep == nullptr) return;
  absl::Status s = ep->engine->CloseControlConnection(loop_.Now(), tunnel_id, result);
  if (!s.ok()) {
    tunnels_.erase(tunnel_id);
    CloseSocket(tunnel_id);
  } else {
    tunnels_[tunnel_id].state = LinkState::kClosing;
  }
  Drive(*ep);
}

absl::Status L2tpControlPlane::OpenSession(uint32_t tunnel_id, const DesiredPseudowire& pw) {
  Endpoint* ep = EndpointOfTunnel(tunnel_id);
  if (ep == nullptr) return absl::NotFoundError(absl::StrCat("no tunnel ", tunnel_id));
  l2tp::SessionParams p;
  p.pw_type = static_cast<uint16_t>(pw.session.pw_type);
  p.remote_end_id.assign(pw.remote_end_id.begin(), pw.remote_end_id.end());
  p.cookie_length = static_cast<uint8_t>(pw.cookie_length);
  p.sublayer = pw.session.rx_sublayer == dataplane::Sublayer::kNone ? l2tp::Sublayer::kNone
                                                                    : l2tp::Sublayer::kDefault;
  p.require_sequencing = pw.session.recv_seq;
  auto sid = ep->engine->OpenSession(loop_.Now(), tunnel_id, p);
  if (!sid.ok()) return sid.status();
  session_pw_[*sid] = pw.name;
  ObservedSession& s = sessions_[pw.name];
  s = ObservedSession{};
  s.tunnel_id = tunnel_id;
  s.local_session_id = *sid;
  s.state = LinkState::kConnecting;
  s.opened_with = pw;
  Drive(*ep);
  return absl::OkStatus();
}

absl::Status L2tpControlPlane::CloseSessionById(uint32_t tunnel_id, uint32_t session_id) {
  Endpoint* ep = EndpointOfTunnel(tunnel_id);
  if (ep == nullptr) return absl::OkStatus();
  absl::Status s = ep->engine->CloseSession(loop_.Now(), session_id, 3);
  Drive(*ep);
  return s;
}

absl::Status L2tpControlPlane::CloseSession(const std::string& pw) {
  auto it = sessions_.find(pw);
  if (it == sessions_.end()) return absl::OkStatus();
  it->second.state = LinkState::kClosing;
  absl::Status s = CloseSessionById(it->second.tunnel_id, it->second.local_session_id);
  if (!s.ok()) {  // The engine no longer has it: forget it.
    auto again = sessions_.find(pw);
    if (again != sessions_.end()) {
      session_pw_.erase(again->second.local_session_id);
      sessions_.erase(again);
    }
  }
  return absl::OkStatus();
}

ControlPlaneStats L2tpControlPlane::stats() const {
  ControlPlaneStats s = extra_;
  for (const auto& [local, ep] : endpoints_) {
    const auto& e = ep->engine->stats();
    s.auth_failures += e.auth_failures;
    s.malformed += e.malformed;
    s.retransmissions += ep->engine->retransmissions();
  }
  return s;
}

void L2tpControlPlane::Shutdown(uint16_t result, std::function<void()> done) {
  stopping_ = true;
  std::vector<uint32_t> ids;
  for (const auto& [id, t] : tunnels_) ids.push_back(id);
  for (uint32_t id : ids) {
    Endpoint* ep = EndpointOfTunnel(id);
    if (ep == nullptr) continue;
    spdlog::info("l2tp: stopping: StopCCN result {} on control connection {} with {}", result, id,
                 tunnels_[id].key.peer);
    draining_.emplace(ep->local, id);
    CloseTunnelWith(id, result);
  }
  on_drained_ = std::move(done);
  CheckDrained();  // and again after each engine round (Drive)
}

void L2tpControlPlane::CheckDrained() {
  std::erase_if(draining_, [&](const auto& d) {
    auto ep = endpoints_.find(d.first);
    return ep == endpoints_.end() || !ep->second->engine->ControlConnectionState(d.second);
  });
  if (!draining_.empty() || !on_drained_) return;
  spdlog::info("l2tp: stopping: every StopCCN acknowledged");
  loop_.Post(Dispatcher::IfAlive(alive_, std::exchange(on_drained_, nullptr)));
}

void L2tpControlPlane::Failed(const std::string& key) { backoff_.Failed(key, loop_.Now()); }

std::optional<base::Instant> L2tpControlPlane::RetryAt(const std::string& key) const {
  return backoff_.RetryAt(key);
}

std::string L2tpControlPlane::LastError(const std::string& pw) const {
  auto it = last_error_.find(pw);
  return it == last_error_.end() ? "" : it->second;
}

}  // namespace pwire::agent
