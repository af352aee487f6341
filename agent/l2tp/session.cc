// The call state machines (RFC 3931 §7.3 incoming, §7.4 outgoing) and session messages
// (§6.6-§6.14): negotiation of PW type, cookies, sublayer and sequencing, session
// tie-breaking by Remote End ID, CDN, SLI and WEN. See control_connection.h.
#include <algorithm>
#include <utility>

#include "agent/l2tp/control_connection.h"

namespace pwire::l2tp {
namespace {

Bytes ToBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string ToString(const Bytes& b) { return std::string(b.begin(), b.end()); }

// Circuit Status AVP 71 (§5.4.5): bit 15 A (active), bit 14 N (new; deprecated by RFC
// 5641 §3, optional to send and ignored on receipt).
uint16_t CircuitBits(bool active, bool is_new) {
  return static_cast<uint16_t>((active ? circuit_status::kActive : 0) |
                               (is_new ? circuit_status::kNew : 0));
}
bool IsActive(uint16_t bits) { return (bits & circuit_status::kActive) != 0; }

bool Carries(const std::vector<uint16_t>& caps, uint16_t pw_type) {
  return std::find(caps.begin(), caps.end(), pw_type) != caps.end();
}

Session* Find(Engine& e, uint32_t ccid, uint32_t local_id);

SessionInfo InfoOf(const Session& s) {
  SessionInfo i;
  i.version = s.version;
  i.ccid = s.ccid;
  i.local_session_id = s.local_id;
  i.remote_session_id = s.remote_id;
  i.pw_type = s.pw_type;
  i.local_cookie.assign(s.local_cookie.begin(), s.local_cookie.begin() + s.local_cookie_len);
  i.remote_cookie.assign(s.remote_cookie.begin(), s.remote_cookie.begin() + s.remote_cookie_len);
  i.send_sublayer = s.peer_sublayer;
  i.recv_sublayer = s.sublayer;
  i.send_sequenced = s.peer_wants_seq;
  i.recv_sequenced = s.want_peer_seq;
  i.remote_end_id = s.remote_end_id;
  i.circuit_active = s.peer_circuit_active;
  i.replaces_session = s.replaces;
  return i;
}

}  // namespace

// Session bookkeeping that needs Engine's private members.
class SessionTable {
 public:
  static Session& Create(Engine& e, uint32_t ccid, uint8_t version, CallRole role,
                         const SessionParams& p) {
    auto s = std::make_unique<Session>();
    s->local_id = e.NewSessionId(version);
    s->version = version;
    s->ccid = ccid;
    s->role = role;
    s->pw_type = p.pw_type;
    s->remote_end_id = p.remote_end_id;
    s->sublayer = p.sublayer;
    s->want_peer_seq = p.require_sequencing;
    s->circuit_active = p.circuit_active;
    s->local_cookie_len = p.cookie_length;
    e.random_.Fill(std::span<uint8_t>(s->local_cookie.data(), p.cookie_length));
    Session& ref = *s;
    e.sessions_.emplace(ref.local_id, std::move(s));
    return ref;
  }
  static void Erase(Engine& e, uint32_t id) {
    if (Session* s = Get(e, id)) {
      Unpend(e, *s);
    }
    e.sessions_.erase(id);
  }
  static std::string Key(uint32_t ccid, const std::string& end_id) {
    return std::to_string(ccid) + "/" + end_id;
  }
  // Keeps the index of our requests awaiting a reply in step with the session's state.
  static void Track(Engine& e, Session& s) {
    const bool sender = s.role == CallRole::kIcrqSender || s.role == CallRole::kOcrqSender;
    if (sender && s.state == CallState::kWaitReply) {
      e.pending_requests_[Key(s.ccid, s.remote_end_id)] = s.local_id;
    } else {
      Unpend(e, s);
    }
  }
  static void Unpend(Engine& e, Session& s) {
    auto it = e.pending_requests_.find(Key(s.ccid, s.remote_end_id));
    if (it != e.pending_requests_.end() && it->second == s.local_id) {
      e.pending_requests_.erase(it);
    }
  }
  static Session* Pending(Engine& e, uint32_t ccid, const std::string& end_id) {
    auto it = e.pending_requests_.find(Key(ccid, end_id));
    return it == e.pending_requests_.end() ? nullptr : Get(e, it->second);
  }
  static Session* Get(Engine& e, uint32_t id) {
    auto it = e.sessions_.find(id);
    return it == e.sessions_.end() ? nullptr : it->second.get();
  }
  static std::vector<Session*> Of(Engine& e, uint32_t ccid) {
    std::vector<Session*> out;
    for (auto& [id, s] : e.sessions_) {
      if (s->ccid == ccid) {
        out.push_back(s.get());
      }
    }
    std::sort(out.begin(), out.end(),
              [](const Session* a, const Session* b) { return a->local_id < b->local_id; });
    return out;
  }
  static EngineStats& Stats(Engine& e) { return e.stats_; }
  template <class T>
  static void Emit(Engine& e, T ev) {
    e.events_.emplace_back(std::in_place_type<T>, std::move(ev));
  }
  static uint32_t NextSerial(Engine& e) { return ++e.call_serial_; }
  static SessionPolicy* Policy(Engine& e) { return e.policy_; }
  static base::Random& Rand(Engine& e) { return e.random_; }
  static const EngineConfig& Config(Engine& e) { return e.config_; }
  static ControlConnection* Cc(Engine& e, uint32_t ccid) { return e.FindCc(ccid); }
};

namespace {

Session* Find(Engine& e, uint32_t ccid, uint32_t local_id) {
  Session* s = SessionTable::Get(e, local_id);
  return s != nullptr && s->ccid == ccid ? s : nullptr;
}

void Down(Engine& e, Session& s, ResultCode result, std::string reason) {
  const uint32_t id = s.local_id;
  SessionTable::Emit(e, SessionDown{.ccid = s.ccid,
                                    .local_session_id = id,
                                    .result = std::move(result),
                                    .reason = std::move(reason)});
  SessionTable::Erase(e, id);
}

// What our side asks of the peer's data packets (§5.4.4, §6.6, §6.7): the L2-Specific
// Sublayer, Data Sequencing, and the Assigned Cookie it must carry.
void AddDataPlaneAvps(Message::Builder& b, const Session& s) {
  b.Add<avp::L2SpecificSublayer>(static_cast<uint16_t>(s.sublayer))
      .Add<avp::DataSequencing>(s.want_peer_seq ? 2 : 0);
  if (s.local_cookie_len > 0) {
    b.Add<avp::AssignedCookie>(
        Bytes(s.local_cookie.begin(), s.local_cookie.begin() + s.local_cookie_len));
  }
}

// The request of the call's initiator: ICRQ (§6.6) or OCRQ (§6.9).
void SendRequest(Instant now, ControlConnection& cc, Session& s, MessageType type) {
  s.tie_breaker = SessionTable::Rand(cc.engine()).Next64();
  auto builder = cc.Start(type);
  if (s.version == 2) {
    // RFC 2661 §6.6 ICRQ (as LAC) / §6.9 OCRQ (as LNS); the end ID rides as the number.
    builder.Add<avp::AssignedSessionId>(static_cast<uint16_t>(s.local_id))
        .Add<avp::CallSerialNumber>(SessionTable::NextSerial(cc.engine()));
    if (type == MessageType::kOcrq) {
      builder.Add<avp::MinimumBps>(0)
          .Add<avp::MaximumBps>(100'000'000)
          .Add<avp::BearerType>(3)
          .Add<avp::FramingType>(3)
          .Add<avp::CalledNumber>(s.remote_end_id);
    } else if (!s.remote_end_id.empty()) {
      builder.Add<avp::CallingNumber>(s.remote_end_id);
    }
    cc.Queue(now, builder.Build());
    return;
  }
  builder.Add<avp::LocalSessionId>(s.local_id)
      .Add<avp::RemoteSessionId>(0)
      .Add<avp::CallSerialNumber>(SessionTable::NextSerial(cc.engine()))
      .Add<avp::PwType>(s.pw_type)
      .Add<avp::RemoteEndId>(ToBytes(s.remote_end_id))
      .Add<avp::CircuitStatus>(CircuitBits(s.circuit_active, true))
      .Add<avp::TieBreaker>(s.tie_breaker);
  AddDataPlaneAvps(builder, s);
  cc.Queue(now, builder.Build());
}

// Our answer to an accepted request: ICRP (§6.7) or OCRP (§6.10).
void SendReply(Instant now, ControlConnection& cc, Session& s, MessageType type) {
  auto b = cc.Start(type);
  if (s.version == 2) {  // RFC 2661 §6.7 ICRP / §6.10 OCRP
    b.Add<avp::AssignedSessionId>(static_cast<uint16_t>(s.local_id));
    cc.Queue(now, b.Build(), static_cast<uint16_t>(s.remote_id));
    return;
  }
  b.Add<avp::LocalSessionId>(s.local_id)
      .Add<avp::RemoteSessionId>(s.remote_id)
      .Add<avp::CircuitStatus>(CircuitBits(s.circuit_active, true));
  AddDataPlaneAvps(b, s);
  cc.Queue(now, b.Build());
}

// ICCN (§6.8) or OCCN (§6.11).
void SendConnected(Instant now, ControlConnection& cc, Session& s, MessageType type) {
  auto b = cc.Start(type);
  if (s.version == 2) {  // RFC 2661 §6.8 ICCN / §6.11 OCCN: speed and framing (sync)
    b.Add<avp::TxConnectSpeedBps>(100'000'000).Add<avp::FramingType>(1);
    cc.Queue(now, b.Build(), static_cast<uint16_t>(s.remote_id));
    return;
  }
  b.Add<avp::LocalSessionId>(s.local_id)
      .Add<avp::RemoteSessionId>(s.remote_id)
      .Add<avp::CircuitStatus>(CircuitBits(s.circuit_active, false));
  cc.Queue(now, b.Build());
}

// Reads what the peer sent about its side: session ID, cookie, sublayer, sequencing.
// Returns a CDN result if the parameters cannot work.
std::optional<ResultCode> LearnPeerSide(Session& s, const Message& m) {
  if (s.version == 2) {
    auto peer_id = m.Get<avp::AssignedSessionId>();
    if (!peer_id || *peer_id == 0) {
      return Result(2, 5, "missing Assigned Session ID");
    }
    s.remote_id = *peer_id;
    return std::nullopt;
  }
  auto peer_id = m.Get<avp::LocalSessionId>();
  if (!peer_id || *peer_id == 0) {
    return Result(2, 5, "missing Local Session ID");
  }
  s.remote_id = *peer_id;
  if (const Bytes* cookie = m.Find<avp::AssignedCookie>()) {
    if (cookie->size() != 4 && cookie->size() != 8) {
      return Result(2, 3, "cookie length");
    }
    std::copy(cookie->begin(), cookie->end(), s.remote_cookie.begin());
    s.remote_cookie_len = static_cast<uint8_t>(cookie->size());
  }
  // §5.4.4: without the AVP there is no sublayer; 1 is the default sublayer.
  const uint16_t sub = m.Get<avp::L2SpecificSublayer>().value_or(0);
  if (sub > 1) {
    return Result(2, 3, "unsupported L2-Specific Sublayer");
  }
  s.peer_sublayer = static_cast<Sublayer>(sub);
  s.peer_wants_seq = m.Get<avp::DataSequencing>().value_or(0) != 0;
  if (s.peer_wants_seq && s.peer_sublayer == Sublayer::kNone) {
    return Result(15, std::nullopt, "sequencing required without L2-Specific Sublayer");
  }
  if (auto cs = m.Get<avp::CircuitStatus>()) {
    s.peer_circuit_active = IsActive(*cs);
  }
  return std::nullopt;
}

// Applies a table row to a session; returns false if the session is gone.
bool Apply(Instant now, ControlConnection& cc, Session& s, CallEvent event, ResultCode cdn) {
  Engine& e = cc.engine();
  std::optional<CallTransition> t = CallStep(s.role, s.state, event);
  if (!t) {
    // §7.1: received in the wrong state: clear the session.
    t = CallTransition{s.state, event, kCallSendCdn | kCallCleanUp, CallState::kIdle};
    cdn = Result(16, std::nullopt,
                 std::string("unexpected ") + std::string(Name(event)) + " in " +
                     std::string(Name(s.state)));
  }
  s.state = t->to;
  SessionTable::Track(e, s);
  const uint16_t a = t->actions;
  // Before the reply that lets the peer send data (see SessionNegotiated in engine.h).
  if ((a & (kCallSendIcrp | kCallSendOcrp)) != 0 || event == CallEvent::kOcrpAcceptable) {
    SessionTable::Emit(e, SessionNegotiated{InfoOf(s)});
  }
  if (a & kCallSendIcrq) {
    SendRequest(now, cc, s, MessageType::kIcrq);
  }
  if (a & kCallSendOcrq) {
    SendRequest(now, cc, s, MessageType::kOcrq);
  }
  if (a & kCallSendIcrp) {
    SendReply(now, cc, s, MessageType::kIcrp);
  }
  if (a & kCallSendOcrp) {
    SendReply(now, cc, s, MessageType::kOcrp);
  }
  if (a & kCallSendIccn) {
    SendConnected(now, cc, s, MessageType::kIccn);
  }
  if (a & kCallSendOccn) {
    SendConnected(now, cc, s, MessageType::kOccn);
  }
  if (a & kCallSendCdn) {
    cc.SendCdnTo(now, s.remote_id, s.local_id, cdn);
  }
  if (a & kCallUp) {
    SessionTable::Emit(e, SessionUp{InfoOf(s)});
  }
  if (a & kCallCleanUp) {
    Down(e, s, cdn, cdn.message.empty() ? std::string(Name(event)) : cdn.message);
    return false;
  }
  return true;
}

// A peer's ICRQ or OCRQ (§7.3.2, §7.4.2), after tie-breaking.
void OnRequest(Instant now, ControlConnection& cc, const Message& m, bool outgoing,
               const SessionDecision* forced, uint32_t replaces) {
  Engine& e = cc.engine();
  const bool v2 = cc.version() == 2;
  const uint32_t peer_id =
      v2 ? m.Get<avp::AssignedSessionId>().value_or(0) : m.Get<avp::LocalSessionId>().value_or(0);
  const CallRole role = outgoing ? CallRole::kOcrqRecipient : CallRole::kIcrqRecipient;
  const CallEvent ok = outgoing ? CallEvent::kOcrqAcceptable : CallEvent::kIcrqAcceptable;
  const CallEvent bad = outgoing ? CallEvent::kOcrqNotAcceptable : CallEvent::kIcrqNotAcceptable;
  auto refuse = [&](const ResultCode& rc) {
    if (peer_id != 0) {
      cc.SendCdnTo(now, peer_id, 0, rc);
    }
  };
  // L2TPv2 calls carry PPP; the Calling (ICRQ) or Called (OCRQ) Number names the call.
  std::optional<uint16_t> pw = v2 ? std::optional<uint16_t>(0x0007) : m.Get<avp::PwType>();
  std::optional<Bytes> v2_end;
  if (v2) {
    auto number = outgoing ? m.Get<avp::CalledNumber>() : m.Get<avp::CallingNumber>();
    v2_end = ToBytes(number.value_or(""));
  }
  const Bytes* end_id = v2 ? &*v2_end : m.Find<avp::RemoteEndId>();
  if (peer_id == 0 || !pw || end_id == nullptr) {
    return refuse(Result(2, 6, "missing Local Session ID, PW Type or Remote End ID"));
  }
  // §5.4.3: a PW type we cannot carry gets CDN result 14.
  if (!v2 && !Carries(SessionTable::Config(e).pw_capabilities, *pw)) {
    return refuse(Result(14, std::nullopt, "unsupported PW type"));
  }
  SessionDecision decision;
  if (forced != nullptr) {
    decision = *forced;
  } else if (SessionPolicy* policy = SessionTable::Policy(e)) {
    decision = policy->OnIncomingSession(IncomingSession{.version = cc.version(),
                                                         .ccid = cc.local_id(),
                                                         .peer = cc.peer(),
                                                         .pw_type = *pw,
                                                         .remote_end_id = ToString(*end_id),
                                                         .outgoing_call = outgoing});
  }
  SessionParams p = decision.params;
  p.pw_type = *pw;
  p.remote_end_id = ToString(*end_id);
  if ((p.cookie_length != 4 && p.cookie_length != 8) || v2) {
    p.cookie_length = 0;
  }
  if (v2) {
    p.sublayer = Sublayer::kNone;
    p.require_sequencing = false;
  }
  Session& s = SessionTable::Create(e, cc.local_id(), cc.version(), role, p);
  s.replaces = replaces;
  s.remote_id = peer_id;
  std::optional<ResultCode> problem = LearnPeerSide(s, m);
  if (!decision.accept) {
    problem = Result(decision.result, std::nullopt, "refused by policy");
  }
  if (problem) {
    Apply(now, cc, s, bad, *problem);
    return;
  }
  if (!Apply(now, cc, s, ok, {})) {
    return;
  }
  // §7.4.2: for a pseudowire, "placing the call" is binding the circuit: done at once.
  if (outgoing) {
    Apply(now, cc, s, CallEvent::kCallPlaced, {});
  }
}

// §5.4.4: a tie is an ICRQ/OCRQ for the Remote End ID our own pending request carries.
void OnRequestWithTie(Instant now, ControlConnection& cc, const Message& m, bool outgoing) {
  Engine& e = cc.engine();
  const CallRole mine = outgoing ? CallRole::kOcrqSender : CallRole::kIcrqSender;
  const Bytes* end_id = m.Find<avp::RemoteEndId>();
  Session* ours =
      end_id == nullptr ? nullptr : SessionTable::Pending(e, cc.local_id(), ToString(*end_id));
  if (ours != nullptr && (ours->role != mine || ours->state != CallState::kWaitReply)) {
    ours = nullptr;
  }
  if (ours == nullptr) {
    return OnRequest(now, cc, m, outgoing, nullptr, 0);
  }
  ++SessionTable::Stats(e).tie_breaks;
  const auto theirs = m.Get<avp::TieBreaker>();
  const uint32_t peer_id = m.Get<avp::LocalSessionId>().value_or(0);
  // §5.4.4: the lower value wins; a request without a tie breaker loses to one with it.
  if (!theirs || ours->tie_breaker < *theirs) {
    Apply(now, cc, *ours, outgoing ? CallEvent::kOcrqWinTie : CallEvent::kIcrqWinTie, {});
    cc.SendCdnTo(now, peer_id, 0, Result(13, std::nullopt, "lost session tie breaker"));
    return;
  }
  if (*theirs == ours->tie_breaker) {
    // Equal: both discard; the owner reconciles and asks again with a new tie breaker.
    cc.SendCdnTo(now, peer_id, 0, Result(13, std::nullopt, "equal session tie breakers"));
    Apply(now, cc, *ours, CallEvent::kLocalClose, Result(13, std::nullopt, "equal tie breakers"));
    return;
  }
  // We lost: drop ours, answer theirs as recipient with our session's parameters.
  SessionDecision forced{.accept = true, .params = {}, .result = 0};
  forced.params.cookie_length = ours->local_cookie_len;
  forced.params.sublayer = ours->sublayer;
  forced.params.require_sequencing = ours->want_peer_seq;
  forced.params.circuit_active = ours->circuit_active;
  const uint32_t replaced = ours->local_id;
  Apply(now, cc, *ours, outgoing ? CallEvent::kOcrqLoseTie : CallEvent::kIcrqLoseTie,
        Result(13, std::nullopt, "lost session tie breaker"));
  OnRequest(now, cc, m, outgoing, &forced, replaced);
}

CallEvent Guarded(MessageType type, bool acceptable) {
  switch (type) {
    case MessageType::kIcrp:
      return acceptable ? CallEvent::kIcrpAcceptable : CallEvent::kIcrpNotAcceptable;
    case MessageType::kIccn:
      return acceptable ? CallEvent::kIccnAcceptable : CallEvent::kIccnNotAcceptable;
    case MessageType::kOcrp:
      return acceptable ? CallEvent::kOcrpAcceptable : CallEvent::kOcrpNotAcceptable;
    case MessageType::kOccn:
      return CallEvent::kOccn;
    case MessageType::kIcrq:
      return CallEvent::kIcrq;
    case MessageType::kOcrq:
      return CallEvent::kOcrq;
    default:
      return CallEvent::kCdn;
  }
}

}  // namespace

absl::StatusOr<uint32_t> SessionOps::Open(Instant now, ControlConnection& cc,
                                          const SessionParams& p) {
  Engine& e = cc.engine();
  if (cc.version() == 3 && !Carries(SessionTable::Config(e).pw_capabilities, p.pw_type)) {
    return absl::FailedPreconditionError("this host cannot carry that PW type");
  }
  if (cc.version() == 3 && cc.state() == CcState::kEstablished && !cc.PeerCarries(p.pw_type)) {
    return absl::FailedPreconditionError("the peer does not carry that PW type");
  }
  if (p.cookie_length != 0 && p.cookie_length != 4 && p.cookie_length != 8) {
    return absl::InvalidArgumentError("cookie length must be 0, 4 or 8");
  }
  if (cc.version() == 3 && p.require_sequencing && p.sublayer == Sublayer::kNone) {
    return absl::InvalidArgumentError("sequencing needs the default L2-Specific Sublayer");
  }
  const CallRole role = p.outgoing_call ? CallRole::kOcrqSender : CallRole::kIcrqSender;
  SessionParams params = p;
  if (cc.version() == 2) {  // a PPP call: no cookie, sublayer or sequencing negotiation
    params.pw_type = 0x0007;
    params.cookie_length = 0;
    params.sublayer = Sublayer::kNone;
    params.require_sequencing = false;
  }
  Session& s = SessionTable::Create(e, cc.local_id(), cc.version(), role, params);
  const uint32_t id = s.local_id;
  Apply(now, cc, s, CallEvent::kLocalOpen, {});
  if (cc.state() == CcState::kEstablished) {
    Apply(now, cc, s, CallEvent::kControlConnOpen, {});
  }
  return id;
}

void SessionOps::ControlConnectionOpen(Instant now, ControlConnection& cc) {
  for (Session* s : SessionTable::Of(cc.engine(), cc.local_id())) {
    if (s->state != CallState::kWaitControlConn) {
      continue;
    }
    if (s->version == 3 && !cc.PeerCarries(s->pw_type)) {
      Down(cc.engine(), *s, Result(14, std::nullopt, "the peer does not carry that PW type"),
           "the peer does not carry that PW type");
      continue;
    }
    Apply(now, cc, *s, CallEvent::kControlConnOpen, {});
  }
}

void SessionOps::OnMessage(Instant now, ControlConnection& cc, const Message& m,
                           uint16_t header_session) {
  Engine& e = cc.engine();
  const MessageType type = m.type();
  const bool v2 = cc.version() == 2;
  // v3 names our session in the Remote Session ID AVP, v2 in the header (RFC 2661 §3.1).
  const uint32_t local = v2 ? header_session : m.Get<avp::RemoteSessionId>().value_or(0);
  if ((type == MessageType::kIcrq || type == MessageType::kOcrq) && local == 0) {
    if (v2) {
      return OnRequest(now, cc, m, type == MessageType::kOcrq, nullptr, 0);
    }
    return OnRequestWithTie(now, cc, m, type == MessageType::kOcrq);
  }
  Session* s = Find(e, cc.local_id(), local);
  if (s == nullptr) {
    // Idle rows of §7.3/§7.4: nothing to clean up; tell the peer unless it is a CDN.
    const uint32_t peer_id =
        v2 ? m.Get<avp::AssignedSessionId>().value_or(0) : m.Get<avp::LocalSessionId>().value_or(0);
    if (type != MessageType::kCdn && type != MessageType::kWen && peer_id != 0) {
      cc.SendCdnTo(now, peer_id, 0, Result(2, 5, "no such session"));
    }
    ++SessionTable::Stats(e).rejected_messages;
    return;
  }
  switch (type) {
    case MessageType::kCdn: {
      ResultCode rc = m.Get<avp::ResultCode>().value_or(Result(1));
      Apply(now, cc, *s, CallEvent::kCdn, rc);
      return;
    }
    case MessageType::kSli:
      // §6.14: circuit status change without teardown. An L2TPv2-style SLI (ACCM only, as
      // Meraki sends) has no Circuit Status and changes nothing.
      if (auto cs = m.Get<avp::CircuitStatus>()) {
        s->peer_circuit_active = IsActive(*cs);
        SessionTable::Emit(
            e, CircuitStatusChanged{
                   .local_session_id = s->local_id, .active = s->peer_circuit_active, .bits = *cs});
      }
      return;
    case MessageType::kWen:
      return;  // §6.15: accepted, nothing to do
    case MessageType::kIcrp:
    case MessageType::kOcrp: {
      const bool expected = s->state == CallState::kWaitReply;
      std::optional<ResultCode> problem;
      if (expected) {
        problem = LearnPeerSide(*s, m);
      }
      Apply(now, cc, *s, Guarded(type, !problem), problem.value_or(ResultCode{}));
      return;
    }
    case MessageType::kIccn:
    case MessageType::kOccn:
      if (auto cs = m.Get<avp::CircuitStatus>()) {
        s->peer_circuit_active = IsActive(*cs);
      }
      Apply(now, cc, *s, Guarded(type, true), Result(2, 0, "unexpected call message"));
      return;
    default:
      Apply(now, cc, *s, Guarded(type, true), Result(2, 0, "unexpected call message"));
      return;
  }
}

void SessionOps::Reject(Instant now, ControlConnection& cc, const Message& m,
                        uint16_t header_session, const ResultCode& result) {
  const bool v2 = cc.version() == 2;
  Session* s = Find(cc.engine(), cc.local_id(),
                    v2 ? header_session : m.Get<avp::RemoteSessionId>().value_or(0));
  if (s != nullptr) {
    Apply(now, cc, *s, CallEvent::kLocalClose, result);
    return;
  }
  const uint32_t peer_id =
      v2 ? m.Get<avp::AssignedSessionId>().value_or(0) : m.Get<avp::LocalSessionId>().value_or(0);
  if (peer_id != 0 && m.type() != MessageType::kCdn) {
    cc.SendCdnTo(now, peer_id, 0, result);
  }
}

absl::Status SessionOps::Close(Instant now, Engine& e, uint32_t id, const ResultCode& result) {
  Session* s = SessionTable::Get(e, id);
  if (s == nullptr) {
    return absl::NotFoundError("no such session");
  }
  ControlConnection* cc = SessionTable::Cc(e, s->ccid);
  if (cc == nullptr || cc->closing()) {
    Down(e, *s, result, "local close");
    return absl::OkStatus();
  }
  Apply(now, *cc, *s, CallEvent::kLocalClose, result);
  return absl::OkStatus();
}

absl::Status SessionOps::SetCircuit(Instant now, Engine& e, uint32_t id, bool active) {
  Session* s = SessionTable::Get(e, id);
  if (s == nullptr) {
    return absl::NotFoundError("no such session");
  }
  if (s->circuit_active == active) {
    return absl::OkStatus();
  }
  s->circuit_active = active;
  ControlConnection* cc = SessionTable::Cc(e, s->ccid);
  // L2TPv2 has no Circuit Status (its SLI carries ACCM from LNS to LAC): nothing to send.
  if (cc == nullptr || s->state != CallState::kEstablished || s->version == 2) {
    return absl::OkStatus();
  }
  // §6.14 SLI: Local and Remote Session ID and the new Circuit Status.
  auto b = cc->Start(MessageType::kSli);
  b.Add<avp::LocalSessionId>(s->local_id)
      .Add<avp::RemoteSessionId>(s->remote_id)
      .Add<avp::CircuitStatus>(CircuitBits(active, false));
  cc->Queue(now, b.Build());
  return absl::OkStatus();
}

void SessionOps::DropAll(ControlConnection& cc, const ResultCode& result,
                         const std::string& reason) {
  for (Session* s : SessionTable::Of(cc.engine(), cc.local_id())) {
    Down(cc.engine(), *s, result, reason);
  }
}

}  // namespace pwire::l2tp
