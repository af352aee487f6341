// L2tpControlPlane, peer-acceptance policy: which SCCRQs and ICRQs are answered (against the
// desired snapshot), with which class's parameters, and which established control
// connections are refused (identity of an external peer). See l2tp_control.h.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/core/l2tp_control.h"
#include "agent/core/l2tp_convert.h"
#include "spdlog/spdlog.h"

namespace pwire::agent {

using dataplane::IpAddress;

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
    yes.params.sublayer = pw.session.rx_sublayer == dataplane::Sublayer::kNone
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
  loop_.Post(Dispatcher::IfAlive(alive_, [this, ccid] { CloseTunnelWith(ccid, 4); }));
}

}  // namespace pwire::agent
