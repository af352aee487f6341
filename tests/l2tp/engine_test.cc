// Engine tests against a scripted peer: crafted messages check what a real router may send
// (Meraki-style SLI with ACCM, WEN, unknown mandatory AVPs, messages in the wrong state,
// NAT port changes) and that garbage never crashes the engine.
#include "agent/l2tp/engine.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "agent/l2tp/digest.h"
#include "agent/l2tp/message.h"
#include "pwire/base/random.h"

namespace pwire::l2tp {
namespace {

using std::chrono::seconds;

class Accept : public SessionPolicy {
 public:
  SessionDecision OnIncomingSession(const IncomingSession& r) override {
    last = r;
    SessionDecision d;
    d.accept = true;
    return d;
  }
  IncomingSession last;
};

// Plays the peer by hand: tracks Ns/Nr and decodes what the engine sends.
class ScriptedPeerTest : public ::testing::Test {
 protected:
  ScriptedPeerTest() : engine_(Config(), random_, &policy_) {}

  static EngineConfig Config() {
    EngineConfig c;
    c.host_name = "dut";
    c.router_id = 1;
    return c;
  }

  // Sends `m` from the peer with the next Ns; returns the engine's status.
  absl::Status Send(const Message& m, bool ack = false) {
    ControlHeader h{
        .version = 3, .connection_id = engine_ccid_, .session_id = 0, .ns = ns_, .nr = nr_};
    if (!ack && !m.is_zlb()) {
      ++ns_;
    }
    auto bytes = EncodeControl(h, m, Transport::kUdp);
    EXPECT_TRUE(bytes.ok());
    absl::Status s = engine_.Receive(now_, peer_, *bytes);
    Drain();
    return s;
  }

  // Decodes everything the engine sent; acknowledges it by moving our Nr.
  void Drain() {
    for (const Datagram& d : engine_.TakePackets()) {
      auto p = DecodeControl(d.bytes, Transport::kUdp);
      ASSERT_TRUE(p.ok()) << p.status();
      last_to_ = d.peer;
      if (p->message.type() == MessageType::kAck || p->message.is_zlb()) {
        ++acks_;
        continue;
      }
      if (p->header.ns == nr_) {
        ++nr_;
      }
      if (auto id = p->message.Get<avp::AssignedControlConnectionId>()) {
        engine_ccid_ = *id;
      }
      if (auto id = p->message.Get<avp::LocalSessionId>()) {
        engine_session_ = *id;
      }
      received_.push_back(p->message);
    }
    for (Event& e : engine_.TakeEvents()) {
      events_.push_back(std::move(e));
    }
  }

  template <class E>
  size_t Count() const {
    size_t n = 0;
    for (const Event& e : events_) {
      n += std::holds_alternative<E>(e);
    }
    return n;
  }
  // The Result Code of the last message the engine sent.
  std::optional<ResultCode> LastResult() const {
    return received_.empty() ? std::nullopt : received_.back().Get<avp::ResultCode>();
  }
  // An AVP no table knows (attribute 200, or a vendor's).
  static Avp Unknown(bool mandatory, uint32_t vendor_id = 0, uint16_t attribute = 200) {
    return Avp{.vendor_id = vendor_id,
               .attribute = attribute,
               .mandatory = mandatory,
               .hidden = false,
               .value = Bytes{1, 2}};
  }
  MessageType LastType() const {
    return received_.empty() ? MessageType::kZlb : received_.back().type();
  }

  // SCCRQ, SCCRP, SCCCN: the engine is the responder.
  void Establish() {
    ASSERT_TRUE(Send(Message::Builder(MessageType::kSccrq)
                         .Add<avp::HostName>("peer")
                         .Add<avp::RouterId>(2)
                         .Add<avp::AssignedControlConnectionId>(77)
                         .Add<avp::PwCapabilitiesList>({5})
                         .Build())
                    .ok());
    ASSERT_EQ(LastType(), MessageType::kSccrp);
    ASSERT_TRUE(Send(Message::Builder(MessageType::kScccn).Build()).ok());
    ASSERT_EQ(Count<ControlConnectionUp>(), 1u);
  }

