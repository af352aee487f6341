// first_frame_bench: RFC 3931 §7.3.2: the ICRQ sender may send data as soon as its ICCN is
// out. A real Agent (its L2TP control plane and the userspace data plane, TAP devices, in a
// private network namespace: needs root) answers N sessions that a bare l2tp::Engine opens
// as the peer on one control connection; the peer sends one data frame on each session the
// moment its ICCN is sent. Prints
//   first_frame_after_iccn_drops   frames of those N the agent's data plane did not deliver
//   first_frame_unknown_session    data packets the agent counted for a session it lacked
//   first_frame_bench [N]          N defaults to 100
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "agent/core/agent.h"
#include "agent/core/l2tp_control.h"
#include "agent/dataplane/userspace_codec.h"
#include "agent/dataplane/userspace_dataplane.h"
#include "agent/dataplane/userspace_link.h"
#include "spdlog/spdlog.h"
#include "tests/agent/assignments.h"

namespace pwire::agent {
namespace {

constexpr uint16_t kPort = 1701;

sockaddr_in V4(uint32_t host_order, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(host_order);
  a.sin_port = htons(port);
  return a;
}

// The peer: an engine on 127.0.0.2 driven like the agent drives its own, except that it
// sends its packets first and then, for each SessionUp (which comes with its ICCN), one
// data frame at once.
struct Peer {
  Peer(EventLoop& l, int socket) : loop(l), fd(socket), engine(Config(), random, nullptr) {}
  static l2tp::EngineConfig Config() {
    l2tp::EngineConfig c;
    c.host_name = "peer";
    c.router_id = 2;
    return c;
  }
  void Drive() {
    for (auto& d : engine.TakePackets()) {
      sockaddr_in to = V4(0x7f000001, d.peer.port);
      (void)sendto(fd, d.bytes.data(), d.bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
                   sizeof to);
    }
    for (const auto& e : engine.TakeEvents()) {
      if (const auto* up = std::get_if<l2tp::SessionUp>(&e)) SendFrame(up->info);
    }
    if (timer) loop.Cancel(timer);
    timer = 0;
    if (auto at = engine.NextDeadline()) {
      timer = loop.ScheduleAt(*at, [this] {
        timer = 0;
        engine.HandleTimeout(loop.Now());
        Drive();
      });
    }
  }
  // RFC 3931 §4.1.2.1 data message with what the agent asked for (cookie, sublayer).
  void SendFrame(const l2tp::SessionInfo& info) {
    using dataplane::Sublayer;
    const Sublayer sub =
        info.send_sublayer == l2tp::Sublayer::kDefault ? Sublayer::kDefault : Sublayer::kNone;
    dataplane::HeaderShape shape{dataplane::Encap::kUdp, info.remote_cookie.size(), sub};
    std::vector<uint8_t> p(shape.Length() + 60, 0);
    dataplane::EncodeDataHeader(p.data(), dataplane::Encap::kUdp, info.remote_session_id,
                                info.remote_cookie, sub, info.send_sequenced, 0);
    uint8_t* f = p.data() + shape.Length();
    std::memset(f, 0xFF, 6);
    f[6] = 0x02;
    f[12] = 0x88;  // local experimental ethertype 0x88B5
    f[13] = 0xB5;
    sockaddr_in to = V4(0x7f000001, kPort);
    if (sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) {
      ++sent;
    }
  }
  void OnReadable() {
    uint8_t buf[4096];
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;
      (void)engine.Receive(loop.Now(), l2tp::PeerAddress::V4(ntohl(from.sin_addr.s_addr), kPort),
                           std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    }
    Drive();
  }
  EventLoop& loop;
  int fd;
  base::SystemRandom random;
  l2tp::Engine engine;
  EventLoop::TimerId timer = 0;
  int sent = 0;
};

int Established(const ControlPlane& cp) {
  int n = 0;
  for (const auto& [name, s] : cp.sessions()) n += s.state == LinkState::kEstablished ? 1 : 0;
  return n;
}

int Run(int n) {
  spdlog::set_level(spdlog::level::warn);
  if (unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "first_frame_bench: needs root: %s\n", std::strerror(errno));
    return 1;
  }
  if (auto link = dataplane::LinkControl::Open();
      !link.ok() || !(*link)->SetMtuAndUp("lo", 0).ok()) {
    std::fprintf(stderr, "first_frame_bench: cannot bring lo up\n");
    return 1;
  }
  auto loop = *EventLoop::Create();
  AgentConfig cfg;
  cfg.agent_id = "dut";
  cfg.underlay = {"127.0.0.1"};
  cfg.l2tp_port = kPort;
  dataplane::DataplaneOptions options;
  options.workers = 1;
  auto dp = dataplane::NewUserspaceDataplane(options);
  if (!dp.ok()) {
    std::fprintf(stderr, "first_frame_bench: %s\n", dp.status().ToString().c_str());
    return 1;
  }
  L2tpControlPlane cp(*loop, cfg, **dp, std::make_unique<base::SystemRandom>());
  Agent agent(*loop, cfg, **dp, cp);
  if (!cp.Listen().ok() || !agent.Start().ok()) return 1;
  v1::DesiredState desired;
  desired.set_version(1);
  for (int i = 0; i < n; ++i) {
    *desired.add_pseudowires() = test_support::DynamicAssignment(
        "127.0.0.1", "127.0.0.2", kPort, v1::RESPONDER, "f" + std::to_string(i));
  }
  agent.OnDesiredState(desired);

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in me = V4(0x7f000002, kPort);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) return 1;
  Peer peer(*loop, fd);
  if (!loop->AddFd(fd, EPOLLIN, [&peer](uint32_t) { peer.OnReadable(); }).ok()) return 1;
  auto ccid =
      peer.engine.OpenControlConnection(loop->Now(), l2tp::PeerAddress::V4(0x7f000001, kPort));
  if (!ccid.ok()) return 1;
  for (int i = 0; i < n; ++i) {
    l2tp::SessionParams sp;
    sp.pw_type = 5;
    sp.remote_end_id = "f" + std::to_string(i);
    (void)peer.engine.OpenSession(loop->Now(), *ccid, sp);
  }
  peer.Drive();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && (peer.sent < n || Established(cp) < n)) {
    loop->RunOnce(std::chrono::milliseconds(10));
  }
  // Frames in flight reach the data plane's worker within this.
  const auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < settle) loop->RunOnce(std::chrono::milliseconds(20));
  uint64_t delivered = 0;
  if (auto snap = (*dp)->List(); snap.ok()) {
    for (const auto& s : snap->sessions) {
      if (auto st = (*dp)->SessionStats(s.tunnel_id, s.local_session_id); st.ok()) {
        delivered += st->rx_packets;
      }
    }
  }
  const uint64_t unknown =
      (*dp)->GlobalStats().rx_unknown_session + cp.stats().data_unknown_session;
  std::printf(
      "first_frame_after_iccn_drops: %lld frames (of %d, one sent by the peer on each session "
      "right after its ICCN; %d sessions established; real agent, userspace data plane)\n",
      static_cast<long long>(n) - static_cast<long long>(delivered), peer.sent, Established(cp));
  std::printf("first_frame_unknown_session: %llu packets (counted as for no known session)\n",
              static_cast<unsigned long long>(unknown));
  loop->RemoveFd(fd);
  close(fd);
  return Established(cp) == n && peer.sent == n ? 0 : 1;
}

}  // namespace
}  // namespace pwire::agent

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100;
  if (n <= 0) n = 100;
  return pwire::agent::Run(n);
}
