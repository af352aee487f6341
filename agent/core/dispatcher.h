// The agent's time and dispatch seam: the clock, timers and posted work that the Agent and the
// L2TP control plane run on. EventLoop (event_loop.h) is the real one, on the monotonic clock
// and epoll; tests/agent/virtual_net.h has a virtual-time one, so that whole agents run against
// each other in a unit test the way the engine's simulator (tests/l2tp/sim.h) runs engines.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "pwire/base/time.h"

namespace pwire::agent {

class Dispatcher {
 public:
  using Task = std::function<void()>;
  using TimerId = uint64_t;

  virtual ~Dispatcher() = default;

  virtual base::Instant Now() const = 0;
  // Runs `task` at or after `when` on the dispatcher's thread. That thread only.
  virtual TimerId ScheduleAt(base::Instant when, Task task) = 0;
  virtual void Cancel(TimerId id) = 0;
  // Thread-safe: runs `task` on the dispatcher's thread soon. Tasks run in posting order.
  virtual void Post(Task task) = 0;

  // A task that runs `task` only while `alive` has not expired: an object that hands work
  // to the dispatcher (posted, on a timer, or from a handler another thread calls) gives it
  // its lifetime token, so the work does nothing once the object is gone.
  static Task IfAlive(std::weak_ptr<const void> alive, Task task) {
    return [alive = std::move(alive), task = std::move(task)] {
      if (!alive.expired()) task();
    };
  }
};

}  // namespace pwire::agent
