// Engine benchmark: two engines joined back to back (no loss), one control connection.
// Prints
//   engine_setups_per_cpu_s: N setups/cpu_s   (ICRQ through ICCN, both engines' CPU)
//   engine_bytes_per_session: N bytes         (heap per established session, per engine)
// Memory is measured with a counting allocator (global operator new/delete).
#include <malloc.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "agent/l2tp/engine.h"
#include "pwire/base/random.h"

namespace {

std::atomic<int64_t> g_live_bytes{0};

void* Allocate(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  g_live_bytes += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}

void Release(void* p) {
  if (p == nullptr) {
    return;
  }
  g_live_bytes -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

void* operator new(size_t n) { return Allocate(n); }
void* operator new[](size_t n) { return Allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p != nullptr) {
    g_live_bytes += static_cast<int64_t>(malloc_usable_size(p));
  }
  return p;
}
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }

namespace pwire::l2tp {
namespace {

class Accept : public SessionPolicy {
 public:
  SessionDecision OnIncomingSession(const IncomingSession&) override {
    SessionDecision d;
    d.accept = true;
    d.params.cookie_length = 4;
    return d;
  }
};

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Bench {
  Bench() : ra(1), rb(2) {
    EngineConfig ca;
    ca.host_name = "a";
    ca.router_id = 1;
    ca.reliable.receive_window = 64;
    EngineConfig cb = ca;
    cb.host_name = "b";
    cb.router_id = 2;
    a = std::make_unique<Engine>(ca, ra, &pa);
    b = std::make_unique<Engine>(cb, rb, &pb);
  }

  // Delivers everything in flight until both engines are quiet; counts SessionUp events.
  void Pump() {
    for (;;) {
      auto from_a = a->TakePackets();
      auto from_b = b->TakePackets();
      if (from_a.empty() && from_b.empty()) {
        break;
      }
      for (Datagram& d : from_a) {
        (void)b->Receive(now, addr_a, d.bytes);
      }
      for (Datagram& d : from_b) {
        (void)a->Receive(now, addr_b, d.bytes);
      }
      Count();
    }
    Count();
  }
  void Count() {
    for (Event& e : a->TakeEvents()) {
      up_a += std::holds_alternative<SessionUp>(e);
    }
    for (Event& e : b->TakeEvents()) {
      up_b += std::holds_alternative<SessionUp>(e);
    }
  }

  base::SeededRandom ra, rb;
  Accept pa, pb;
  std::unique_ptr<Engine> a, b;
  PeerAddress addr_a = PeerAddress::V4(0x0a000001, 1701);
  PeerAddress addr_b = PeerAddress::V4(0x0a000002, 1701);
  Instant now{};
  size_t up_a = 0, up_b = 0;
};

int Run(int sessions) {
  Bench bench;
  auto ccid = bench.a->OpenControlConnection(bench.now, bench.addr_b);
  bench.Pump();
  if (!ccid.ok() || bench.a->ControlConnectionState(*ccid) != CcState::kEstablished) {
    std::fprintf(stderr, "control connection did not come up\n");
    return 1;
  }
  const int64_t bytes_before = g_live_bytes.load();
  const double cpu_before = CpuSeconds();
  constexpr int kBatch = 256;  // open in batches, as an agent reconciling would
  for (int i = 0; i < sessions; i += kBatch) {
    for (int j = i; j < std::min(sessions, i + kBatch); ++j) {
      SessionParams p{.pw_type = 5, .remote_end_id = "pw" + std::to_string(j), .cookie_length = 4};
      if (!bench.a->OpenSession(bench.now, *ccid, p).ok()) {
        return 1;
      }
    }
    bench.Pump();
  }
  const double cpu = CpuSeconds() - cpu_before;
  if (bench.up_a != static_cast<size_t>(sessions) || bench.up_b != static_cast<size_t>(sessions)) {
    std::fprintf(stderr, "only %zu/%zu sessions up\n", bench.up_a, bench.up_b);
    return 1;
  }
  const int64_t bytes = g_live_bytes.load() - bytes_before;
  std::printf("engine_setups_per_cpu_s: %.0f setups/cpu_s\n", sessions / cpu);
  // Both engines hold every session; the figure is per session per engine.
  std::printf("engine_bytes_per_session: %lld bytes\n",
              static_cast<long long>(bytes / (2 * sessions)));
  std::printf("engine_sessions_measured: %d sessions\n", sessions);
  return 0;
}

}  // namespace
}  // namespace pwire::l2tp

int main(int argc, char** argv) {
  const int sessions = argc > 1 ? std::atoi(argv[1]) : 20000;
  return pwire::l2tp::Run(sessions > 0 ? sessions : 20000);
}
