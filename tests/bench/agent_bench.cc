// pwire-agent benchmark: two agents (the real Agent, reconciler and L2TP control plane, each
// with a FakeDataplane that records what it is told and forwards nothing) over loopback UDP
// (127.0.0.1 and 127.0.0.2) on one event loop. N dynamic pseudowires on one control
// connection, from the desired state arriving to every session programmed on both ends:
//   agent_setups_per_s       N / elapsed (both ends, SCCRQ..ICCN and data plane programming)
//   agent_bytes_per_session  heap in use (mallinfo2) after minus before, over 2N session
//                            ends: agent, control plane, engine and the fake data plane's
//                            records; kernel state excluded (there is none).
//   agent_bench [N]          N defaults to 10000
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "agent/core/agent.h"
#include "agent/core/l2tp_control.h"
#include "agent/dataplane/fake_dataplane.h"
#include "spdlog/spdlog.h"
#include "tests/agent/assignments.h"

namespace pwire::agent {
namespace {

v1::PseudowireAssignment Dynamic(const std::string& local, const std::string& peer, uint16_t port,
                                 v1::Role role, const std::string& id) {
  v1::PseudowireAssignment a = test_support::DynamicAssignment(local, peer, port, role, id);
  a.mutable_params()->set_cookie_length(8);
  a.mutable_params()->set_receive_window(64);
  return a;
}

struct Side {
  Side(EventLoop& loop, const std::string& addr, uint16_t port) {
    cfg.agent_id = "bench-" + addr;
    cfg.underlay = {addr};
    cfg.l2tp_port = port;
    cp = std::make_unique<L2tpControlPlane>(loop, cfg, dp, std::make_unique<base::SystemRandom>());
    agent = std::make_unique<Agent>(loop, cfg, dp, *cp);
  }
  size_t programmed() const { return dp.List()->sessions.size(); }
  // O(1): creates and deletes that changed the fake data plane (a tunnel, then sessions).
  bool maybe_done(size_t n) const { return static_cast<size_t>(dp.mutations()) >= n + 1; }
  AgentConfig cfg;
  dataplane::FakeDataplane dp;
  std::unique_ptr<L2tpControlPlane> cp;
  std::unique_ptr<Agent> agent;
};

size_t HeapInUse() { return mallinfo2().uordblks; }

int Run(int n) {
  spdlog::set_level(spdlog::level::warn);
  auto loop = *EventLoop::Create();
  const auto port = static_cast<uint16_t>(20000 + getpid() % 20000);
  Side a(*loop, "127.0.0.1", port);
  Side b(*loop, "127.0.0.2", port);
  if (!a.cp->Listen().ok() || !b.cp->Listen().ok() || !a.agent->Start().ok() ||
      !b.agent->Start().ok()) {
    std::fprintf(stderr, "agent_bench: cannot listen on 127.0.0.1/127.0.0.2:%u\n", port);
    return 1;
  }
  v1::DesiredState da, db;
  da.set_version(1);
  db.set_version(1);
  for (int i = 0; i < n; ++i) {
    std::string id = "b" + std::to_string(i);
    *da.add_pseudowires() = Dynamic("127.0.0.1", "127.0.0.2", port, v1::INITIATOR, id);
    *db.add_pseudowires() = Dynamic("127.0.0.2", "127.0.0.1", port, v1::RESPONDER, id);
  }
  const size_t heap_before = HeapInUse();
  const auto t0 = std::chrono::steady_clock::now();
  b.agent->OnDesiredState(db);
  a.agent->OnDesiredState(da);
  const auto deadline = t0 + std::chrono::seconds(300);
  const auto un = static_cast<size_t>(n);
  // Counting the programmed sessions copies the fake data plane's records (O(sessions)), the
  // bench's cost, not the agents': it is done only once the mutation counters say it may be
  // complete, and at most every 10 ms.
  auto next_check = t0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (a.maybe_done(un) && b.maybe_done(un) && std::chrono::steady_clock::now() >= next_check) {
      if (a.programmed() >= un && b.programmed() >= un) break;
      next_check = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
    }
    loop->RunOnce(std::chrono::milliseconds(10));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (a.programmed() < un || b.programmed() < un) {
    std::fprintf(stderr, "agent_bench: only %zu/%zu of %d sessions up after %.1f s\n",
                 a.programmed(), b.programmed(), n, secs);
    return 1;
  }
  // Let the last acknowledgements and reports settle before measuring memory.
  const auto settle = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < settle) loop->RunOnce(std::chrono::milliseconds(20));
  const size_t heap_after = HeapInUse();
  const double per_session =
      heap_after > heap_before ? double(heap_after - heap_before) / (2.0 * n) : 0.0;
  std::printf(
      "agent_setups_per_s: %.0f setups/s (%d sessions on one control connection, "
      "two agents on loopback, fake data plane)\n",
      n / secs, n);
  std::printf(
      "agent_bytes_per_session: %.0f bytes (heap in use per established session end: "
      "agent, control plane, engine, fake data plane records; no kernel state)\n",
      per_session);
  std::printf("agent_bench_tunnels: %zu\n", a.cp->tunnels().size());
  return 0;
}

}  // namespace
}  // namespace pwire::agent

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  if (n <= 0) n = 10000;
  return pwire::agent::Run(n);
}
