// Virtual time and an in-memory network for whole agents: VirtualDispatcher (the agent's
// time and dispatch seam, agent/core/dispatcher.h) runs posted work and timers on a virtual
// clock, VirtualNetwork (the datagram socket seam, agent/core/datagram_socket.h) carries
// datagrams between the sockets of several agents with a fixed delay. Two Agents (or two
// L2tpControlPlanes) then run against each other in a unit test, without sockets or sleeps,
// as the engine's simulator (tests/l2tp/sim.h) runs engines.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "agent/core/datagram_socket.h"
#include "agent/core/dispatcher.h"
#include "agent/l2tp/message.h"

namespace pwire::agent::test_support {

class VirtualDispatcher final : public Dispatcher {
 public:
  base::Instant Now() const override { return now_; }
  TimerId ScheduleAt(base::Instant when, Task task) override {
    TimerId id = next_++;
    timers_.emplace(std::pair{when, id}, std::move(task));
    return id;
  }
  void Cancel(TimerId id) override {
    std::erase_if(timers_, [id](const auto& kv) { return kv.first.second == id; });
  }
  void Post(Task task) override {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
  }

  // Runs posted work, then the earliest timer (advancing the clock to it), and so on, until
  // `done` holds or `limit` of virtual time has passed. Returns done().
  bool RunUntil(const std::function<bool()>& done, base::Duration limit) {
    const base::Instant end = now_ + limit;
    for (;;) {
      RunPosted();
      if (done()) return true;
      if (timers_.empty() || timers_.begin()->first.first > end) break;
      auto it = timers_.begin();
      now_ = std::max(now_, it->first.first);
      Task task = std::move(it->second);
      timers_.erase(it);
      task();
    }
    now_ = std::max(now_, end);
    return done();
  }
  void RunFor(base::Duration d) {
    RunUntil([] { return false; }, d);
  }

 private:
  void RunPosted() {
    for (;;) {
      std::deque<Task> tasks;
      {
        std::lock_guard lock(mu_);
        tasks.swap(posted_);
      }
      if (tasks.empty()) return;
      for (auto& t : tasks) t();
    }
  }

  // Not zero: some code takes Instant{} for "unset".
  base::Instant now_ = base::Instant{} + std::chrono::hours(1);
  TimerId next_ = 1;
  std::map<std::pair<base::Instant, TimerId>, Task> timers_;
  std::mutex mu_;
  std::deque<Task> posted_;
};

// One datagram as it left a socket.
struct SentDatagram {
  base::Instant at;
  l2tp::PeerAddress from;
  l2tp::PeerAddress to;
  std::vector<uint8_t> bytes;
};

// Sockets of every agent on one virtual wire. A datagram goes, after `delay`, to the socket
// connected to its sender at its destination, else to the one bound there unconnected (as
// Linux picks among UDP sockets sharing a port); with neither it is lost. Addresses taken
// down (SetDown) send and receive nothing.
class VirtualNetwork final : public DatagramSockets {
 public:
  explicit VirtualNetwork(VirtualDispatcher& d, base::Duration delay = std::chrono::milliseconds(5))
      : d_(d), delay_(delay) {}

  absl::StatusOr<std::unique_ptr<DatagramSocket>> Open(const dataplane::IpAddress& local,
                                                       uint16_t port,
                                                       const dataplane::IpAddress* peer,
                                                       uint16_t peer_port) override {
    auto s = std::make_unique<Socket>(*this, Addr(local, port));
    if (peer != nullptr) s->peer = Addr(*peer, peer_port);
    for (Socket* o : sockets_) {
      if (o->local == s->local && o->peer == s->peer) {
        return absl::UnavailableError("bind: address in use (connected to the same peer)");
      }
    }
    sockets_.push_back(s.get());
    return s;
  }

