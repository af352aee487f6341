// Fuzzes the L2TP engine as a peer would: the input is a sequence of datagrams (2-byte
// length, then bytes) delivered from one peer, with time advancing between them so that
// retransmissions and HELLOs fire. The first byte picks the engine's transport, version and
// whether authentication is on. Whatever arrives, the engine must neither crash nor trip a
// sanitizer.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "agent/l2tp/engine.h"
#include "pwire/base/random.h"

namespace {

using pwire::l2tp::Transport;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  std::span<const uint8_t> in(data + 1, size - 1);
  pwire::base::SeededRandom random(7);
  pwire::l2tp::EngineConfig config;
  config.router_id = 0x0a000001;
  config.transport = (mode & 1) ? Transport::kIp : Transport::kUdp;
  if (mode & 2) config.auth.secrets = {pwire::l2tp::Bytes{'s', 'e', 'c', 'r', 'e', 't'}};
  pwire::l2tp::Engine engine(config, random);
  auto peer = pwire::l2tp::PeerAddress::V4(
      0x0a000002, config.transport == Transport::kUdp ? pwire::l2tp::kUdpPort : 0);
  pwire::base::Instant now{};
  if (mode & 4) {  // we are the initiator: a control connection and a session pending
    auto ccid = engine.OpenControlConnection(now, peer, {});
    if (ccid.ok()) engine.OpenSession(now, *ccid, {}).IgnoreError();
  }
  while (in.size() >= 2) {
    size_t n = static_cast<size_t>(in[0] << 8 | in[1]);
    in = in.subspan(2);
    n = std::min(n, in.size());
    engine.Receive(now, peer, in.first(n)).IgnoreError();
    in = in.subspan(n);
    engine.TakePackets();
    engine.TakeEvents();
    now += std::chrono::milliseconds(700);
    engine.HandleTimeout(now);
    engine.NextDeadline();
  }
  return 0;
}
