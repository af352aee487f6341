// L2tpControlPlane. See l2tp_control.h.
#include "agent/core/l2tp_control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/l2tp/header.h"
#include "spdlog/spdlog.h"

namespace pwire::agent {
namespace {

using dataplane::IpAddress;

l2tp::PeerAddress ToPeer(const IpAddress& a, uint16_t port) {
  l2tp::PeerAddress p;
  p.ip = a.bytes;
  p.v6 = a.is_v6();
  p.port = port;
  return p;
}

IpAddress FromPeer(const l2tp::PeerAddress& p) {
  IpAddress a;
  a.family = p.v6 ? IpAddress::Family::kV6 : IpAddress::Family::kV4;
  a.bytes = p.ip;
  if (!p.v6) std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
  return a;
}

socklen_t ToSockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

l2tp::PeerAddress FromSockaddr(const sockaddr_storage& ss) {
  l2tp::PeerAddress p;
  if (ss.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    p.v6 = true;
    std::memcpy(p.ip.data(), &s6->sin6_addr, 16);
    p.port = ntohs(s6->sin6_port);
  } else {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(p.ip.data(), &s4->sin_addr, 4);
    p.port = ntohs(s4->sin_port);
  }
  return p;
}

// A UDP socket bound to local:port (shared with our other L2TP sockets), connected to the
// peer when one is given.
absl::StatusOr<int> OpenUdp(const IpAddress& local, uint16_t port, const IpAddress* peer,
                            uint16_t peer_port) {
  int fd = socket(local.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss;
  socklen_t len = ToSockaddr(local, port, ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    auto err = absl::UnavailableError(
        absl::StrCat("bind ", local.ToString(), ":", port, ": ", std::strerror(errno)));
    close(fd);
    return err;
  }
  if (peer != nullptr) {
    len = ToSockaddr(*peer, peer_port, ss);
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      auto err = absl::UnavailableError(
          absl::StrCat("connect ", peer->ToString(), ":", peer_port, ": ", std::strerror(errno)));
      close(fd);
      return err;
    }
  }
  return fd;
}

l2tp::AuthConfig AuthFor(const ControlParams& c) {
  l2tp::AuthConfig a;
  if (c.auth == ControlParams::Auth::kNone || c.secret.empty()) return a;
  a.secrets.push_back(l2tp::Bytes(c.secret.begin(), c.secret.end()));
  a.digest = c.auth == ControlParams::Auth::kSha1 ? l2tp::DigestType::kHmacSha1
                                                  : l2tp::DigestType::kHmacMd5;
  return a;
}

// A class's control connection parameters: secret (§4.3), retransmission timers (§4.2),
// receive window (§5.4.3) and HELLO interval (§6.5).
l2tp::ControlConnectionParams ParamsFor(const ControlParams& c) {
  l2tp::ControlConnectionParams p;
  p.auth = AuthFor(c);
  l2tp::ReliableConfig r;
  r.initial_timeout = c.retransmit_timeout;
  r.max_timeout = c.retransmit_timeout_max;
  r.max_retries = static_cast<int>(c.retransmit_retries);
  r.receive_window = c.receive_window;
  p.reliable = r;
  p.hello_interval = c.hello_interval;
  return p;
}

constexpr std::chrono::milliseconds kBackoffInitial{1000};
constexpr std::chrono::milliseconds kBackoffMax{16000};

std::string IncomingKey(const std::string& peer, const std::string& remote_end_id) {
  return absl::StrCat(peer, "|", remote_end_id);
}

std::string RequestKey(uint32_t ccid, const std::string& remote_end_id) {
  return absl::StrCat(ccid, "/", remote_end_id);
}

}  // namespace

L2tpControlPlane::L2tpControlPlane(EventLoop& loop, const AgentConfig& config,
                                   dataplane::Dataplane& dataplane,
                                   std::unique_ptr<base::Random> random)
    : loop_(loop),
      config_(config),
      dp_(dataplane),
      dp_reads_control_(dataplane.GetCapabilities().control_via_handler),
      random_(std::move(random)) {
  // A data plane thread, maybe after this control plane is gone: it hands the message to the
  // loop (which outlives it), guarded by the lifetime token.
  dp_.SetControlPacketHandler([loop = &loop_, alive = std::weak_ptr<const void>(alive_), this](
                                  uint32_t tunnel_id, std::vector<uint8_t> packet) {
    loop->Post(EventLoop::IfAlive(alive, [this, tunnel_id, p = std::move(packet)]() mutable {
      OnControlFromDataplane(tunnel_id, std::move(p));
    }));
  });
}

L2tpControlPlane::~L2tpControlPlane() {
  alive_.reset();  // What is still posted for this control plane does nothing now.
  dp_.SetControlPacketHandler(nullptr);
  for (auto& [id, s] : sockets_) {
    if (s.watched) loop_.RemoveFd(s.fd);
    close(s.fd);
  }
  for (auto& [local, ep] : endpoints_) {
    if (ep->timer) loop_.Cancel(ep->timer);
    loop_.RemoveFd(ep->fd);
    close(ep->fd);
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
  auto fd = OpenUdp(*addr, config_.l2tp_port, nullptr, 0);
  if (!fd.ok()) return fd.status();
  auto ep = std::make_unique<Endpoint>();
  ep->local = addr->ToString();
  ep->fd = *fd;
  l2tp::EngineConfig ec;
  ec.host_name = config_.agent_id;
  if (addr->is_v4()) {
    ec.router_id = uint32_t{addr->bytes[0]} << 24 | uint32_t{addr->bytes[1]} << 16 |
                   uint32_t{addr->bytes[2]} << 8 | addr->bytes[3];
  }
  ec.pw_capabilities.clear();
  for (auto t : dp_.GetCapabilities().pw_types) ec.pw_capabilities.push_back(uint16_t(t));
  ep->engine = std::make_unique<l2tp::Engine>(ec, *random_, this);
  Endpoint* raw = ep.get();
  if (auto s = loop_.AddFd(raw->fd, EPOLLIN, [this, raw](uint32_t) { OnReadable(*raw, raw->fd); });
      !s.ok()) {
    close(raw->fd);
    return s;
  }
  spdlog::info("l2tp: listening on {}:{}", ep->local, config_.l2tp_port);
  endpoints_[ep->local] = std::move(ep);
  return raw;
}

void L2tpControlPlane::OnReadable(Endpoint& ep, int fd) {
  uint8_t buf[4096];
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) break;
    OnDatagram(ep, FromSockaddr(from), std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  }
  Drive(ep);
}

void L2tpControlPlane::OnDatagram(Endpoint& ep, const l2tp::PeerAddress& peer,
                                  std::span<const uint8_t> bytes) {
  if (bytes.empty() || (bytes[0] & 0x80) == 0) return;  // A data packet: not ours (T=0).
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
  if (t == tunnels_.end() || ep == nullptr) return;
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
  for (auto& d : ep.engine->TakePackets()) {
    sockaddr_storage ss;
    socklen_t len = ToSockaddr(FromPeer(d.peer), d.peer.port, ss);
    if (sendto(ep.fd, d.bytes.data(), d.bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) <
        0) {
      spdlog::debug("l2tp: send to {}: {}", d.peer.ToString(), std::strerror(errno));
    }
  }
  auto events = ep.engine->TakeEvents();
  for (const auto& e : events) HandleEvent(ep, e);
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
  if (!events.empty()) Changed();
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
    OnSessionUp(*su);
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
  auto fd = OpenUdp(*local, config_.l2tp_port, &peer, up.peer.port);
  if (!fd.ok()) {
    spdlog::error("l2tp: tunnel {} socket: {}", up.ccid, fd.status().ToString());
    return;
  }
  Socket sock{*fd, true, false, ep.local};
  Endpoint* raw = &ep;
  int f = *fd;
  if (!loop_.AddFd(f, EPOLLIN, [this, raw, f](uint32_t) { OnReadable(*raw, f); }).ok()) {
    sock.watched = false;
  }
  sockets_[up.ccid] = sock;
}

std::string L2tpControlPlane::IdentityMismatch(const std::string& local, const std::string& peer,
                                               const l2tp::ControlConnectionUp& up) const {
  if (desired_ == nullptr) return "";
  std::string why;
  for (const auto& [name, pw] : desired_->pseudowires) {
    if (pw.is_static || pw.tunnel.peer != peer || pw.tunnel.local != local) continue;
    if (!pw.external_peer) return "";  // A pwire agent there: not an external peer's rules.
    const ControlParams& c = pw.control;
    // RFC 3931 §5.4.3: the Host Name and Router ID AVPs the peer presented.
    if (!c.expected_hostname.empty() && c.expected_hostname != up.peer_host_name) {
      why = absl::StrCat("peer host name '", up.peer_host_name, "', expected '",
                         c.expected_hostname, "'");
    } else if (c.expected_router_id != 0 && c.expected_router_id != up.peer_router_id) {
      why = absl::StrCat("peer router id ", up.peer_router_id, ", expected ", c.expected_router_id);
    } else {
      return "";
    }
  }
  return why;
}

void L2tpControlPlane::RefuseConnection(ObservedTunnel& t, const std::string& why) {
  spdlog::warn("l2tp: control connection {} with {} refused: {}", t.local_id, t.key.peer, why);
  ++extra_.refused_tunnels;
  if (desired_ != nullptr) {
    for (const auto& [name, pw] : desired_->pseudowires) {
      if (pw.external_peer && pw.tunnel.peer == t.key.peer) last_error_[name] = why;
    }
  }
  t.state = LinkState::kClosing;
  // StopCCN once this round of engine events is handled (closing drives the engine). §5.4.2:
  // result 4, requester is not authorized to establish a control channel.
  const uint32_t ccid = t.local_id;
  loop_.Post(EventLoop::IfAlive(alive_, [this, ccid] { CloseTunnelWith(ccid, 4); }));
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
  tunnels_.erase(down.ccid);
  CloseSocket(down.ccid);
}

void L2tpControlPlane::OnSessionUp(const l2tp::SessionUp& up) {
  const auto& info = up.info;
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
  ObservedSession& s = sessions_[pw];
  s.tunnel_id = info.ccid;
  s.local_session_id = info.local_session_id;
  s.peer_session_id = info.remote_session_id;
  s.cookie = info.local_cookie;
  s.peer_cookie = info.remote_cookie;
  s.state = LinkState::kEstablished;
  s.peer_circuit_active = info.circuit_active;
  s.opened_with = *d;
  last_error_.erase(pw);
  backoff_.erase(pw);
  spdlog::info("l2tp: session {} for {} established (peer session {}, cookies {}/{})",
               info.local_session_id, pw, info.remote_session_id, info.local_cookie.size(),
               info.remote_cookie.size());
  if (replaced) {
    // The peer opened the pseudowire again on a new control connection: it lost its state
    // (a restart). The old session is closed; its CDN goes to a peer that forgot it.
    spdlog::info("l2tp: session {} for {} replaces session {} on tunnel {}", info.local_session_id,
                 pw, replaced->second, replaced->first);
    (void)CloseSessionById(replaced->first, replaced->second);
  }
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

bool L2tpControlPlane::Expects(const l2tp::PeerAddress& peer) const {
  if (desired_ == nullptr) return false;
  const std::string addr = FromPeer(peer).ToString();
  return std::any_of(
      desired_->pseudowires.begin(), desired_->pseudowires.end(),
      [&](const auto& kv) { return !kv.second.is_static && kv.second.tunnel.peer == addr; });
}

bool L2tpControlPlane::InUnexpectedGrace(const l2tp::PeerAddress& peer) {
  if (desired_ == nullptr) return true;  // nothing known yet: neither accept nor refuse
  const base::Instant now = loop_.Now();
  if (unexpected_sccrq_.size() >= kMaxUnexpectedPeers) {
    std::erase_if(unexpected_sccrq_,
                  [&](const auto& kv) { return now - kv.second > kUnexpectedGrace; });
  }
  auto [it, fresh] = unexpected_sccrq_.try_emplace(peer.ToString(), now);
  return fresh || now - it->second <= kUnexpectedGrace;
}

l2tp::ControlConnectionDecision L2tpControlPlane::OnIncomingControlConnection(
    const l2tp::PeerAddress& peer, const std::string& host_name) {
  l2tp::ControlConnectionDecision refuse{.accept = false, .params = std::nullopt, .result = 4};
  if (desired_ == nullptr) return refuse;
  const std::string addr = FromPeer(peer).ToString();
  const DesiredPseudowire* found = nullptr;
  for (const auto& [name, pw] : desired_->pseudowires) {
    if (pw.is_static || pw.tunnel.peer != addr) continue;
    // With classes of different secrets towards one peer, its Host Name picks the one.
    bool named = !host_name.empty() && (pw.peer_agent == absl::StrCat("agents/", host_name) ||
                                        pw.control.expected_hostname == host_name);
    if (found == nullptr || named) found = &pw;
    if (named) break;
  }
  if (found == nullptr) {
    // §5.4.2 result 4: requester not authorized. Counted when first left unanswered.
    spdlog::info("l2tp: SCCRQ from {} refused: no desired pseudowire with it", peer.ToString());
    return refuse;
  }
  return {.accept = true, .params = ParamsFor(found->control), .result = 0};
}

l2tp::SessionDecision L2tpControlPlane::OnIncomingSession(const l2tp::IncomingSession& req) {
  l2tp::SessionDecision no;
  no.accept = false;
  no.result = 5;  // §5.4.2: no facilities for it (permanent): nothing desired matches.
  if (desired_ == nullptr) return no;
  IpAddress peer = FromPeer(req.peer);
  auto candidates = incoming_.find(IncomingKey(peer.ToString(), req.remote_end_id));
  if (candidates == incoming_.end()) {
    ++extra_.refused_sessions;
    spdlog::warn("l2tp: refused session from {} remote end id '{}': no desired pseudowire",
                 req.peer.ToString(), req.remote_end_id);
    return no;
  }
  for (const std::string* name_of : candidates->second) {
    const std::string& name = *name_of;
    auto it = desired_->pseudowires.find(name);
    if (it == desired_->pseudowires.end()) continue;
    const DesiredPseudowire& pw = it->second;
    if (static_cast<uint16_t>(pw.session.pw_type) != req.pw_type) {
      no.result = 14;  // §5.4.2: unsupported PW type (for this binding)
      continue;
    }
    if (auto cur = sessions_.find(name); cur != sessions_.end() &&
                                         cur->second.state == LinkState::kEstablished &&
                                         cur->second.tunnel_id == req.ccid) {
      continue;  // Already up on this control connection: a duplicate request.
    }
    // Up on another control connection with this peer: the peer asks again because it lost
    // its state (restarted); the new session replaces the old one once up (OnSessionUp).
    l2tp::SessionDecision yes;
    yes.accept = true;
    yes.params.pw_type = req.pw_type;
    yes.params.remote_end_id = req.remote_end_id;
    yes.params.cookie_length = static_cast<uint8_t>(pw.cookie_length);
    yes.params.sublayer = pw.session.sublayer == dataplane::Sublayer::kNone
                              ? l2tp::Sublayer::kNone
                              : l2tp::Sublayer::kDefault;
    yes.params.require_sequencing = pw.session.recv_seq;
    accepted_[RequestKey(req.ccid, req.remote_end_id)] = name;
    return yes;
  }
  ++extra_.refused_sessions;
  spdlog::warn("l2tp: refused session from {} remote end id '{}': no desired pseudowire",
               req.peer.ToString(), req.remote_end_id);
  return no;
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
  p.sublayer = pw.session.sublayer == dataplane::Sublayer::kNone ? l2tp::Sublayer::kNone
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

absl::StatusOr<int> L2tpControlPlane::TunnelSocket(const dataplane::TunnelConfig& c) {
  auto it = sockets_.find(c.local_tunnel_id);
  if (it == sockets_.end()) {
    if (tunnels_.count(c.local_tunnel_id)) {
      return absl::UnavailableError("control connection has no socket");
    }
    // A static tunnel: its own socket on the shared port.
    if (c.encap != dataplane::Encap::kUdp) {
      return absl::UnimplementedError("static IP-encapsulated tunnels: use the kernel data plane");
    }
    auto fd = OpenUdp(c.local, c.local_port, &c.peer, c.peer_port);
    if (!fd.ok()) return fd.status();
    it = sockets_.emplace(c.local_tunnel_id, Socket{*fd, false, true, c.local.ToString()}).first;
    if (!dp_reads_control_) {
      auto ep = EndpointFor(c.local.ToString());
      if (ep.ok()) {
        Endpoint* raw = *ep;
        int f = *fd;
        it->second.watched =
            loop_.AddFd(f, EPOLLIN, [this, raw, f](uint32_t) { OnReadable(*raw, f); }).ok();
      }
    }
  }
  if (dp_reads_control_ && it->second.watched) {
    loop_.RemoveFd(it->second.fd);  // The data plane reads it from now on.
    it->second.watched = false;
  }
  return it->second.fd;
}

void L2tpControlPlane::ReleaseTunnelSocket(uint32_t tunnel_id) {
  auto it = sockets_.find(tunnel_id);
  if (it == sockets_.end()) return;
  if (it->second.is_static) {
    CloseSocket(tunnel_id);
    return;
  }
  if (!it->second.watched) {  // Back to us while the control connection lives.
    Endpoint* ep = EndpointOfTunnel(tunnel_id);
    if (ep == nullptr) return;
    int f = it->second.fd;
    it->second.watched =
        loop_.AddFd(f, EPOLLIN, [this, ep, f](uint32_t) { OnReadable(*ep, f); }).ok();
  }
}

void L2tpControlPlane::CloseSocket(uint32_t tunnel_id) {
  auto it = sockets_.find(tunnel_id);
  if (it == sockets_.end()) return;
  if (it->second.watched) loop_.RemoveFd(it->second.fd);
  // The data plane may still hold the descriptor: it learns the tunnel is gone when the
  // reconciler removes it; closing first makes its reads fail harmlessly.
  close(it->second.fd);
  sockets_.erase(it);
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

void L2tpControlPlane::SetDesired(const DesiredSnapshot* desired) {
  desired_ = desired;
  backoff_.clear();  // New desired state: what failed may work now.
  incoming_.clear();
  if (desired_ == nullptr) return;
  for (const auto& [name, pw] : desired_->pseudowires) {
    if (pw.is_static) continue;
    std::string id(pw.remote_end_id.begin(), pw.remote_end_id.end());
    incoming_[IncomingKey(pw.tunnel.peer, id)].push_back(&name);
  }
}

void L2tpControlPlane::Failed(const std::string& key) {
  Backoff& b = backoff_[key];
  b.failures = std::min(b.failures + 1, 16);
  auto d = kBackoffInitial;
  for (int i = 1; i < b.failures && d < kBackoffMax; ++i) d *= 2;
  d = std::min(d, kBackoffMax);
  auto half = d / 2;
  auto wait =
      half + std::chrono::milliseconds(random_->Uniform(static_cast<uint64_t>(half.count())));
  b.retry_at = loop_.Now() + wait;
  spdlog::info("l2tp: {} failed ({} in a row): next attempt in {} ms", key, b.failures,
               wait.count());
}

std::optional<base::Instant> L2tpControlPlane::RetryAt(const std::string& key) const {
  auto it = backoff_.find(key);
  if (it == backoff_.end()) return std::nullopt;
  return it->second.retry_at;
}

std::string L2tpControlPlane::LastError(const std::string& pw) const {
  auto it = last_error_.find(pw);
  return it == last_error_.end() ? "" : it->second;
}

}  // namespace pwire::agent