  // Every datagram sent so far, in order.
  const std::vector<SentDatagram>& sent() const { return sent_; }
  void SetDown(const l2tp::PeerAddress& host, bool down) {
    if (down) {
      down_.push_back(host);
    } else {
      std::erase_if(down_, [&](const auto& h) { return h.SameHost(host); });
    }
  }
  static l2tp::PeerAddress Addr(const dataplane::IpAddress& a, uint16_t port) {
    l2tp::PeerAddress p;
    p.ip = a.bytes;
    p.v6 = a.is_v6();
    p.port = port;
    return p;
  }

 private:
  struct Socket final : DatagramSocket {
    Socket(VirtualNetwork& n, l2tp::PeerAddress l) : net(n), local(l), id(net.next_fd_++) {}
    ~Socket() override { std::erase(net.sockets_, this); }
    absl::Status SendTo(const l2tp::PeerAddress& to, std::span<const uint8_t> bytes) override {
      net.Send(local, to, bytes);
      return absl::OkStatus();
    }
    absl::Status Watch(Receiver r, Drained d) override {
      receive = std::move(r);
      drained = std::move(d);
      watched = true;
      if (!inbox.empty()) {
        net.d_.Post([this, alive = std::weak_ptr<int>(token)] {
          if (!alive.expired()) Flush();
        });
      }
      return absl::OkStatus();
    }
    void Unwatch() override { watched = false; }
    int fd() const override { return id; }
    void Deliver(const l2tp::PeerAddress& from, std::vector<uint8_t> bytes) {
      inbox.emplace_back(from, std::move(bytes));
      if (watched) Flush();
    }
    void Flush() {
      while (watched && !inbox.empty()) {
        auto [from, bytes] = std::move(inbox.front());
        inbox.pop_front();
        receive(from, bytes);
      }
      if (!watched) return;
      Drained d = drained;  // may close this socket (a control connection ends)
      d();
    }
    VirtualNetwork& net;
    l2tp::PeerAddress local;
    std::optional<l2tp::PeerAddress> peer;
    int id;
    bool watched = false;
    Receiver receive;
    Drained drained;
    std::deque<std::pair<l2tp::PeerAddress, std::vector<uint8_t>>> inbox;
    std::shared_ptr<int> token = std::make_shared<int>(0);
  };

  bool IsDown(const l2tp::PeerAddress& a) const {
    return std::any_of(down_.begin(), down_.end(), [&](const auto& h) { return h.SameHost(a); });
  }
  void Send(const l2tp::PeerAddress& from, const l2tp::PeerAddress& to,
            std::span<const uint8_t> bytes) {
    sent_.push_back({d_.Now(), from, to, {bytes.begin(), bytes.end()}});
    if (IsDown(from) || IsDown(to)) return;
    d_.ScheduleAt(d_.Now() + delay_, [this, from, to, b = sent_.back().bytes]() mutable {
      Socket* target = nullptr;
      for (Socket* s : sockets_) {
        if (s->local != to) continue;
        if (s->peer == from) target = s;
        if (!s->peer && target == nullptr) target = s;
      }
      if (target != nullptr && !IsDown(to)) target->Deliver(from, std::move(b));
    });
  }

  VirtualDispatcher& d_;
  base::Duration delay_;
  std::vector<Socket*> sockets_;
  std::vector<SentDatagram> sent_;
  std::vector<l2tp::PeerAddress> down_;
  int next_fd_ = 100000;  // fake descriptors: only FakeDataplane takes them
};

// The control messages among `sent` of one type (RFC 3931 §3.2), decoded without secrets
// (the AVPs tests look at are not hidden), with their senders.
inline std::vector<std::pair<SentDatagram, l2tp::Message>> ControlMessages(
    const std::vector<SentDatagram>& sent, l2tp::MessageType type) {
  std::vector<std::pair<SentDatagram, l2tp::Message>> out;
  for (const auto& d : sent) {
    auto p = l2tp::DecodeControl(d.bytes, l2tp::Transport::kUdp);
    if (p.ok() && p->message.type() == type) out.emplace_back(d, p->message);
  }
  return out;
}

}  // namespace pwire::agent::test_support
