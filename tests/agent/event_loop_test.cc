// EventLoop: timers fire in order, cancelled timers do not, work posted from other threads
// runs on the loop, and file descriptors dispatch.
#include "agent/core/event_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace pwire::agent {
namespace {

using std::chrono::milliseconds;

// Runs the loop until `done` or a deadline passes; returns whether `done` became true.
template <typename F>
bool RunUntil(EventLoop& loop, F done, base::Duration limit = std::chrono::seconds(5)) {
  auto deadline = base::MonotonicNow() + limit;
  while (!done() && base::MonotonicNow() < deadline) loop.RunOnce(milliseconds(50));
  return done();
}

TEST(EventLoopTest, TimersFireInDeadlineOrder) {
  auto loop = *EventLoop::Create();
  std::vector<int> order;
  auto now = loop->Now();
  loop->ScheduleAt(now + milliseconds(30), [&] { order.push_back(3); });
  loop->ScheduleAt(now + milliseconds(10), [&] { order.push_back(1); });
  loop->ScheduleAt(now + milliseconds(20), [&] { order.push_back(2); });
  ASSERT_TRUE(RunUntil(*loop, [&] { return order.size() == 3; }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoopTest, CancelledTimerNeverFires) {
  auto loop = *EventLoop::Create();
  bool cancelled_fired = false, other_fired = false;
  auto now = loop->Now();
  auto id = loop->ScheduleAt(now + milliseconds(5), [&] { cancelled_fired = true; });
  loop->ScheduleAt(now + milliseconds(20), [&] { other_fired = true; });
  loop->Cancel(id);
  ASSERT_TRUE(RunUntil(*loop, [&] { return other_fired; }));
  EXPECT_FALSE(cancelled_fired);
}

TEST(EventLoopTest, PastDeadlineFiresImmediately) {
  auto loop = *EventLoop::Create();
  bool fired = false;
  loop->ScheduleAt(loop->Now() - milliseconds(100), [&] { fired = true; });
  EXPECT_TRUE(RunUntil(
      *loop, [&] { return fired; }, milliseconds(500)));
}

TEST(EventLoopTest, TimerCanRescheduleItself) {
  auto loop = *EventLoop::Create();
  int count = 0;
  std::function<void()> tick = [&] {
    if (++count < 3) loop->ScheduleAt(loop->Now() + milliseconds(1), tick);
  };
  loop->ScheduleAt(loop->Now(), tick);
  ASSERT_TRUE(RunUntil(*loop, [&] { return count == 3; }));
}

TEST(EventLoopTest, PostFromOtherThreadRunsOnLoopThreadInOrder) {
  auto loop = *EventLoop::Create();
  std::vector<int> seen;
  std::vector<bool> on_loop;
  std::thread t([&] {
    for (int i = 0; i < 100; ++i) {
      loop->Post([&, i] {
        seen.push_back(i);
        on_loop.push_back(loop->InLoopThread());
      });
    }
  });
  t.join();
  ASSERT_TRUE(RunUntil(*loop, [&] { return seen.size() == 100; }));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
  for (bool b : on_loop) EXPECT_TRUE(b);
}

TEST(EventLoopTest, StopFromOtherThreadEndsRun) {
  auto loop = *EventLoop::Create();
  std::thread t([&] { loop->Post([&] { loop->Stop(); }); });
  loop->Run();  // Returns only because of Stop().
  t.join();
  SUCCEED();
}

TEST(EventLoopTest, FdCallbackDispatchesAndCanRemoveItself) {
  auto loop = *EventLoop::Create();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
  int reads = 0;
  ASSERT_TRUE(loop->AddFd(sv[0], EPOLLIN,
                          [&](uint32_t) {
                            char b[16];
                            while (read(sv[0], b, sizeof b) > 0) ++reads;
                            loop->RemoveFd(sv[0]);
                          })
                  .ok());
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  ASSERT_TRUE(RunUntil(*loop, [&] { return reads == 1; }));
  ASSERT_EQ(write(sv[1], "y", 1), 1);
  loop->RunOnce(milliseconds(20));
  EXPECT_EQ(reads, 1);  // Removed: no more dispatch.
  close(sv[0]);
  close(sv[1]);
}

// After a stall, a timer that became due and a datagram (or posted work) that arrived in the
// meantime are ready together: the datagram is read first, so an acknowledgement it carries
// cancels a retransmission before the retransmission timeout fires.
TEST(EventLoopTest, ReadyDescriptorsAndPostedWorkRunBeforeDueTimers) {
  auto loop = *EventLoop::Create();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
  std::vector<std::string> order;
  ASSERT_TRUE(loop->AddFd(sv[0], EPOLLIN,
                          [&](uint32_t) {
                            char b[16];
                            while (read(sv[0], b, sizeof b) > 0) order.emplace_back("fd");
                          })
                  .ok());
  // Became due first (armed before the datagram and the post arrived).
  loop->ScheduleAt(loop->Now() - milliseconds(1), [&] { order.emplace_back("timer"); });
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  loop->Post([&] { order.emplace_back("posted"); });
  ASSERT_TRUE(RunUntil(*loop, [&] { return order.size() == 3; }));
  EXPECT_EQ(order.back(), "timer");
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace pwire::agent
