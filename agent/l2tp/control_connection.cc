// One control connection: RFC 3931 §7.2 over reliable delivery (§4.2), with control message
// authentication (§4.3, §5.4.1) and HELLO keepalive (§6.5). See control_connection.h.
#include "agent/l2tp/control_connection.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "agent/l2tp/digest.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

constexpr size_t kNonceLength = 16;

// Offsets in a packet of the fields we patch after encoding.
size_t Prefix(Transport t) { return t == Transport::kIp ? kIpControlPrefixSize : 0; }

}  // namespace

ControlConnection::ControlConnection(Engine& engine, uint32_t local_id, const PeerAddress& peer,
                                     const ControlConnectionParams& params, uint8_t version)
    : engine_(engine),
      local_id_(local_id),
      version_(version),
      peer_(peer),
      auth_(params.auth.value_or(engine.config_.auth)),
      reliable_config_(params.reliable.value_or(engine.config_.reliable)),
      hello_interval_(params.hello_interval.value_or(engine.config_.hello_interval)),
      reliable_(reliable_config_, *this) {
  for (size_t i = 0; version_ == 3 && i < auth_.secrets.size() && i < 2; ++i) {
    keys_.push_back(DigestKey{auth_.digest, DeriveSharedKey(auth_.secrets[i])});
  }
  if (!keys_.empty()) {
    local_nonce_.resize(kNonceLength);
    engine_.random_.Fill(local_nonce_);
  }
}

DecodeOptions ControlConnection::DecodeOpts() const {
  // RFC 2661 §4.3: a peer may hide AVPs with the tunnel secret.
  DecodeOptions o;
  if (!auth_.secrets.empty()) {
    o.secret = auth_.secrets.front();
  }
  return o;
}

uint16_t ControlConnection::ReceiveWindow() const { return reliable_config_.receive_window; }

Message::Builder ControlConnection::Start(MessageType type) const {
  Message::Builder b(type, version_);
  // §5.4.1: one Message Digest per secret (two during a rollover), right after the type.
  for (size_t i = 0; i < keys_.size(); ++i) {
    b.Add<avp::MessageDigest>(MessageDigest{auth_.digest, Bytes(DigestLength(auth_.digest))});
  }
  return b;
}

Bytes ControlConnection::Encode(const Message& m, uint16_t ns, uint16_t nr,
                                uint16_t session) const {
  ControlHeader h{
      .version = version_, .connection_id = remote_id_, .session_id = session, .ns = ns, .nr = nr};
  absl::StatusOr<Bytes> out = EncodeControl(h, m, engine_.config_.transport);
  if (!out.ok()) {  // our own message: a broken invariant
    std::fprintf(stderr, "l2tp: cannot encode %s: %s\n",
                 std::string(MessageTypeName(m.type())).c_str(),
                 std::string(out.status().message()).c_str());
    std::abort();
  }
  return *std::move(out);
}