  // ICRQ from the peer, ICRP back, ICCN: a session up on both sides.
  void BringUpSession() {
    ASSERT_TRUE(
        Send(Icrq(5, "pw").Add<avp::CallSerialNumber>(1).Add<avp::CircuitStatus>(3).Build()).ok());
    ASSERT_EQ(LastType(), MessageType::kIcrp);
    ASSERT_TRUE(Send(SessionMessage(MessageType::kIccn).Build()).ok());
    ASSERT_EQ(Count<SessionUp>(), 1u);
  }

  // An ICRQ from the peer's session 1000 carrying only the Session IDs, `pw_type` and the
  // Remote End ID `end_id`; tests add the other AVPs of RFC 3931 §6.6 they need.
  static Message::Builder Icrq(uint16_t pw_type, const std::string& end_id) {
    Message::Builder b(MessageType::kIcrq);
    b.Add<avp::LocalSessionId>(1000)
        .Add<avp::RemoteSessionId>(0)
        .Add<avp::PwType>(pw_type)
        .Add<avp::RemoteEndId>(Bytes(end_id.begin(), end_id.end()));
    return b;
  }

  Message::Builder SessionMessage(MessageType type) {
    Message::Builder b(type);
    b.Add<avp::LocalSessionId>(1000).Add<avp::RemoteSessionId>(engine_session_);
    return b;
  }

