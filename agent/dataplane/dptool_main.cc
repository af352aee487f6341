// pwire-dptool: creates one tunnel and one session on a chosen data plane from flags, keeps
// them until SIGTERM or SIGINT, and prints statistics as one JSON line at exit and on SIGUSR1.
// Used by the integration tests, the benchmark and the kernel lab's compatibility matrix.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/escaping.h"
#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {
namespace {

nlohmann::json StatsJson(const Stats& s) {
  return {{"tx_packets", s.tx_packets},
          {"tx_bytes", s.tx_bytes},
          {"tx_errors", s.tx_errors},
          {"rx_packets", s.rx_packets},
          {"rx_bytes", s.rx_bytes},
          {"rx_errors", s.rx_errors},
          {"rx_cookie_discards", s.rx_cookie_discards},
          {"rx_seq_discards", s.rx_seq_discards},
          {"rx_oos_packets", s.rx_oos_packets},
          {"rx_unknown_session", s.rx_unknown_session},
          {"rx_malformed", s.rx_malformed}};
}

absl::StatusOr<std::vector<uint8_t>> ParseCookie(const std::string& hex) {
  if (hex.empty()) {
    return std::vector<uint8_t>{};
  }
  bool digits = std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(c) != 0; });
  if (!digits || (hex.size() != 8 && hex.size() != 16)) {
    return absl::InvalidArgumentError("a cookie is 8 or 16 hex digits");
  }
  std::string bytes = absl::HexStringToBytes(hex);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

int Fail(const absl::Status& s) {
  std::cerr << "pwire-dptool: " << s << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app{"pwire-dptool: one L2TPv3 tunnel and session on a data plane, until SIGTERM"};
  std::string kind = "userspace", encap = "udp", local, peer, cookie, peer_cookie;
  std::string sublayer = "default", ifname, bridge, attach_if, pw = "eth";
  uint16_t local_port = 1701, peer_port = 1701, vlan = 0;
  uint32_t tunnel_id = 1, peer_tunnel_id = 1, session_id = 1, peer_session_id = 1;
  bool seq = false;
  int mtu = 0, workers = 0, queues = 0;
  app.add_option("--dataplane", kind, "auto, kernel, ebpf or userspace");
  app.add_option("--encap", encap, "udp or ip");
  app.add_option("--local", local, "local address")->required();
  app.add_option("--peer", peer, "peer address")->required();
  app.add_option("--local-port", local_port);
  app.add_option("--peer-port", peer_port);
  app.add_option("--tunnel-id", tunnel_id);
  app.add_option("--peer-tunnel-id", peer_tunnel_id);
  app.add_option("--session-id", session_id);
  app.add_option("--peer-session-id", peer_session_id);
  app.add_option("--cookie", cookie, "cookie we expect, 8 or 16 hex digits");
  app.add_option("--peer-cookie", peer_cookie, "cookie we send, 8 or 16 hex digits");
  app.add_option("--sublayer", sublayer, "none or default");
  app.add_flag("--seq", seq, "send and require sequence numbers");
  app.add_option("--ifname", ifname);
  app.add_option("--bridge", bridge, "bridge to join");
  app.add_option("--attach-interface", attach_if, "interface to bridge the session with");
  app.add_option("--mtu", mtu, "session interface MTU (default: computed)");
  app.add_option("--pw-type", pw, "eth or vlan");
  app.add_option("--vlan", vlan);
  app.add_option("--workers", workers, "userspace worker threads (default: CPUs)");
  app.add_option("--queues", queues, "userspace TAP queues (default: workers)");
  CLI11_PARSE(app, argc, argv);

  // Block the signals before any thread starts so that only sigwait below sees them.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) {
    sigaddset(&set, sig);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto dp_kind = ParseDataplaneKind(kind);
  auto local_addr = IpAddress::Parse(local);
  auto peer_addr = IpAddress::Parse(peer);
  auto our_cookie = ParseCookie(cookie);
  auto their_cookie = ParseCookie(peer_cookie);
  for (const absl::Status& s : {dp_kind.status(), local_addr.status(), peer_addr.status(),
                                our_cookie.status(), their_cookie.status()}) {
    if (!s.ok()) {
      return Fail(s);
    }
  }
  DataplaneOptions options;
  options.workers = workers;
  options.queues = queues;
  auto dp = CreateDataplane(*dp_kind, options);
  if (!dp.ok()) {
    return Fail(dp.status());
  }
  TunnelConfig t;
  t.local_tunnel_id = tunnel_id;
  t.peer_tunnel_id = peer_tunnel_id;
  t.mode = TunnelMode::kStatic;
  t.encap = encap == "ip" ? Encap::kIp : Encap::kUdp;
  t.local = *local_addr;
  t.peer = *peer_addr;
  t.local_port = local_port;
  t.peer_port = peer_port;
  SessionConfig s;
  s.tunnel_id = tunnel_id;
  s.local_session_id = session_id;
  s.peer_session_id = peer_session_id;
  s.pw_type = pw == "vlan" ? PwType::kEthernetVlan : PwType::kEthernet;
  s.vlan_id = vlan;
  s.cookie = *our_cookie;
  s.peer_cookie = *their_cookie;
  s.tx_sublayer = s.rx_sublayer = sublayer == "none" ? Sublayer::kNone : Sublayer::kDefault;
  s.send_seq = s.recv_seq = seq;
  s.ifname = ifname;
  s.mtu = mtu;
  if (!bridge.empty()) {
    s.attach = {Attachment::Kind::kBridge, bridge};
  } else if (!attach_if.empty()) {
    s.attach = {Attachment::Kind::kInterface, attach_if};
  }
  std::mutex out_mu;  // event lines come from a data plane thread
  (*dp)->SetEventHandler([&](const Event& e) {
    static constexpr const char* kKinds[] = {"link_up", "link_down", "drift", "tunnel_closed"};
    nlohmann::json j = {{"event", kKinds[static_cast<int>(e.kind)]},
                        {"tunnel_id", e.tunnel_id},
                        {"session_id", e.session_id},
                        {"detail", e.detail}};
    std::lock_guard lock(out_mu);
    std::cout << j.dump() << std::endl;
  });
  if (absl::Status st = (*dp)->CreateTunnel(t); !st.ok()) {
    return Fail(st);
  }
  if (absl::Status st = (*dp)->CreateSession(s); !st.ok()) {
    return Fail(st);
  }
  auto snap = (*dp)->List();
  const SessionConfig& applied = snap->sessions.at(0);
  auto report = [&](const char* event) {
    nlohmann::json j;
    j["event"] = event;
    j["dataplane"] = (*dp)->GetCapabilities().name;
    j["ifname"] = applied.ifname;
    j["mtu"] = applied.mtu;
    auto st = (*dp)->SessionStats(tunnel_id, session_id);
    j["session"] = StatsJson(st.ok() ? *st : Stats{});
    j["global"] = StatsJson((*dp)->GlobalStats());
    std::lock_guard lock(out_mu);
    std::cout << j.dump() << std::endl;
  };
  report("ready");
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGUSR1) {
      report("stats");
      continue;
    }
    break;
  }
  report("exit");
  (void)(*dp)->DeleteTunnel(tunnel_id);
  return 0;
}

}  // namespace
}  // namespace pwire::dataplane

int main(int argc, char** argv) { return pwire::dataplane::Main(argc, argv); }
