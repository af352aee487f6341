// Unit tests of reliable delivery (RFC 3931 §4.2, Appendix A) on virtual time.
#include "agent/l2tp/reliable.h"

#include <gtest/gtest.h>

#include <vector>

namespace pwire::l2tp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Sent {
  bool ack;
  uint16_t ns;
  uint16_t nr;
  uint8_t tag;  // first byte of the message, to tell messages apart
};

class RecordingSink : public Reliable::Sink {
 public:
  void SendMessage(std::vector<uint8_t>& message, uint16_t ns, uint16_t nr) override {
    sent.push_back({false, ns, nr, message.empty() ? uint8_t{0} : message[0]});
  }
  void SendAck(uint16_t ns, uint16_t nr) override { sent.push_back({true, ns, nr, 0}); }
  std::vector<Sent> sent;
};

std::vector<uint8_t> Msg(uint8_t tag) { return {tag}; }

class ReliableTest : public ::testing::Test {
 protected:
  Instant t0_{};
  ReliableConfig config_;
  RecordingSink sink_;
};

TEST_F(ReliableTest, FirstMessageUsesNsZeroAndNrZero) {
  Reliable r(config_, sink_);
  r.Send(t0_, Msg(1));
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].ns, 0);
  EXPECT_EQ(sink_.sent[0].nr, 0);
  EXPECT_EQ(r.next_ns(), 1);
}

TEST_F(ReliableTest, SlowStartSendsOneThenGrowsPerAck) {
  Reliable r(config_, sink_);
  r.SetPeerWindow(8);
  for (uint8_t i = 0; i < 6; ++i) {
    r.Send(t0_, Msg(i));
  }
  EXPECT_EQ(sink_.sent.size(), 1u) << "CWND starts at one (Appendix A)";
  EXPECT_EQ(r.Receive(t0_, 0, 1, true, {}), Reliable::Verdict::kAckOnly);
  EXPECT_EQ(r.cwnd(), 2);
  EXPECT_EQ(sink_.sent.size(), 3u);
  r.Receive(t0_, 0, 3, true, {});
  EXPECT_EQ(r.cwnd(), 4);
  EXPECT_EQ(sink_.sent.size(), 6u);
}

TEST_F(ReliableTest, CongestionAvoidanceGrowsByOnePerWindow) {
  Reliable r(config_, sink_);
  r.SetPeerWindow(4);  // ssthresh 4
  for (uint8_t i = 0; i < 20; ++i) {
    r.Send(t0_, Msg(i));
  }
  uint16_t acked = 0;
  auto ack_all = [&] {
    acked = r.next_ns();
    r.Receive(t0_, 0, acked, true, {});
  };
  ack_all();  // 1 -> 2
  ack_all();  // 2 -> 4 (slow start reaches ssthresh)
  EXPECT_EQ(r.cwnd(), 4);
  EXPECT_EQ(r.in_flight(), 4u);
  ack_all();  // avoidance: +1 after cwnd acks, but capped by the peer's window of 4
  EXPECT_EQ(r.cwnd(), 4);
  EXPECT_LE(r.in_flight(), 4u);
}

TEST_F(ReliableTest, NeverExceedsPeerReceiveWindow) {
  Reliable r(config_, sink_);
  r.SetPeerWindow(2);
  for (uint8_t i = 0; i < 10; ++i) {
    r.Send(t0_, Msg(i));
  }
  for (int round = 0; round < 5; ++round) {
    EXPECT_LE(r.in_flight(), 2u);
    r.Receive(t0_, 0, r.next_ns(), true, {});
  }
  EXPECT_EQ(r.cwnd(), 2);
}

TEST_F(ReliableTest, DefaultPeerWindowIsFour) {
  Reliable r(config_, sink_);
  for (uint8_t i = 0; i < 30; ++i) {
    r.Send(t0_, Msg(i));
  }
  for (int round = 0; round < 5; ++round) {
    r.Receive(t0_, 0, r.next_ns(), true, {});
  }
  EXPECT_EQ(r.in_flight(), 4u);
}

