// Control message authentication in the engine against a scripted peer that signs its
// messages (RFC 3931 §4.3, §5.4.1): a message whose digest does not verify is dropped before
// any of it is used, its Nr, its tie breaker and its StopCCN included.
#include <gtest/gtest.h>

#include "agent/l2tp/digest.h"
#include "agent/l2tp/engine.h"
#include "agent/l2tp/message.h"
#include "pwire/base/random.h"

namespace pwire::l2tp {
namespace {

const Bytes kSecret = {'s', '3', 'c', 'r', 'e', 't'};
const Bytes kNonce(16, 0x4e);  // the peer's
// Where the first Message Digest value starts: header, Message Type AVP, digest AVP
// header and Digest Type (§5.4.1 puts the digest right after the Message Type).
constexpr size_t kDigestValueOffset = 12 + 8 + 6 + 1;

class SigningPeerTest : public ::testing::Test {
 protected:
  SigningPeerTest() : engine_(Config(), random_) {}

  static EngineConfig Config() {
    EngineConfig c;
    c.host_name = "dut";
    c.auth.secrets = {kSecret};
    c.auth.digest = DigestType::kHmacMd5;
    return c;
  }

  // A message with the digest placeholder the signature goes into.
  static Message::Builder Signed(MessageType type) {
    Message::Builder b(type);
    b.Add<avp::MessageDigest>({DigestType::kHmacMd5, Bytes(16, 0)});
    return b;
  }

  static Message Sccrq(uint64_t tie_breaker) {
    return Signed(MessageType::kSccrq)
        .Add<avp::HostName>("peer")
        .Add<avp::AssignedControlConnectionId>(77)
        .Add<avp::PwCapabilitiesList>({5})
        .Add<avp::TieBreaker>(tie_breaker)
        .Add<avp::ControlMessageAuthNonce>(kNonce)
        .Build();
  }

  // Sends `m` signed with the shared secret; `forge` spoils one bit of the digest.
  void Send(const Message& m, bool forge = false, uint32_t ccid = 0xffffffff) {
    ControlHeader h{.version = 3,
                    .connection_id = ccid == 0xffffffff ? engine_ccid_ : ccid,
                    .session_id = 0,
                    .ns = ns_,
                    .nr = nr_};
    auto bytes = EncodeControl(h, m, Transport::kUdp);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ASSERT_TRUE(SignControl(*bytes, Transport::kUdp, {&key_, 1}, nonce_, engine_nonce_).ok());
    if (forge) {
      (*bytes)[kDigestValueOffset] ^= 0x01;
    } else {
      ++ns_;
    }
    (void)engine_.Receive(now_, peer_, *bytes);
    Drain();
  }

  // Checks the engine's digest on everything it sends and records it.
  void Drain() {
    for (const Datagram& d : engine_.TakePackets()) {
      auto p = DecodeControl(d.bytes, Transport::kUdp);
      ASSERT_TRUE(p.ok()) << p.status();
      if (auto n = p->message.Get<avp::ControlMessageAuthNonce>()) {
        engine_nonce_ = *n;
      }
      EXPECT_TRUE(VerifyControl(d.bytes, Transport::kUdp, {&key_, 1}, nonce_, engine_nonce_).ok())
          << MessageTypeName(p->message.type()) << " does not verify with the nonces we know";
      if (auto id = p->message.Get<avp::AssignedControlConnectionId>()) {
        engine_ccid_ = *id;
      }
      if (p->message.type() != MessageType::kAck && p->header.ns == nr_) {
        ++nr_;
      }
      sent_.push_back(p->message.type());
    }
    for (Event& e : engine_.TakeEvents()) {
      events_.push_back(std::move(e));
    }
  }

  template <class E>
  std::vector<E> Events() const {
    std::vector<E> out;
    for (const Event& e : events_) {
      if (const E* x = std::get_if<E>(&e)) {
        out.push_back(*x);
      }
    }
    return out;
  }

  base::SeededRandom random_{11};
  Engine engine_;
  DigestKey key_{DigestType::kHmacMd5, DeriveSharedKey(kSecret)};
  Bytes nonce_ = kNonce;  // the peer's, in the exchange at hand
  Bytes engine_nonce_;
  Instant now_{};
  PeerAddress peer_ = PeerAddress::V4(0xc0a80002, 1701);
  uint32_t engine_ccid_ = 0;
  uint16_t ns_ = 0;
  uint16_t nr_ = 0;
  std::vector<MessageType> sent_;
  std::vector<Event> events_;
};

TEST_F(SigningPeerTest, ForgedScccnIsDroppedAndItsNrIsNotUsed) {
  Send(Sccrq(1), false, 0);
  ASSERT_EQ(sent_, std::vector<MessageType>{MessageType::kSccrp});
  const uint32_t ccid = engine_ccid_;
  // A forged SCCCN acknowledging the SCCRP (Nr 1): nothing of it may count.
  Send(Signed(MessageType::kScccn).Build(), /*forge=*/true);
  EXPECT_EQ(engine_.stats().auth_failures, 1u);
  EXPECT_EQ(sent_.size(), 1u) << "not even acknowledged";
  EXPECT_TRUE(Events<ControlConnectionUp>().empty());
  EXPECT_EQ(engine_.ControlConnectionState(ccid), CcState::kWaitCtlConn);
  // Its Nr was not taken: the SCCRP is still unacknowledged and goes out again.
  now_ = *engine_.NextDeadline();
  engine_.HandleTimeout(now_);
  Drain();
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1], MessageType::kSccrp);
  // Its Ns was not taken either: the genuine SCCCN with the same Ns is the next in order.
  Send(Signed(MessageType::kScccn).Build());
  EXPECT_EQ(Events<ControlConnectionUp>().size(), 1u);
  EXPECT_EQ(engine_.ControlConnectionState(ccid), CcState::kEstablished);
}

