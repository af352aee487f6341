// The agent's single event loop: epoll over file descriptors, one timerfd holding the earliest
// of the loop's timers, and an eventfd through which other threads (the gRPC client) post work.
// Everything that touches the protocol engine and the data plane runs on this loop's thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/core/dispatcher.h"
#include "pwire/base/time.h"

namespace pwire::agent {

class EventLoop final : public Dispatcher {
 public:
  using FdCallback = std::function<void(uint32_t events)>;

  // Creates epoll, timerfd and eventfd; fails if the kernel refuses any of them.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches fd for `events` (EPOLLIN, ...). The loop does not own fd. Loop thread only.
  absl::Status AddFd(int fd, uint32_t events, FdCallback cb);
  absl::Status ModifyFd(int fd, uint32_t events);
  void RemoveFd(int fd);

  // Dispatcher: timers on the monotonic clock (loop thread only), posted work (any thread).
  TimerId ScheduleAt(base::Instant when, Task task) override;
  void Cancel(TimerId id) override;
  void Post(Task task) override;

  // Runs until Stop(). Stop() is thread-safe and may be called from a signal-safe context
  // through the eventfd (it only writes to it).
  void Run();
  void Stop();
  // Runs one round: waits at most `max_wait` for events, dispatches them (descriptors and
  // posted work first, due timers last), returns.
  void RunOnce(base::Duration max_wait);

  base::Instant Now() const override { return base::MonotonicNow(); }
  bool InLoopThread() const;

 private:
  EventLoop(int epfd, int timerfd, int eventfd);
  void ArmTimer();
  void FireTimers();
  void DrainPosted();
  void Wake();

  int epfd_;
  int timerfd_;
  int eventfd_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> thread_id_{0};
  std::unordered_map<int, std::shared_ptr<FdCallback>> fds_;
  std::multimap<base::Instant, TimerId> timers_;
  std::unordered_map<TimerId, std::pair<base::Instant, Task>> timer_tasks_;
  TimerId next_timer_ = 1;
  base::Instant armed_ = base::Instant::max();
  std::mutex posted_mu_;
  std::vector<Task> posted_;
};

}  // namespace pwire::agent