TEST_F(ReliableTest, InOrderDeliveryAndPiggybackedNr) {
  Reliable r(config_, sink_);
  EXPECT_EQ(r.Receive(t0_, 0, 0, false, {}), Reliable::Verdict::kDeliver);
  r.Send(t0_, Msg(7));  // the reply carries Nr 1, no explicit ACK is needed
  r.Flush(t0_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_FALSE(sink_.sent[0].ack);
  EXPECT_EQ(sink_.sent[0].nr, 1);
}

TEST_F(ReliableTest, ExplicitAckWhenNothingToSend) {
  Reliable r(config_, sink_);
  r.Receive(t0_, 0, 0, false, {});
  r.Flush(t0_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_TRUE(sink_.sent[0].ack);
  EXPECT_EQ(sink_.sent[0].nr, 1);
  EXPECT_EQ(sink_.sent[0].ns, 0) << "an ACK carries the next Ns without taking it";
  EXPECT_EQ(r.next_ns(), 0);
}

TEST_F(ReliableTest, DelayedAckWaitsForItsDeadline) {
  config_.ack_delay = milliseconds(100);
  Reliable r(config_, sink_);
  r.Receive(t0_, 0, 0, false, {});
  r.Flush(t0_);
  EXPECT_TRUE(sink_.sent.empty());
  ASSERT_TRUE(r.NextDeadline().has_value());
  EXPECT_EQ(*r.NextDeadline(), t0_ + milliseconds(100));
  r.HandleTimeout(t0_ + milliseconds(100));
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_TRUE(sink_.sent[0].ack);
}

TEST_F(ReliableTest, DuplicateIsAcknowledgedAndDropped) {
  Reliable r(config_, sink_);
  EXPECT_EQ(r.Receive(t0_, 0, 0, false, {}), Reliable::Verdict::kDeliver);
  r.Flush(t0_);
  sink_.sent.clear();
  EXPECT_EQ(r.Receive(t0_, 0, 0, false, {}), Reliable::Verdict::kDuplicate);
  r.Flush(t0_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_TRUE(sink_.sent[0].ack);
  EXPECT_EQ(sink_.sent[0].nr, 1);
  EXPECT_EQ(r.stats().duplicates, 1u);
}

TEST_F(ReliableTest, OutOfOrderHeldThenDeliveredInOrder) {
  Reliable r(config_, sink_);
  const uint8_t two[] = {2};
  const uint8_t one[] = {1};
  EXPECT_EQ(r.Receive(t0_, 2, 0, false, two), Reliable::Verdict::kQueued);
  EXPECT_EQ(r.Receive(t0_, 1, 0, false, one), Reliable::Verdict::kQueued);
  EXPECT_FALSE(r.PopReady().has_value());
  EXPECT_EQ(r.Receive(t0_, 0, 0, false, {}), Reliable::Verdict::kDeliver);
  auto a = r.PopReady();
  auto b = r.PopReady();
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)[0], 1);
  EXPECT_EQ((*b)[0], 2);
  EXPECT_FALSE(r.PopReady().has_value());
  EXPECT_EQ(r.expected_ns(), 3);
}

TEST_F(ReliableTest, FarAheadIsDroppedOutsideOurWindow) {
  config_.receive_window = 4;
  Reliable r(config_, sink_);
  EXPECT_EQ(r.Receive(t0_, 4, 0, false, {}), Reliable::Verdict::kOutOfWindow);
  EXPECT_EQ(r.Receive(t0_, 3, 0, false, {}), Reliable::Verdict::kQueued);
}

TEST_F(ReliableTest, WrapsAroundAt65535) {
  Reliable r(config_, sink_);
  r.SetPeerWindow(4);
  // Walk both directions past 65535 one message at a time.
  for (int i = 0; i < 65540; ++i) {
    const uint16_t ns = static_cast<uint16_t>(i);
    ASSERT_EQ(r.Receive(t0_, ns, r.next_ns(), false, {}), Reliable::Verdict::kDeliver) << i;
    r.Send(t0_, Msg(0));
    ASSERT_EQ(r.Receive(t0_, 0, r.next_ns(), true, {}), Reliable::Verdict::kAckOnly);
  }
  EXPECT_EQ(r.expected_ns(), 4);
  EXPECT_EQ(r.next_ns(), 4);
  EXPECT_EQ(r.Receive(t0_, 65535, 4, false, {}), Reliable::Verdict::kDuplicate);
  EXPECT_EQ(r.Receive(t0_, 4, 4, false, {}), Reliable::Verdict::kDeliver);
}

TEST_F(ReliableTest, SerialComparisonFollowsRfcExample) {
  // §4.2: after 15, both 0..15 and 32784..65535 are "less than or equal".
  EXPECT_TRUE(SeqBefore(0, 15));
  EXPECT_TRUE(SeqBefore(32784, 15));
  EXPECT_FALSE(SeqBefore(32783, 15));
  EXPECT_TRUE(SeqBefore(65535, 0));
  EXPECT_FALSE(SeqBefore(15, 15));
}

TEST_F(ReliableTest, NrBeyondWhatWasSentIsInvalid) {
  Reliable r(config_, sink_);
  r.Send(t0_, Msg(1));
  EXPECT_EQ(r.Receive(t0_, 0, 2, false, {}), Reliable::Verdict::kBadNr);
  EXPECT_EQ(r.in_flight(), 1u);
  EXPECT_EQ(r.expected_ns(), 0) << "an invalid message must not advance the receiver";
  EXPECT_EQ(r.Receive(t0_, 0, 1, false, {}), Reliable::Verdict::kDeliver);
  EXPECT_EQ(r.in_flight(), 0u);
}

TEST_F(ReliableTest, StaleNrIsIgnored) {
  Reliable r(config_, sink_);
  r.Send(t0_, Msg(1));
  r.Receive(t0_, 0, 1, false, {});
  r.Send(t0_, Msg(2));
  EXPECT_EQ(r.Receive(t0_, 1, 1, false, {}), Reliable::Verdict::kDeliver);
  EXPECT_EQ(r.Receive(t0_, 1, 0, false, {}), Reliable::Verdict::kDuplicate);
  EXPECT_EQ(r.in_flight(), 1u);
}

TEST_F(ReliableTest, RetransmitBacksOffExponentiallyWithCap) {
  config_.max_timeout = seconds(8);
  config_.max_retries = 6;
  Reliable r(config_, sink_);
  r.Receive(t0_, 0, 0, false, {});  // so retransmissions carry an updated Nr of 1
  r.Send(t0_, Msg(9));
  std::vector<Duration> gaps;
  Instant last = t0_;
  while (!r.failed()) {
    auto next = r.NextDeadline();
    ASSERT_TRUE(next.has_value());
    r.HandleTimeout(*next);
    if (!r.failed()) {
      gaps.push_back(*next - last);
    }
    last = *next;
  }
  const std::vector<Duration> want = {seconds(1), seconds(2), seconds(4),
                                      seconds(8), seconds(8), seconds(8)};
  EXPECT_EQ(gaps, want);
  EXPECT_EQ(r.stats().retransmits, 6u);
  for (const Sent& s : sink_.sent) {
    EXPECT_EQ(s.ns, 0);
    EXPECT_EQ(s.nr, 1);
  }
  EXPECT_EQ(last - t0_, r.FullRetransmitInterval());
}

TEST_F(ReliableTest, GivesUpAfterConfiguredRetries) {
  config_.max_retries = 3;
  Reliable r(config_, sink_);
  r.Send(t0_, Msg(1));
  Instant now = t0_;
  for (int i = 0; i < 3; ++i) {
    now = *r.NextDeadline();
    r.HandleTimeout(now);
    EXPECT_FALSE(r.failed());
  }
  now = *r.NextDeadline();
  r.HandleTimeout(now);
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(sink_.sent.size(), 4u);
  EXPECT_FALSE(r.NextDeadline().has_value());
}

TEST_F(ReliableTest, RetransmissionHalvesWindowIntoSsthresh) {
  Reliable r(config_, sink_);
  r.SetPeerWindow(16);
  for (uint8_t i = 0; i < 30; ++i) {
    r.Send(t0_, Msg(i));
  }
  for (int i = 0; i < 3; ++i) {
    r.Receive(t0_, 0, r.next_ns(), true, {});
  }
  EXPECT_EQ(r.cwnd(), 8);
  r.HandleTimeout(*r.NextDeadline());
  EXPECT_EQ(r.cwnd(), 1);
  EXPECT_EQ(r.ssthresh(), 4);
  EXPECT_EQ(r.stats().retransmits, 1u);
}

TEST_F(ReliableTest, AckOfHeadRestartsTimerWithInitialTimeout) {
  Reliable r(config_, sink_);
  r.SetPeerWindow(4);
  r.Send(t0_, Msg(1));
  r.HandleTimeout(t0_ + seconds(1));  // first retransmission, next after 2 s
  EXPECT_EQ(*r.NextDeadline(), t0_ + seconds(3));
  r.Receive(t0_ + seconds(2), 0, 1, true, {});
  r.Send(t0_ + seconds(2), Msg(2));
  EXPECT_EQ(*r.NextDeadline(), t0_ + seconds(3));
  EXPECT_TRUE(r.in_flight() == 1u);
}

TEST_F(ReliableTest, IdleOnceEverythingAcknowledged) {
  Reliable r(config_, sink_);
  r.Send(t0_, Msg(1));
  EXPECT_FALSE(r.idle());
  r.Receive(t0_, 0, 1, true, {});
  EXPECT_TRUE(r.idle());
  EXPECT_FALSE(r.NextDeadline().has_value());
}

}  // namespace
}  // namespace pwire::l2tp
