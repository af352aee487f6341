// EventLoop: epoll + timerfd + eventfd. See event_loop.h.
#include "agent/core/event_loop.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pwire::agent {
namespace {

absl::Status Errno(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", std::strerror(errno)));
}

uint64_t SelfId() { return static_cast<uint64_t>(pthread_self()); }

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Errno("epoll_create1");
  int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tf < 0) {
    close(ep);
    return Errno("timerfd_create");
  }
  int ef = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ef < 0) {
    close(ep);
    close(tf);
    return Errno("eventfd");
  }
  auto loop = std::unique_ptr<EventLoop>(new EventLoop(ep, tf, ef));
  for (int fd : {tf, ef}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) return Errno("epoll_ctl");
  }
  return loop;
}

EventLoop::EventLoop(int epfd, int timerfd, int eventfd)
    : epfd_(epfd), timerfd_(timerfd), eventfd_(eventfd) {}

EventLoop::~EventLoop() {
  close(eventfd_);
  close(timerfd_);
  close(epfd_);
}

absl::Status EventLoop::AddFd(int fd, uint32_t events, FdCallback cb) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) return Errno("epoll_ctl(ADD)");
  fds_[fd] = std::make_shared<FdCallback>(std::move(cb));
  return absl::OkStatus();
}

absl::Status EventLoop::ModifyFd(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0) return Errno("epoll_ctl(MOD)");
  return absl::OkStatus();
}

void EventLoop::RemoveFd(int fd) {
  if (fds_.erase(fd) > 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::ScheduleAt(base::Instant when, Task task) {
  TimerId id = next_timer_++;
  timers_.emplace(when, id);
  timer_tasks_.emplace(id, std::make_pair(when, std::move(task)));
  if (when < armed_) ArmTimer();
  return id;
}

void EventLoop::Cancel(TimerId id) {
  auto it = timer_tasks_.find(id);
  if (it == timer_tasks_.end()) return;
  auto [lo, hi] = timers_.equal_range(it->second.first);
  for (auto t = lo; t != hi; ++t) {
    if (t->second == id) {
      timers_.erase(t);
      break;
    }
  }
  timer_tasks_.erase(it);
  // A stale, earlier arming only causes a spurious wake-up; ArmTimer runs again then.
}

void EventLoop::ArmTimer() {
  itimerspec spec{};
  if (timers_.empty()) {
    armed_ = base::Instant::max();
  } else {
    armed_ = timers_.begin()->first;
    auto ns = armed_.time_since_epoch().count();
    if (ns <= 0) ns = 1;  // 0 would disarm the timer.
    spec.it_value.tv_sec = ns / 1'000'000'000;
    spec.it_value.tv_nsec = ns % 1'000'000'000;
  }
  timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::FireTimers() {
  uint64_t expirations;
  while (read(timerfd_, &expirations, sizeof expirations) > 0) {
  }
  base::Instant now = Now();
  // Collect first: a task may schedule or cancel other timers.
  std::vector<TimerId> due;
  for (auto it = timers_.begin(); it != timers_.end() && it->first <= now;) {
    due.push_back(it->second);
    it = timers_.erase(it);
  }
  for (TimerId id : due) {
    auto it = timer_tasks_.find(id);
    if (it == timer_tasks_.end()) continue;  // Cancelled by an earlier task in this round.
    Task task = std::move(it->second.second);
    timer_tasks_.erase(it);
    task();
  }
  ArmTimer();
}

void EventLoop::Post(Task task) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(task));
  }
  Wake();
}

void EventLoop::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(eventfd_, &one, sizeof one);
}

void EventLoop::DrainPosted() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(eventfd_, &count, sizeof count);
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

void EventLoop::Stop() {
  stop_ = true;
  Wake();
}

bool EventLoop::InLoopThread() const { return thread_id_ == SelfId(); }

void EventLoop::RunOnce(base::Duration max_wait) {
  thread_id_ = SelfId();
  epoll_event events[64];
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(max_wait).count();
  int n = epoll_wait(epfd_, events, 64, ms < 0 ? -1 : static_cast<int>(ms));
  // Timers go last: after a stall (a long task), what arrived meanwhile (a peer's
  // acknowledgement, a control message a data plane thread posted) is read before a
  // retransmission timeout that it would have cancelled fires.
  bool timers_due = false;
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == timerfd_) {
      timers_due = true;
    } else if (fd == eventfd_) {
      DrainPosted();
    } else {
      auto it = fds_.find(fd);
      if (it == fds_.end()) continue;  // Removed by an earlier callback in this round.
      auto cb = it->second;            // Keeps the callback alive if it removes itself.
      (*cb)(events[i].events);
    }
  }
  if (timers_due) FireTimers();
}

void EventLoop::Run() {
  while (!stop_) RunOnce(std::chrono::seconds(1));
  DrainPosted();
}

}  // namespace pwire::agent
