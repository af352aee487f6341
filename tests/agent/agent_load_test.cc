// Two agents, each on its own event loop and thread (as two pwire-agent processes are), over
// loopback UDP, with a data plane whose session programming is slow (as TAP interfaces and
// bridge ports are): programming many sessions must not silence the control connection for
// longer than the peer's retransmission timeouts. Before reconciles were cut into slices, the
// peer declared the connection dead ("peer not responding"), every session went down, and the
// cycle repeated under load.
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "agent/core/agent.h"
#include "agent/core/l2tp_control.h"
#include "agent/dataplane/fake_dataplane.h"
#include "gtest/gtest.h"
#include "tests/agent/assignments.h"

namespace pwire::agent {
namespace {

using std::chrono::milliseconds;

// A FakeDataplane whose CreateSession takes `cost` (the simulated work of a real data plane;
// the sleep stands for that work; nothing waits on it).
class SlowDataplane final : public dataplane::Dataplane {
 public:
  explicit SlowDataplane(base::Duration cost) : cost_(cost) {}
  dataplane::Capabilities GetCapabilities() const override { return fake_.GetCapabilities(); }
  absl::Status CreateTunnel(const dataplane::TunnelConfig& c) override {
    return fake_.CreateTunnel(c);
  }
  absl::Status DeleteTunnel(uint32_t id) override { return fake_.DeleteTunnel(id); }
  absl::Status CreateSession(const dataplane::SessionConfig& c) override {
    std::this_thread::sleep_for(cost_);
    return fake_.CreateSession(c);
  }
  absl::Status DeleteSession(uint32_t t, uint32_t s) override { return fake_.DeleteSession(t, s); }
  absl::StatusOr<dataplane::Snapshot> List() const override { return fake_.List(); }
  absl::StatusOr<dataplane::Stats> SessionStats(uint32_t t, uint32_t s) const override {
    return fake_.SessionStats(t, s);
  }
  dataplane::Stats GlobalStats() const override { return fake_.GlobalStats(); }
  void SetEventHandler(EventHandler h) override { fake_.SetEventHandler(std::move(h)); }
  void SetControlPacketHandler(ControlPacketHandler h) override {
    fake_.SetControlPacketHandler(std::move(h));
  }
  size_t sessions() const { return fake_.List()->sessions.size(); }

 private:
  base::Duration cost_;
  dataplane::FakeDataplane fake_;
};

v1::PseudowireAssignment Pw(const std::string& local, const std::string& peer, uint16_t port,
                            v1::Role role, const std::string& id) {
  v1::PseudowireAssignment a = test_support::DynamicAssignment(local, peer, port, role, id);
  auto* p = a.mutable_params();
  // Short timers: a HELLO every 0.1 s keeps a message in flight (RFC 3931 §6.5), and a peer
  // silent for 0.2 + 0.4 + 0.4 s is declared dead (§4.2).
  p->mutable_hello_interval()->set_nanos(100'000'000);
  p->mutable_retransmit_timeout()->set_nanos(200'000'000);
  p->mutable_retransmit_timeout_max()->set_nanos(400'000'000);
  p->set_retransmit_retries(2);
  return a;
}

struct Side {
  Side(const std::string& addr, uint16_t port, base::Duration cost) : dp(cost) {
    loop = *EventLoop::Create();
    cfg.agent_id = "agent-" + addr;
    cfg.underlay = {addr};
    cfg.l2tp_port = port;
    cp = std::make_unique<L2tpControlPlane>(*loop, cfg, dp, std::make_unique<base::SystemRandom>());
    agent = std::make_unique<Agent>(*loop, cfg, dp, *cp);
  }
  std::unique_ptr<EventLoop> loop;
  AgentConfig cfg;
  SlowDataplane dp;
  std::unique_ptr<L2tpControlPlane> cp;
  std::unique_ptr<Agent> agent;
};

TEST(AgentLoadTest, ControlConnectionSurvivesSlowSessionProgramming) {
  constexpr int kPseudowires = 80;  // 80 x 25 ms: each side programs for 2 s, > 1 s
  const auto port = static_cast<uint16_t>(20000 + (getpid() + 7) % 20000);
  Side a("127.0.0.1", port, milliseconds(25));
  Side b("127.0.0.2", port, milliseconds(25));
  ASSERT_TRUE(a.cp->Listen().ok());
  ASSERT_TRUE(b.cp->Listen().ok());
  ASSERT_TRUE(a.agent->Start().ok());
  ASSERT_TRUE(b.agent->Start().ok());
  v1::DesiredState da, db;
  da.set_version(1);
  db.set_version(1);
  for (int i = 0; i < kPseudowires; ++i) {
    std::string id = "p" + std::to_string(i);
    *da.add_pseudowires() = Pw("127.0.0.1", "127.0.0.2", port, v1::INITIATOR, id);
    *db.add_pseudowires() = Pw("127.0.0.2", "127.0.0.1", port, v1::RESPONDER, id);
  }
  // b runs on its own thread from here on; everything of b's but its data plane (thread-safe)
  // is touched on that thread only, until it is joined.
  std::atomic<bool> stop{false};
  b.agent->OnDesiredState(db);
  std::thread tb([&] {
    while (!stop) b.loop->RunOnce(milliseconds(10));
  });
  a.agent->OnDesiredState(da);

  std::set<uint32_t> tunnels_seen;  // every control connection a ever had
  const auto deadline = base::MonotonicNow() + std::chrono::seconds(30);
  auto done = [&] { return a.dp.sessions() == kPseudowires && b.dp.sessions() == kPseudowires; };
  while (!done() && base::MonotonicNow() < deadline) {
    a.loop->RunOnce(milliseconds(10));
    for (const auto& [id, t] : a.cp->tunnels()) tunnels_seen.insert(id);
  }
  stop = true;
  tb.join();
  EXPECT_TRUE(done()) << "programmed: a " << a.dp.sessions() << ", b " << b.dp.sessions();
  // One control connection from start to end: it never collapsed and re-formed.
  EXPECT_EQ(tunnels_seen.size(), 1u);
  ASSERT_EQ(a.cp->tunnels().size(), 1u);
  EXPECT_EQ(a.cp->tunnels().begin()->first, *tunnels_seen.begin());
  EXPECT_EQ(b.cp->tunnels().size(), 1u);
}

}  // namespace
}  // namespace pwire::agent
