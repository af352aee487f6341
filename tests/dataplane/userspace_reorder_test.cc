// ReorderQueue (RFC 3931 §4.6): in-order delivery, holding packets ahead of a gap up to the
// reorder timeout, giving up a gap at the timeout or when the queue is full, discarding late
// packets and duplicates, and the 24-bit wrap. Virtual time, no I/O.
#include "agent/dataplane/userspace_reorder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace pwire::dataplane {
namespace {

using std::chrono::milliseconds;

class ReorderQueueTest : public ::testing::Test {
 protected:
  // Pushes a one-byte frame holding `seq`'s low byte; returns Push's answer.
  bool Push(uint32_t seq) {
    std::vector<uint8_t> frame = {static_cast<uint8_t>(seq)};
    return q_.Push(now_, seq, frame, deliver_);
  }
  void Expire() { q_.Expire(now_, deliver_); }

  base::Instant now_{};
  std::vector<uint8_t> out_;
  ReorderQueue::Deliver deliver_ = [this](std::span<uint8_t> f) { out_.push_back(f[0]); };
  ReorderQueue q_{milliseconds(100), 4};
};

TEST_F(ReorderQueueTest, DeliversInOrderPacketsAtOnce) {
  for (uint32_t s = 10; s < 14; ++s) {
    EXPECT_TRUE(Push(s));
  }
  EXPECT_EQ(out_, (std::vector<uint8_t>{10, 11, 12, 13}));
  EXPECT_EQ(q_.held(), 0u);
  EXPECT_FALSE(q_.NextDeadline().has_value());
}

TEST_F(ReorderQueueTest, HoldsPacketsAheadOfAGapUntilTheMissingOneArrives) {
  Push(1);
  EXPECT_TRUE(Push(3));
  EXPECT_TRUE(Push(4));
  EXPECT_EQ(out_, (std::vector<uint8_t>{1}));
  EXPECT_EQ(q_.held(), 2u);
  EXPECT_EQ(q_.NextDeadline(), now_ + milliseconds(100));
  now_ += milliseconds(50);
  Expire();
  EXPECT_EQ(out_, (std::vector<uint8_t>{1}));  // still within the timeout
  EXPECT_TRUE(Push(2));
  EXPECT_EQ(out_, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(q_.held(), 0u);
  EXPECT_EQ(q_.held_total(), 2u);
}

TEST_F(ReorderQueueTest, GivesUpAGapAtTheTimeout) {
  Push(1);
  Push(3);
  now_ += milliseconds(60);
  Push(6);
  now_ += milliseconds(40);  // 3 has waited 100 ms, 6 only 40
  Expire();
  EXPECT_EQ(out_, (std::vector<uint8_t>{1, 3}));
  EXPECT_EQ(q_.expected(), 4u);
  EXPECT_EQ(q_.NextDeadline(), now_ + milliseconds(60));
  EXPECT_FALSE(Push(2));  // given up: now late
  now_ += milliseconds(60);
  Expire();
  EXPECT_EQ(out_, (std::vector<uint8_t>{1, 3, 6}));
  EXPECT_TRUE(Push(7));
  EXPECT_EQ(out_, (std::vector<uint8_t>{1, 3, 6, 7}));
}

TEST_F(ReorderQueueTest, AnExpiredPacketReleasesTheLowerOnesHeldBeforeIt) {
  Push(1);
  Push(5);  // waits longest
  now_ += milliseconds(10);
  Push(3);
  now_ += milliseconds(90);
  Expire();  // 5 is due: 3 goes first, then 5
  EXPECT_EQ(out_, (std::vector<uint8_t>{1, 3, 5}));
  EXPECT_EQ(q_.held(), 0u);
}

TEST_F(ReorderQueueTest, DiscardsLatePacketsAndDuplicates) {
  Push(100);
  Push(101);
  EXPECT_FALSE(Push(100));
  EXPECT_FALSE(Push(50));
  EXPECT_TRUE(Push(103));
  EXPECT_FALSE(Push(103));  // already held
  EXPECT_EQ(out_, (std::vector<uint8_t>{100, 101}));
}

TEST_F(ReorderQueueTest, AFullQueueGivesUpTheFirstGap) {
  Push(1);
  for (uint32_t s : {3u, 4u, 5u, 6u}) {
    Push(s);
  }
  EXPECT_EQ(out_, (std::vector<uint8_t>{1}));
  Push(8);  // a fifth held packet: more than max_held
  EXPECT_EQ(out_, (std::vector<uint8_t>{1, 3, 4, 5, 6}));
  EXPECT_EQ(q_.held(), 1u);
  EXPECT_EQ(q_.expected(), 7u);
}

TEST_F(ReorderQueueTest, WrapsAroundTheTwentyFourBitSpace) {
  Push(0xFFFFFE);
  Push(0x000000);
  Push(0xFFFFFF);
  EXPECT_EQ(out_, (std::vector<uint8_t>{0xFE, 0xFF, 0x00}));
  EXPECT_EQ(q_.expected(), 1u);
}

TEST_F(ReorderQueueTest, HeldFramesAreCopies) {
  Push(1);
  std::vector<uint8_t> frame = {3};
  q_.Push(now_, 3, frame, deliver_);
  frame[0] = 99;  // the receive buffer is reused
  Push(2);
  EXPECT_EQ(out_, (std::vector<uint8_t>{1, 2, 3}));
}

}  // namespace
}  // namespace pwire::dataplane