TEST_F(SigningPeerTest, ForgedStopCcnDoesNotCloseTheConnection) {
  Send(Sccrq(1), false, 0);
  Send(Signed(MessageType::kScccn).Build());
  ASSERT_EQ(Events<ControlConnectionUp>().size(), 1u);
  const Message stop = Signed(MessageType::kStopccn)
                           .Add<avp::ResultCode>({1, std::nullopt, ""})
                           .Add<avp::AssignedControlConnectionId>(77)
                           .Build();
  Send(stop, /*forge=*/true);
  EXPECT_EQ(engine_.stats().auth_failures, 1u);
  EXPECT_TRUE(Events<ControlConnectionDown>().empty());
  EXPECT_EQ(engine_.ControlConnectionState(engine_ccid_), CcState::kEstablished);
  Send(stop);
  EXPECT_EQ(Events<ControlConnectionDown>().size(), 1u);
}

TEST_F(SigningPeerTest, ForgedSccrqCannotWinTheTieBreak) {
  auto ours = engine_.OpenControlConnection(now_, peer_);
  ASSERT_TRUE(ours.ok());
  Drain();
  ASSERT_EQ(sent_, std::vector<MessageType>{MessageType::kSccrq});
  // §5.4.3: tie breaker 0 beats any of ours, but this SCCRQ's digest is wrong. (The peer's
  // SCCRQ opens its own connection: Ns 0, Nr 0.)
  nr_ = 0;
  Send(Sccrq(0), /*forge=*/true, 0);
  EXPECT_EQ(engine_.stats().auth_failures, 1u);
  EXPECT_EQ(engine_.stats().tie_breaks, 0u);
  EXPECT_EQ(engine_.control_connection_count(), 1u);
  EXPECT_EQ(engine_.ControlConnectionState(*ours), CcState::kWaitCtlReply);
  EXPECT_TRUE(Events<ControlConnectionDown>().empty());
  EXPECT_EQ(sent_.size(), 1u);
  // The same SCCRQ signed properly wins: ours is replaced and the peer's is answered.
  Send(Sccrq(0), false, 0);
  EXPECT_EQ(engine_.stats().tie_breaks, 1u);
  ASSERT_EQ(Events<ControlConnectionDown>().size(), 1u);
  EXPECT_NE(Events<ControlConnectionDown>()[0].replaced_by, 0u);
  EXPECT_EQ(sent_.back(), MessageType::kSccrp);
}

TEST_F(SigningPeerTest, RefusalOfAnSccrqIsSignedSoThatThePeerCanVerifyIt) {
  auto ours = engine_.OpenControlConnection(now_, peer_);
  ASSERT_TRUE(ours.ok());
  Drain();
  // The engine wins the tie (§5.4.3: the lower value wins) and refuses our SCCRQ with a
  // StopCCN. We, the peer, know no nonce of the engine's connection that refuses: Drain
  // verifies the StopCCN with ours alone.
  engine_nonce_.clear();
  nr_ = 0;
  Send(Sccrq(~uint64_t{0}), false, 0);
  EXPECT_EQ(engine_.stats().tie_breaks, 1u);
  EXPECT_EQ(sent_.back(), MessageType::kStopccn);
  EXPECT_EQ(engine_.stats().auth_failures, 0u);
}

TEST_F(SigningPeerTest, AuthenticRefusalOfOurSccrqClosesTheConnection) {
  auto ours = engine_.OpenControlConnection(now_, peer_);
  ASSERT_TRUE(ours.ok());
  Drain();
  ASSERT_EQ(sent_, std::vector<MessageType>{MessageType::kSccrq});
  ASSERT_FALSE(engine_nonce_.empty());
  engine_ccid_ = *ours;
  nr_ = 1;
  const Message stop = Signed(MessageType::kStopccn)
                           .Add<avp::ResultCode>({4, std::nullopt, "not authorized"})
                           .Add<avp::AssignedControlConnectionId>(77)
                           .Build();
  // The refusing peer has no nonce of its own in this exchange (§5.4.1). A forged refusal
  // is dropped; the genuine one ends the connection with its result code, without waiting
  // for the SCCRQ's retransmissions to run out.
  nonce_.clear();
  Send(stop, /*forge=*/true);
  EXPECT_EQ(engine_.stats().auth_failures, 1u);
  EXPECT_TRUE(Events<ControlConnectionDown>().empty());
  Send(stop);
  EXPECT_EQ(engine_.stats().auth_failures, 1u);
  ASSERT_EQ(Events<ControlConnectionDown>().size(), 1u);
  EXPECT_EQ(Events<ControlConnectionDown>()[0].result.result, 4);
}

}  // namespace
}  // namespace pwire::l2tp
