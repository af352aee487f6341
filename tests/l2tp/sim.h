// A network simulator for the L2TP engine: two (or more) engines joined by a link that
// loses, delays, reorders and duplicates datagrams, on virtual time driven by a seeded
// Random. Each engine is driven exactly as the agent drives it: Receive/HandleTimeout,
// then drain packets and events, then NextDeadline.
#pragma once

#include <functional>
#include <memory>
#include <queue>
#include <vector>

#include "agent/l2tp/engine.h"
#include "pwire/base/random.h"

namespace pwire::l2tp::sim {

struct LinkConfig {
  double loss = 0.0;       // probability a datagram is dropped, each way
  double duplicate = 0.0;  // probability it is delivered twice
  Duration delay = std::chrono::milliseconds(10);
  Duration jitter = Duration::zero();  // extra uniform delay: reorders datagrams
};

class AcceptAll : public SessionPolicy {
 public:
  SessionDecision OnIncomingSession(const IncomingSession& r) override {
    ++requests;
    SessionDecision d;
    d.accept = accept;
    d.params = params;
    d.result = 4;
    return d;
  }
  bool accept = true;
  SessionParams params;
  int requests = 0;
};

struct Node {
  PeerAddress address;
  std::unique_ptr<base::SeededRandom> random;
  AcceptAll policy;
  std::unique_ptr<Engine> engine;
  std::vector<Event> events;  // everything the engine reported, in order
  size_t sessions_up = 0;     // SessionUp events so far (cheap to poll)
};

class Simulator {
 public:
  explicit Simulator(uint64_t seed, LinkConfig link = {}) : rng_(seed), link_(link) {}

  // Adds an engine at 10.0.0.N:1701. Returns its index.
  size_t AddNode(EngineConfig config) {
    auto n = std::make_unique<Node>();
    n->address = PeerAddress::V4(0x0a000001 + static_cast<uint32_t>(nodes_.size()), 1701);
    n->random = std::make_unique<base::SeededRandom>(rng_.Next64());
    n->engine = std::make_unique<Engine>(std::move(config), *n->random, &n->policy);
    nodes_.push_back(std::move(n));
    return nodes_.size() - 1;
  }
  Node& node(size_t i) { return *nodes_[i]; }
  Engine& engine(size_t i) { return *nodes_[i]->engine; }
  Instant now() const { return now_; }
  void set_link(LinkConfig link) { link_ = link; }
  // Sees every datagram an engine sends (node index, datagram), before the link acts on it.
  void set_tap(std::function<void(size_t, const Datagram&)> tap) { tap_ = std::move(tap); }
  uint64_t delivered() const { return delivered_; }
  uint64_t dropped() const { return dropped_; }

  // Runs a command on node i at the current time, then collects its outputs.
  template <class F>
  auto Do(size_t i, F&& f) {
    auto result = f(engine(i), now_);
    Collect(i);
    return result;
  }

  // Advances virtual time event by event until `done` holds or `limit` passes.
  bool RunUntil(const std::function<bool()>& done, Duration limit) {
    const Instant end = now_ + limit;
    while (!done()) {
      std::optional<Instant> next = NextEvent();
      if (!next || *next > end) return done();
      Step(*next);
    }
    return true;
  }
  void RunFor(Duration d) {
    const Instant end = now_ + d;
    RunUntil([&] { return false; }, d);
    now_ = std::max(now_, end);
  }

 private:
  struct Flight {
    Instant at;
    uint64_t order;
    size_t to;
    PeerAddress from;
    Bytes bytes;
    bool operator>(const Flight& o) const { return at != o.at ? at > o.at : order > o.order; }
  };

  std::optional<Instant> NextEvent() const {
    std::optional<Instant> next;
    if (!flights_.empty()) next = flights_.top().at;
    for (const auto& n : nodes_) {
      auto d = n->engine->NextDeadline();
      if (d && (!next || *d < *next)) next = d;
    }
    return next;
  }

  void Step(Instant t) {
    now_ = std::max(now_, t);
    while (!flights_.empty() && flights_.top().at <= now_) {
      Flight f = flights_.top();
      flights_.pop();
      ++delivered_;
      (void)engine(f.to).Receive(now_, f.from, f.bytes);
      Collect(f.to);
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      auto d = engine(i).NextDeadline();
      if (d && *d <= now_) {
        engine(i).HandleTimeout(now_);
        Collect(i);
      }
    }
  }

  void Collect(size_t i) {
    Node& n = node(i);
    for (Event& e : n.engine->TakeEvents()) {
      n.sessions_up += std::holds_alternative<SessionUp>(e);
      n.events.push_back(std::move(e));
    }
    for (Datagram& d : n.engine->TakePackets()) Send(i, std::move(d));
  }

  bool Chance(double p) {
    return p > 0 && static_cast<double>(rng_.Uniform(1'000'000)) < p * 1'000'000;
  }

  void Send(size_t from, Datagram d) {
    if (tap_) tap_(from, d);
    size_t to = nodes_.size();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->address.SameHost(d.peer)) to = i;
    }
    if (to == nodes_.size() || Chance(link_.loss)) {
      ++dropped_;
      return;
    }
    const int copies = Chance(link_.duplicate) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      Duration extra{link_.jitter.count() > 0 ? rng_.Uniform(link_.jitter.count()) : 0};
      flights_.push(Flight{now_ + link_.delay + extra, order_++, to, node(from).address, d.bytes});
    }
  }

  base::SeededRandom rng_;
  LinkConfig link_;
  Instant now_{};
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<Flight, std::vector<Flight>, std::greater<>> flights_;
  uint64_t order_ = 0;
  uint64_t delivered_ = 0;
  uint64_t dropped_ = 0;
  std::function<void(size_t, const Datagram&)> tap_;
};

// Counts of one event kind in a node's history.
template <class E>
std::vector<E> EventsOf(const Node& n) {
  std::vector<E> out;
  for (const Event& e : n.events) {
    if (const E* x = std::get_if<E>(&e)) out.push_back(*x);
  }
  return out;
}

}  // namespace pwire::l2tp::sim