  base::SeededRandom random_{42};
  Accept policy_;
  Engine engine_;
  Instant now_{};
  PeerAddress peer_ = PeerAddress::V4(0xc0a80002, 1701);
  PeerAddress last_to_;
  uint32_t engine_ccid_ = 0;
  uint32_t engine_session_ = 0;
  uint16_t ns_ = 0;
  uint16_t nr_ = 0;
  size_t acks_ = 0;
  std::vector<Message> received_;
  std::vector<Event> events_;
};

TEST_F(ScriptedPeerTest, ResponderEstablishesAndAcceptsIncomingCall) {
  Establish();
  BringUpSession();
  EXPECT_EQ(policy_.last.remote_end_id, "pw");
  EXPECT_EQ(policy_.last.pw_type, 5);
  EXPECT_EQ(engine_.SessionState(engine_session_), CallState::kEstablished);
}

TEST_F(ScriptedPeerTest, SliWithOnlyAccmIsAcceptedLikeMeraki) {
  Establish();
  BringUpSession();
  ASSERT_TRUE(
      Send(SessionMessage(MessageType::kSli).Add<avp::Accm>(Accm{0, 0xffffffff}).Build()).ok());
  EXPECT_EQ(Count<SessionDown>(), 0u);
  EXPECT_EQ(Count<CircuitStatusChanged>(), 0u);
  EXPECT_NE(LastType(), MessageType::kCdn);
  // RFC 5641: down with a local attachment circuit receive fault.
  ASSERT_TRUE(Send(SessionMessage(MessageType::kSli)
                       .Add<avp::CircuitStatus>(circuit_status::kAcReceiveFault)
                       .Build())
                  .ok());
  ASSERT_EQ(Count<CircuitStatusChanged>(), 1u);
  const auto& down = std::get<CircuitStatusChanged>(events_.back());
  EXPECT_FALSE(down.active);
  EXPECT_EQ(down.bits, circuit_status::kAcReceiveFault);
  // §6.14: the circuit went down, the session stays.
  EXPECT_EQ(Count<SessionDown>(), 0u);
  EXPECT_EQ(engine_.SessionState(engine_session_), CallState::kEstablished);
  // Up again; the deprecated N bit is ignored on receipt (RFC 5641 §3).
  ASSERT_TRUE(Send(SessionMessage(MessageType::kSli)
                       .Add<avp::CircuitStatus>(circuit_status::kActive | circuit_status::kNew)
                       .Build())
                  .ok());
  ASSERT_EQ(Count<CircuitStatusChanged>(), 2u);
  EXPECT_TRUE(std::get<CircuitStatusChanged>(events_.back()).active);
}

TEST_F(ScriptedPeerTest, WenIsAccepted) {
  Establish();
  BringUpSession();
  CallErrors errors;
  errors.v2_format = false;
  errors.timeouts = 3;
  ASSERT_TRUE(Send(SessionMessage(MessageType::kWen).Add<avp::CallErrors>(errors).Build()).ok());
  EXPECT_EQ(Count<SessionDown>(), 0u);
  EXPECT_EQ(engine_.SessionState(engine_session_), CallState::kEstablished);
}

TEST_F(ScriptedPeerTest, IccnInEstablishedStateClearsTheSessionWithCdn) {
  Establish();
  BringUpSession();
  ASSERT_TRUE(Send(SessionMessage(MessageType::kIccn).Build()).ok());  // §7.3.2 last row
  EXPECT_EQ(LastType(), MessageType::kCdn);
  EXPECT_EQ(Count<SessionDown>(), 1u);
}

TEST_F(ScriptedPeerTest, UnknownMandatoryAvpInSessionMessageGivesCdn) {
  Establish();
  BringUpSession();
  ASSERT_TRUE(Send(SessionMessage(MessageType::kSli).AddRaw(Unknown(true)).Build()).ok());
  EXPECT_EQ(LastType(), MessageType::kCdn);
  auto rc = LastResult();
  ASSERT_TRUE(rc.has_value());
  // §5.2: CDN with Result Code 2 and General Error Code 8 (unknown mandatory AVP).
  EXPECT_EQ(rc->result, 2);
  EXPECT_EQ(rc->error, 8);
  EXPECT_EQ(Count<SessionDown>(), 1u);
  EXPECT_EQ(Count<ControlConnectionDown>(), 0u);
}

TEST_F(ScriptedPeerTest, UnknownMandatoryAvpInHelloGivesStopCcn) {
  Establish();
  ASSERT_TRUE(Send(Message::Builder(MessageType::kHello).AddRaw(Unknown(true)).Build()).ok());
  EXPECT_EQ(LastType(), MessageType::kStopccn);
  // §5.2: StopCCN with Result Code 2 and General Error Code 8.
  auto rc = LastResult();
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(rc->result, 2);
  EXPECT_EQ(rc->error, 8);
  EXPECT_EQ(Count<ControlConnectionDown>(), 1u);
}

TEST_F(ScriptedPeerTest, UnknownOptionalAvpIsIgnored) {
  Establish();
  ASSERT_TRUE(
      Send(Message::Builder(MessageType::kHello).AddRaw(Unknown(false, 9, 1)).Build()).ok());
  EXPECT_EQ(Count<ControlConnectionDown>(), 0u);
}

TEST_F(ScriptedPeerTest, AdvertisesItsOwnPwTypesAndRefusesOthersWithCdnResult14) {
  Establish();
  // §5.4.3: the SCCRP lists exactly the PW types this host carries.
  const Message& sccrp = received_.front();
  ASSERT_EQ(sccrp.type(), MessageType::kSccrp);
  EXPECT_EQ(sccrp.Get<avp::PwCapabilitiesList>(), engine_.config().pw_capabilities);
  // An ICRQ for a type not in that list (0x000b, IP Layer 2 transport) gets CDN 14 before
  // the owner is even asked.
  ASSERT_TRUE(Send(Icrq(0x000b, "ip").Build()).ok());
  ASSERT_EQ(LastType(), MessageType::kCdn);
  auto rc = LastResult();
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(rc->result, 14);
  EXPECT_EQ(received_.back().Get<avp::RemoteSessionId>(), 1000u);
  EXPECT_TRUE(policy_.last.remote_end_id.empty()) << "the policy was not consulted";
  EXPECT_EQ(engine_.session_count(), 0u);
  EXPECT_EQ(Count<SessionUp>(), 0u);
}

TEST_F(ScriptedPeerTest, StopCcnReceivedIsAcknowledgedThroughTheHoldingState) {
  Establish();
  BringUpSession();
  const Message stop = Message::Builder(MessageType::kStopccn)
                           .Add<avp::ResultCode>({1, std::nullopt, ""})
                           .Add<avp::AssignedControlConnectionId>(77)
                           .Build();
  ASSERT_TRUE(Send(stop).ok());
  EXPECT_EQ(Count<ControlConnectionDown>(), 1u);
  EXPECT_EQ(Count<SessionDown>(), 1u);
  const size_t acks = acks_;
  EXPECT_GE(acks, 1u) << "the StopCCN is acknowledged";
  // §4.2: our ACK may be lost, so the peer retransmits; we still hold the state to
  // acknowledge it again, without a second event or any other message.
  now_ += seconds(30);
  engine_.HandleTimeout(now_);
  --ns_;
  ASSERT_TRUE(Send(stop).ok());
  EXPECT_EQ(acks_, acks + 1);
  EXPECT_EQ(Count<ControlConnectionDown>(), 1u);
  EXPECT_EQ(engine_.control_connection_count(), 1u);
  EXPECT_EQ(LastType(), MessageType::kIcrp) << "nothing but ACKs since the session came up";
  // Once the full retransmission interval has passed, the state is released.
  for (int i = 0; i < 100 && engine_.control_connection_count() > 0; ++i) {
    auto d = engine_.NextDeadline();
    ASSERT_TRUE(d.has_value());
    now_ = std::max(now_, *d);
    engine_.HandleTimeout(now_);
  }
  EXPECT_EQ(engine_.control_connection_count(), 0u);
  EXPECT_LE(now_, Instant{} + std::chrono::minutes(3));
}

TEST_F(ScriptedPeerTest, SccrpToResponderIsAnFsmErrorStopCcn) {
  Establish();
  ASSERT_TRUE(Send(Message::Builder(MessageType::kSccrp)
                       .Add<avp::HostName>("peer")
                       .Add<avp::AssignedControlConnectionId>(77)
                       .Add<avp::PwCapabilitiesList>({5})
                       .Build())
                  .ok());  // §7.2: established + SCCRP -> StopCCN, clean up
  EXPECT_EQ(LastType(), MessageType::kStopccn);
  EXPECT_EQ(Count<ControlConnectionDown>(), 1u);
}

TEST_F(ScriptedPeerTest, SessionMessageBeforeEstablishedClearsConnection) {
  ASSERT_TRUE(Send(Message::Builder(MessageType::kSccrq)
                       .Add<avp::HostName>("peer")
                       .Add<avp::AssignedControlConnectionId>(77)
                       .Add<avp::PwCapabilitiesList>({5})
                       .Build())
                  .ok());
  ASSERT_TRUE(Send(Message::Builder(MessageType::kIcrq).Add<avp::LocalSessionId>(1).Build()).ok());
  EXPECT_EQ(LastType(), MessageType::kStopccn);
}

TEST_F(ScriptedPeerTest, InitiatorFollowsTheResponderToItsNewPort) {
  auto ccid = engine_.OpenControlConnection(now_, peer_);
  ASSERT_TRUE(ccid.ok());
  Drain();
  ASSERT_EQ(LastType(), MessageType::kSccrq);
  EXPECT_EQ(last_to_.port, 1701);
  engine_ccid_ = *ccid;
  peer_.port = 40000;  // NAT: the reply comes from another port (RFC 3931 §4.1.2.2)
  ASSERT_TRUE(Send(Message::Builder(MessageType::kSccrp)
                       .Add<avp::HostName>("peer")
                       .Add<avp::AssignedControlConnectionId>(77)
                       .Add<avp::PwCapabilitiesList>({5})
                       .Build())
                  .ok());
  EXPECT_EQ(LastType(), MessageType::kScccn);
  EXPECT_EQ(last_to_.port, 40000);
  EXPECT_EQ(Count<ControlConnectionUp>(), 1u);
}

TEST_F(ScriptedPeerTest, DataPacketsAndUnknownConnectionsAreRefused) {
  const uint8_t data[] = {0x00, 0x03, 0x00, 0x00, 0, 0, 0, 1, 0xaa};
  EXPECT_FALSE(engine_.Receive(now_, peer_, data).ok());
  ControlHeader h{.version = 3, .connection_id = 12345, .session_id = 0, .ns = 0, .nr = 0};
  auto hello = EncodeControl(h, Message::Builder(MessageType::kHello).Build(), Transport::kUdp);
  EXPECT_EQ(engine_.Receive(now_, peer_, *hello).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_.stats().unknown_connection, 1u);
}

TEST_F(ScriptedPeerTest, GarbageAndMutatedPacketsNeverCrash) {
  Establish();
  BringUpSession();
  base::SeededRandom r(7);
  ControlHeader h{
      .version = 3, .connection_id = engine_ccid_, .session_id = 0, .ns = ns_, .nr = nr_};
  auto valid = EncodeControl(
      h, SessionMessage(MessageType::kSli).Add<avp::CircuitStatus>(1).Build(), Transport::kUdp);
  ASSERT_TRUE(valid.ok());
  for (int i = 0; i < 20000; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b.resize(r.Uniform(64));
      r.Fill(b);
    } else {
      b = *valid;
      for (int flips = 0; flips < 3; ++flips) {
        b[r.Uniform(b.size())] ^= uint8_t(1 + r.Uniform(255));
      }
    }
    (void)engine_.Receive(now_, peer_, b);
    (void)engine_.TakePackets();
    (void)engine_.TakeEvents();
    now_ += std::chrono::milliseconds(10);
    if (auto d = engine_.NextDeadline(); d && *d <= now_) {
      engine_.HandleTimeout(now_);
    }
  }
  EXPECT_GT(engine_.stats().malformed, 0u);
}

TEST_F(ScriptedPeerTest, HelloAfterIdleIntervalWithJitter) {
  Establish();
  auto d = engine_.NextDeadline();
  ASSERT_TRUE(d.has_value());
  // 60 s less up to 20% jitter (§6.5 keepalive spread across connections).
  EXPECT_LE(*d - now_, seconds(60));
  EXPECT_GE(*d - now_, seconds(48));
  now_ = *d;
  engine_.HandleTimeout(now_);
  Drain();
  EXPECT_EQ(LastType(), MessageType::kHello);
}

// §6.5 keepalive spread: eight connections established at the same instant send their
// first HELLOs at different times, each within the interval less up to 20%.
TEST(HelloJitterTest, ConnectionsEstablishedTogetherSendHellosAtDifferentTimes) {
  EngineConfig c;
  c.hello_interval = seconds(60);
  c.hello_jitter = 0.2;
  base::SeededRandom random(9);
  Engine engine(c, random);
  const Instant start{};
  constexpr int kConnections = 8;
  for (int i = 0; i < kConnections; ++i) {
    const PeerAddress peer = PeerAddress::V4(0xc0a80002, static_cast<uint16_t>(2000 + i));
    ControlHeader h{.version = 3, .connection_id = 0, .session_id = 0, .ns = 0, .nr = 0};
    auto sccrq = EncodeControl(h,
                               Message::Builder(MessageType::kSccrq)
                                   .Add<avp::AssignedControlConnectionId>(100 + i)
                                   .Add<avp::PwCapabilitiesList>({5})
                                   .Build(),
                               Transport::kUdp);
    ASSERT_TRUE(engine.Receive(start, peer, *sccrq).ok());
    auto sccrp = DecodeControl(engine.TakePackets().at(0).bytes, Transport::kUdp);
    ASSERT_TRUE(sccrp.ok());
    h = {.version = 3,
         .connection_id = *sccrp->message.Get<avp::AssignedControlConnectionId>(),
         .session_id = 0,
         .ns = 1,
         .nr = 1};
    auto scccn = EncodeControl(h, Message::Builder(MessageType::kScccn).Build(), Transport::kUdp);
    ASSERT_TRUE(engine.Receive(start, peer, *scccn).ok());
    (void)engine.TakePackets();
  }
  ASSERT_EQ(engine.TakeEvents().size(), size_t{kConnections});
  std::map<uint16_t, Instant> first_hello;  // by peer port
  Instant now = start;
  while (first_hello.size() < kConnections && now < start + seconds(61)) {
    auto deadline = engine.NextDeadline();
    ASSERT_TRUE(deadline.has_value());
    now = *deadline;
    engine.HandleTimeout(now);
    for (const Datagram& d : engine.TakePackets()) {
      auto p = DecodeControl(d.bytes, Transport::kUdp);
      if (p.ok() && p->message.type() == MessageType::kHello) {
        first_hello.emplace(d.peer.port, now);
      }
    }
  }
  ASSERT_EQ(first_hello.size(), size_t{kConnections});
  std::set<Instant> times;
  for (const auto& [port, t] : first_hello) {
    EXPECT_GE(t - start, seconds(48)) << port;
    EXPECT_LE(t - start, seconds(60)) << port;
    times.insert(t);
  }
  EXPECT_GE(times.size(), size_t{kConnections - 1}) << "HELLOs are not spread";
}

// Lenient peers: an SCCRQ, ICRQ and ICCN with only the AVPs we cannot do without (no Host
// Name, Router ID, Receive Window Size, Tie Breaker, Call Serial Number, Circuit Status,
// sublayer, sequencing or cookie) still bring the session up with the RFC defaults.
TEST_F(ScriptedPeerTest, MissingOptionalAvpsAreAcceptedWithDefaults) {
  ASSERT_TRUE(Send(Message::Builder(MessageType::kSccrq)
                       .Add<avp::AssignedControlConnectionId>(77)
                       .Add<avp::PwCapabilitiesList>({5})
                       .Build())
                  .ok());
  ASSERT_EQ(LastType(), MessageType::kSccrp);
  ASSERT_TRUE(Send(Message::Builder(MessageType::kScccn).Build()).ok());
  ASSERT_EQ(Count<ControlConnectionUp>(), 1u);
  ASSERT_TRUE(Send(Icrq(5, "pw").Build()).ok());
  ASSERT_EQ(LastType(), MessageType::kIcrp);
  ASSERT_TRUE(Send(SessionMessage(MessageType::kIccn).Build()).ok());
  ASSERT_EQ(Count<SessionUp>(), 1u);
  SessionInfo info;
  for (const Event& e : events_) {
    if (const auto* up = std::get_if<SessionUp>(&e)) {
      info = up->info;
    }
  }
  EXPECT_TRUE(info.remote_cookie.empty());
  EXPECT_EQ(info.send_sublayer, Sublayer::kNone);
  EXPECT_FALSE(info.send_sequenced);
  EXPECT_TRUE(info.circuit_active);
}

// An L2TPv2 peer (xl2tpd-like) with a tunnel secret: Challenge/Response both ways, then an
// ICRQ whose Assigned Session ID is hidden (RFC 2661 §4.3).
TEST(V2ScriptedPeerTest, ChallengeResponseAndHiddenAvps) {
  const Bytes secret = {'s', '3', 'c'};
  EngineConfig c;
  c.host_name = "lns";
  c.auth.secrets = {secret};
  base::SeededRandom random(3);
  Accept policy;
  Engine engine(c, random, &policy);
  const PeerAddress peer = PeerAddress::V4(0xc0a80002, 1701);
  uint16_t ns = 0, nr = 0, engine_tid = 0;
  std::vector<Message> got;
  auto send = [&](uint16_t session, const Message& m) {
    ControlHeader h{
        .version = 2, .connection_id = engine_tid, .session_id = session, .ns = ns++, .nr = nr};
    auto bytes = EncodeControl(h, m, Transport::kUdp, {.secret = secret, .random = &random});
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ASSERT_TRUE(engine.Receive(Instant{}, peer, *bytes).ok());
    for (const Datagram& d : engine.TakePackets()) {
      auto p = DecodeControl(d.bytes, Transport::kUdp, {.secret = secret});
      ASSERT_TRUE(p.ok());
      if (p->message.is_zlb()) {
        continue;
      }
      ++nr;
      if (auto t = p->message.Get<avp::AssignedTunnelId>()) {
        engine_tid = *t;
      }
      got.push_back(p->message);
    }
  };
  const Bytes challenge(16, 0x5a);
  send(0, Message::Builder(MessageType::kSccrq, 2)
              .Add<avp::ProtocolVersion>(ProtocolVersion{1, 0})
              .Add<avp::HostName>("lac")
              .Add<avp::FramingCapabilities>(3)
              .Add<avp::AssignedTunnelId>(9)
              .Add<avp::Challenge>(challenge)
              .Build());
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].type(), MessageType::kSccrp);
  EXPECT_EQ(got[0].Get<avp::ChallengeResponse>(), ChallengeResponse(2, secret, challenge));
  auto engine_challenge = got[0].Get<avp::Challenge>();
  ASSERT_TRUE(engine_challenge.has_value());
  send(0, Message::Builder(MessageType::kScccn, 2)
              .Add<avp::ChallengeResponse>(ChallengeResponse(3, secret, *engine_challenge))
              .Build());
  ASSERT_EQ(engine.ControlConnectionState(engine_tid), CcState::kEstablished);
  send(0, Message::Builder(MessageType::kIcrq, 2)
              .Add<avp::AssignedSessionId>(77, {.mandatory = true, .hidden = true})
              .Add<avp::CallSerialNumber>(1)
              .Add<avp::CallingNumber>("5551234", {.mandatory = true, .hidden = true})
              .Build());
  ASSERT_EQ(got.back().type(), MessageType::kIcrp) << MessageTypeName(got.back().type());
  EXPECT_EQ(policy.last.remote_end_id, "5551234");
  EXPECT_EQ(policy.last.version, 2);
}

}  // namespace
}  // namespace pwire::l2tp