void ControlConnection::Sign(Bytes& packet) const {
  if (keys_.empty()) {
    return;
  }
  absl::Status s = SignControl(packet, engine_.config_.transport, keys_, local_nonce_, peer_nonce_);
  if (!s.ok()) {  // our own message: a broken invariant
    std::fprintf(stderr, "l2tp: cannot sign: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
}

bool ControlConnection::Verify(std::span<const uint8_t> message,
                               std::span<const uint8_t> peer_nonce) const {
  // `message` starts at the T bit, i.e. the UDP form whatever the transport.
  return VerifyControl(message, Transport::kUdp, keys_, local_nonce_, peer_nonce).ok();
}

void ControlConnection::Queue(Instant now, const Message& message, uint16_t session) {
  reliable_.Send(now, Encode(message, 0, 0, session));
}

void ControlConnection::SendMessage(std::vector<uint8_t>& message, uint16_t ns, uint16_t nr) {
  // §4.2: Ns stays, Nr is refreshed on every (re)transmission; the digest covers both.
  const size_t at = Prefix(engine_.config_.transport);
  base::StoreBe16(&message[at + 8], ns);
  base::StoreBe16(&message[at + 10], nr);
  Sign(message);
  engine_.packets_.push_back(Datagram{peer_, message});
}

void ControlConnection::SendAck(uint16_t ns, uint16_t nr) {
  // L2TPv3 explicit acknowledgement: the ACK message (type 20), signed like any other.
  // L2TPv2 has no ACK message: a ZLB (RFC 2661 §5.8).
  Bytes packet = Encode(version_ == 2 ? Message() : Start(MessageType::kAck).Build(), ns, nr);
  Sign(packet);
  engine_.packets_.push_back(Datagram{peer_, std::move(packet)});
}

void ControlConnection::ScheduleHello(Instant now) {
  const EngineConfig& c = engine_.config_;
  if (hello_interval_ <= Duration::zero()) {
    return;
  }
  // Jitter spreads the HELLOs of many connections (they would otherwise fire together).
  const auto span = static_cast<uint64_t>(hello_interval_.count() * c.hello_jitter);
  const Duration jitter(span == 0 ? 0 : engine_.random_.Uniform(span));
  hello_at_ = now + hello_interval_ - jitter;
}

void ControlConnection::AddIdentity(Message::Builder& b) const {
  const EngineConfig& c = engine_.config_;
  if (version_ == 2) {
    // RFC 2661 §6.1, §6.2: Protocol Version 1.0, Host Name, Framing Capabilities (sync and
    // async), Assigned Tunnel ID.
    b.Add<avp::ProtocolVersion>(ProtocolVersion{1, 0})
        .Add<avp::HostName>(c.host_name)
        .Add<avp::FramingCapabilities>(3)
        .Add<avp::AssignedTunnelId>(static_cast<uint16_t>(local_id_))
        .Add<avp::ReceiveWindowSize>(ReceiveWindow());
    return;
  }
  b.Add<avp::HostName>(c.host_name)
      .Add<avp::RouterId>(c.router_id)
      .Add<avp::AssignedControlConnectionId>(local_id_)
      .Add<avp::PwCapabilitiesList>(c.pw_capabilities)
      .Add<avp::ReceiveWindowSize>(ReceiveWindow());
}

void ControlConnection::Open(Instant now) {
  initiator_ = true;
  reliable_.SetMaxRetries(engine_.config_.sccrq_max_retries);
  const EngineConfig& c = engine_.config_;
  auto b = Start(MessageType::kSccrq);
  AddIdentity(b);
  if (c.send_tie_breaker) {
    tie_breaker_ = engine_.random_.Next64();
    b.Add<avp::TieBreaker>(*tie_breaker_);
  }
  if (!local_nonce_.empty()) {
    b.Add<avp::ControlMessageAuthNonce>(local_nonce_);
  }
  if (version_ == 2 && !auth_.secrets.empty()) {
    my_challenge_.resize(16);  // RFC 2661 §5.1.1 tunnel authentication
    engine_.random_.Fill(my_challenge_);
    b.Add<avp::Challenge>(my_challenge_);
  }
  Step(now, CcEvent::kLocalOpen, {});
  Queue(now, b.Build());
}

bool ControlConnection::CheckChallengeResponse(const Message& m, uint8_t type,
                                               ResultCode& why) const {
  if (my_challenge_.empty()) {
    return true;
  }
  auto response = m.Get<avp::ChallengeResponse>();
  if (!response || *response != ChallengeResponse(type, auth_.secrets.front(), my_challenge_)) {
    why = Result(4, std::nullopt, "tunnel authentication failed (Challenge Response)");
    return false;
  }
  return true;
}

bool ControlConnection::LearnPeer(const Message& m, ResultCode& why) {
  if (version_ == 2) {
    // RFC 2661 §6.1: Assigned Tunnel ID and Protocol Version 1.0 are required.
    auto tid = m.Get<avp::AssignedTunnelId>();
    auto pv = m.Get<avp::ProtocolVersion>();
    if (!tid || *tid == 0) {
      why = Result(2, 6, "missing Assigned Tunnel ID");
      return false;
    }
    if (pv && pv->version != 1) {
      why = Result(5, 0x0100, "protocol version 1.0 only");
      return false;
    }
    remote_id_ = *tid;
    peer_pw_caps_ = {0x0007};  // L2TPv2 carries PPP
    peer_host_name_ = m.Get<avp::HostName>().value_or("");
    reliable_.SetPeerWindow(m.Get<avp::ReceiveWindowSize>().value_or(4));
    if (auto challenge = m.Get<avp::Challenge>()) {
      if (auth_.secrets.empty()) {
        why = Result(4, std::nullopt, "challenged without a tunnel secret");
        return false;
      }
      peer_challenge_ = *challenge;
    }
    return true;
  }
  // §6.1, §6.2: the AVPs an SCCRQ/SCCRP must carry. A missing Router ID is tolerated (some
  // peers omit it over UDP); the connection ID and capabilities are not.
  auto ccid = m.Get<avp::AssignedControlConnectionId>();
  auto caps = m.Get<avp::PwCapabilitiesList>();
  if (!ccid || *ccid == 0 || !caps) {
    why = Result(2, 6, "missing Assigned Control Connection ID or PW Capabilities");
    return false;
  }
  remote_id_ = *ccid;
  peer_pw_caps_ = *caps;
  peer_host_name_ = m.Get<avp::HostName>().value_or("");
  peer_router_id_ = m.Get<avp::RouterId>().value_or(0);
  reliable_.SetPeerWindow(m.Get<avp::ReceiveWindowSize>().value_or(4));
  // §4.3: authentication is bidirectional. A nonce without a secret of ours, or a secret of
  // ours without a nonce, cannot work.
  auto nonce = m.Get<avp::ControlMessageAuthNonce>();
  if (nonce.has_value() != !auth_.secrets.empty()) {
    why = Result(4, std::nullopt, "control message authentication mismatch");
    return false;
  }
  if (nonce) {
    peer_nonce_ = *nonce;
  }
  return true;
}

bool ControlConnection::AuthenticSccrq(const ControlHeaderView& view) const {
  // The SCCRQ digest uses no nonces (§5.4.1).
  return keys_.empty() || Verify(view.message, {});
}

void ControlConnection::AcceptSccrq(Instant now, const ControlHeaderView& view) {
  auto packet = DecodeControl(view, DecodeOpts());
  if (!packet.ok() || packet->message.type() != MessageType::kSccrq) {
    ++engine_.stats_.malformed;
    finished_ = true;
    return;
  }
  reliable_.Receive(now, view.header.ns, view.header.nr, false, {});
  ScheduleHello(now);
  ResultCode why;
  const bool ok = !packet->fatal && LearnPeer(packet->message, why);
  if (packet->fatal) {
    why = RejectionFor(*packet).result;
  }
  if (!ok) {
    Step(now, CcEvent::kSccrqNotAcceptable, why);
    reliable_.Flush(now);
    return;
  }
  auto b = Start(MessageType::kSccrp);
  AddIdentity(b);
  if (!local_nonce_.empty()) {
    b.Add<avp::ControlMessageAuthNonce>(local_nonce_);
  }
  if (version_ == 2) {
    // RFC 2661 §5.1.1: answer the peer's challenge; challenge it back if we have a secret.
    if (!peer_challenge_.empty()) {
      b.Add<avp::ChallengeResponse>(ChallengeResponse(2, auth_.secrets.front(), peer_challenge_));
    }
    if (!auth_.secrets.empty()) {
      my_challenge_.resize(16);
      engine_.random_.Fill(my_challenge_);
      b.Add<avp::Challenge>(my_challenge_);
    }
  }
  Step(now,
       state_ == CcState::kWaitCtlReply ? CcEvent::kSccrqLoseTieAcceptable
                                        : CcEvent::kSccrqAcceptable,
       {});
  Queue(now, b.Build());
  reliable_.Flush(now);
}

bool ControlConnection::Authentic(const ControlHeaderView& view, const Message& m) {
  if (keys_.empty()) {
    return true;  // L2TPv2 authenticates the tunnel by Challenge only
  }
  if (m.type() == MessageType::kSccrp) {
    // The SCCRP brings the peer's nonce, which its digest already uses (§5.4.1).
    auto nonce = m.Get<avp::ControlMessageAuthNonce>();
    if (!nonce) {
      return false;
    }
    return Verify(view.message, *nonce);
  }
  if (peer_nonce_.empty()) {
    // A StopCCN refusing our SCCRQ comes before any nonce of the peer's: it is signed with
    // ours alone (§5.4.1), as RejectSccrq signs the ones we send.
    return state_ == CcState::kWaitCtlReply && m.type() == MessageType::kStopccn &&
           Verify(view.message, {});
  }
  return Verify(view.message, peer_nonce_);
}

void ControlConnection::OnPacket(Instant now, const PeerAddress& from,
                                 const ControlHeaderView& view) {
  if (finished_) {
    return;
  }
  absl::StatusOr<ControlPacket> packet = DecodeControl(view, DecodeOpts());
  if (!packet.ok()) {
    ++engine_.stats_.malformed;  // §7.1: discard
    return;
  }
  if (!Authentic(view, packet->message)) {
    ++engine_.stats_.auth_failures;  // §5.4.1: the message MUST be dropped
    return;
  }
  const MessageType type = packet->message.type();
  const bool is_ack = packet->message.is_zlb() || type == MessageType::kAck;
  const auto verdict = reliable_.Receive(now, view.header.ns, view.header.nr, is_ack, view.message);
  if (verdict == Reliable::Verdict::kBadNr) {
    ++engine_.stats_.bad_nr;
    return;
  }
  ScheduleHello(now);
  if (verdict == Reliable::Verdict::kDeliver) {
    Deliver(now, from, *std::move(packet));
    while (auto held = reliable_.PopReady()) {
      auto v = ParseControlHeader(*held, Transport::kUdp);  // held from the T bit on
      if (!v.ok()) {
        continue;
      }
      auto p = DecodeControl(*v, DecodeOpts());
      if (p.ok()) {
        Deliver(now, from, *std::move(p));
      }
    }
  }
  reliable_.Flush(now);
}

void ControlConnection::Deliver(Instant now, const PeerAddress& from, const ControlPacket& packet) {
  if (closing_ || finished_) {
    return;  // holding state: acknowledge only (§4.2)
  }
  const Message& m = packet.message;
  if (packet.fatal) {
    ++engine_.stats_.rejected_messages;
    Rejection r = RejectionFor(packet);
    if (r.scope == MessageScope::kSession) {
      SessionOps::Reject(now, *this, m, packet.header.session_id, r.result);
    } else {
      CleanUp(now, r.result, "unknown mandatory AVP", true);
    }
    return;
  }
  switch (m.type()) {
    case MessageType::kZlb:
    case MessageType::kAck:
    case MessageType::kHello:
      return;
    case MessageType::kSccrq:
      return Step(now, CcEvent::kSccrq, Result(2, 0, "SCCRQ on an open connection"));
    case MessageType::kSccrp:
      return OnSccrp(now, from, m);
    case MessageType::kScccn: {
      ResultCode why = Result(7, std::nullopt, "SCCCN in the wrong state");
      if (state_ != CcState::kWaitCtlConn) {
        return Step(now, CcEvent::kScccn, why);
      }
      return Step(now,
                  CheckChallengeResponse(m, 3, why) ? CcEvent::kScccnAcceptable
                                                    : CcEvent::kScccnNotAcceptable,
                  why);
    }
    case MessageType::kStopccn:
      return OnStopccn(now, m);
    case MessageType::kIcrq:
    case MessageType::kIcrp:
    case MessageType::kIccn:
    case MessageType::kOcrq:
    case MessageType::kOcrp:
    case MessageType::kOccn:
    case MessageType::kCdn:
    case MessageType::kSli:
    case MessageType::kWen:
      if (state_ != CcState::kEstablished) {
        return CleanUp(now, Result(7, std::nullopt, "session message before established"),
                       "session message before established", true);
      }
      return SessionOps::OnMessage(now, *this, m, packet.header.session_id);
  }
  // An unknown message type without the M bit: ignored once acknowledged (§5.2).
}

void ControlConnection::OnSccrp(Instant now, const PeerAddress& from, const Message& m) {
  if (state_ != CcState::kWaitCtlReply) {
    return Step(now, CcEvent::kSccrp, Result(7, std::nullopt, "SCCRP in the wrong state"));
  }
  ResultCode why;
  if (!LearnPeer(m, why) || !CheckChallengeResponse(m, 2, why)) {
    return Step(now, CcEvent::kSccrpNotAcceptable, why);
  }
  peer_ = from;  // the responder may answer from another port (NAT): use it from now on
  reliable_.SetMaxRetries(reliable_config_.max_retries);
  Step(now, CcEvent::kSccrpAcceptable, {});
}

void ControlConnection::OnStopccn(Instant now, const Message& m) {
  ResultCode rc = m.Get<avp::ResultCode>().value_or(Result(1));
  Step(now, CcEvent::kStopccn, rc);
}

void ControlConnection::Step(Instant now, CcEvent event, const ResultCode& stop_result) {
  std::optional<CcTransition> t = CcStep(state_, event);
  if (!t) {
    // §7.1: a message in the wrong state is invalid: clear the connection.
    ++engine_.stats_.rejected_messages;
    return CleanUp(now, Result(7, std::nullopt, "unexpected message"),
                   std::string("no transition for ") + std::string(Name(event)) + " in " +
                       std::string(Name(state_)),
                   true);
  }
  state_ = t->to;
  if (t->actions & kCcSendScccn) {
    SendScccn(now);
  }
  if (t->actions & kCcOpenSessions) {
    Established(now);
  }
  if (t->actions & (kCcCleanUp | kCcCleanUpLosing)) {
    const bool stop = (t->actions & kCcSendStopccn) != 0;
    std::string reason = event == CcEvent::kStopccn ? "StopCCN received" : std::string(Name(event));
    if (!stop_result.message.empty()) {
      reason += ": " + stop_result.message;
    }
    CleanUp(now, stop_result, reason, stop);
  }
}

void ControlConnection::SendScccn(Instant now) {
  auto b = Start(MessageType::kScccn);
  if (version_ == 2 && !peer_challenge_.empty()) {
    b.Add<avp::ChallengeResponse>(ChallengeResponse(3, auth_.secrets.front(), peer_challenge_));
  }
  Queue(now, b.Build());
}

void ControlConnection::Established(Instant now) {
  ScheduleHello(now);
  engine_.events_.push_back(ControlConnectionUp{.version = version_,
                                                .ccid = local_id_,
                                                .peer_ccid = remote_id_,
                                                .peer = peer_,
                                                .peer_host_name = peer_host_name_,
                                                .peer_router_id = peer_router_id_});
  SessionOps::ControlConnectionOpen(now, *this);
}

void ControlConnection::CleanUp(Instant now, ResultCode result, const std::string& reason,
                                bool send_stop) {
  if (closing_) {
    return;
  }
  closing_ = true;
  state_ = CcState::kIdle;
  if (send_stop) {
    sent_stop_ = true;
    auto b = Start(MessageType::kStopccn);
    b.Add<avp::ResultCode>(result);
    if (version_ == 2) {
      b.Add<avp::AssignedTunnelId>(static_cast<uint16_t>(local_id_));
    } else {
      b.Add<avp::AssignedControlConnectionId>(local_id_);
    }
    Queue(now, b.Build());
  }
  // §4.2, §7.5: keep delivery running for the full retransmission interval (the StopCCN
  // sender: or until it is acknowledged; the receiver: to acknowledge retransmissions).
  hold_until_ = now + reliable_.FullRetransmitInterval();
  SessionOps::DropAll(*this, result, "control connection closed: " + reason);
  if (quiet_) {
    return;
  }
  engine_.events_.push_back(ControlConnectionDown{
      .ccid = local_id_, .peer = peer_, .result = std::move(result), .reason = reason});
}

void ControlConnection::Close(Instant now, ResultCode result, std::string reason) {
  if (closing_) {
    return;
  }
  if (state_ == CcState::kIdle) {
    CleanUp(now, std::move(result), reason, false);
    finished_ = true;
    return;
  }
  reason = "local close: " + reason;
  std::optional<CcTransition> t = CcStep(state_, CcEvent::kAdminClose);
  state_ = t ? t->to : CcState::kIdle;
  CleanUp(now, std::move(result), reason, true);
}

void ControlConnection::SendCdnTo(Instant now, uint32_t peer_session, uint32_t local_session,
                                  const ResultCode& result) {
  auto b = Start(MessageType::kCdn);
  b.Add<avp::ResultCode>(result);
  if (version_ == 2) {
    // RFC 2661 §6.11: our Assigned Session ID; the header carries the peer's.
    b.Add<avp::AssignedSessionId>(static_cast<uint16_t>(local_session));
    Queue(now, b.Build(), static_cast<uint16_t>(peer_session));
    return;
  }
  b.Add<avp::LocalSessionId>(local_session).Add<avp::RemoteSessionId>(peer_session);
  Queue(now, b.Build());
}

bool ControlConnection::PeerCarries(uint16_t pw_type) const {
  for (uint16_t t : peer_pw_caps_) {
    if (t == pw_type) {
      return true;
    }
  }
  return false;
}

void ControlConnection::HandleTimeout(Instant now) {
  if (finished_) {
    return;
  }
  reliable_.HandleTimeout(now);
  if (reliable_.failed()) {
    // §4.2: no answer through every retry: clear the connection and all its sessions.
    if (!closing_) {
      CleanUp(now, Result(2, 0, "peer not responding"), "peer not responding", false);
    }
    finished_ = true;
    return;
  }
  if (closing_) {
    if (now >= hold_until_ || (sent_stop_ && reliable_.idle())) {
      finished_ = true;
    }
    return;
  }
  if (state_ == CcState::kEstablished && hello_at_ != Instant{} && now >= hello_at_) {
    Queue(now, Start(MessageType::kHello).Build());  // §6.5 keepalive
    ScheduleHello(now);
  }
  reliable_.Flush(now);
}

std::optional<Instant> ControlConnection::NextDeadline() const {
  if (finished_) {
    return std::nullopt;
  }
  std::optional<Instant> next = reliable_.NextDeadline();
  auto consider = [&](Instant t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  if (closing_) {
    consider(sent_stop_ && reliable_.idle() ? Instant{} : hold_until_);
  } else if (state_ == CcState::kEstablished && hello_at_ != Instant{}) {
    consider(hello_at_);
  }
  return next;
}

void ControlConnection::RejectSccrq(Instant now, const ControlHeaderView& view,
                                    const ResultCode& result) {
  quiet_ = true;
  auto packet = DecodeControl(view, DecodeOpts());
  if (!packet.ok()) {
    finished_ = true;
    return;
  }
  reliable_.Receive(now, view.header.ns, view.header.nr, false, {});
  remote_id_ = version_ == 2 ? packet->message.Get<avp::AssignedTunnelId>().value_or(0)
                             : packet->message.Get<avp::AssignedControlConnectionId>().value_or(0);
  // §5.4.1: the refusal is signed with the nonces the peer knows: none of ours (no SCCRP
  // advertised one), and its own from the SCCRQ, so that it can verify the StopCCN.
  local_nonce_.clear();
  peer_nonce_ = packet->message.Get<avp::ControlMessageAuthNonce>().value_or(Bytes{});
  Step(now, CcEvent::kSccrqNotAcceptable, result);
  reliable_.Flush(now);
}

void ControlConnection::DiscardLosing(uint32_t winner) {
  for (auto& [id, s] : engine_.sessions_) {
    if (s->ccid == local_id_) {
      s->ccid = winner;
    }
  }
  closing_ = true;
  finished_ = true;
  state_ = CcState::kIdle;
  engine_.events_.push_back(ControlConnectionDown{
      .ccid = local_id_,
      .peer = peer_,
      .result = Result(3, std::nullopt, "lost control connection tie breaker"),
      .reason = "lost control connection tie breaker",
      .replaced_by = winner});
}

}  // namespace pwire::l2tp
