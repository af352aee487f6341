// l2tp_interop_driver: drives pwire's sans-I/O L2TP engine over a real UDP socket against a
// third-party peer (tests/interop/xl2tpd_test.sh runs it against xl2tpd as LNS). Opens an
// L2TPv2 tunnel (RFC 2661, optional Challenge/Response secret), optionally an incoming call
// (ICRQ as LAC), then tears both down (CDN, StopCCN). Prints one JSON line per packet and
// event and a final result line; exits 0 only if the tunnel (and the call, if asked) came up.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/l2tp/engine.h"
#include "nlohmann/json.hpp"
#include "pwire/base/random.h"
#include "pwire/base/time.h"

namespace pwire::l2tp {
namespace {

struct Options {
  std::string peer_ip = "127.0.0.1";
  uint16_t peer_port = 1701;
  std::string secret;
  bool call = false;
  int timeout_ms = 5000;
};

// RFC 2661 §3.2 control message names, for the log only.
const char* MessageName(int type) {
  static const char* kNames[] = {"ZLB",   "SCCRQ", "SCCRP", "SCCCN", "StopCCN", "5",
                                 "HELLO", "OCRQ",  "OCRP",  "OCCN",  "ICRQ",    "ICRP",
                                 "ICCN",  "13",    "CDN",   "WEN",   "SLI"};
  if (type >= 0 && type < static_cast<int>(std::size(kNames))) return kNames[type];
  return "unknown";
}

// The message type of an L2TPv2 control packet (RFC 2661 §3.1, §4.4.1): 0 for a ZLB, -1 if
// it is not a control packet we can read. Reads only; the engine does the real parsing.
int MessageType(const Bytes& b) {
  if (b.size() < 12 || (b[0] & 0x80) == 0) return -1;
  if (b.size() == 12) return 0;
  if (b.size() < 20) return -1;
  return (b[18] << 8) | b[19];
}

class Driver {
 public:
  Driver(const Options& opt, int fd, const PeerAddress& peer)
      : opt_(opt), fd_(fd), peer_(peer), engine_(MakeConfig(), random_) {}

  int Run() {
    ControlConnectionParams params;
    params.version = 2;
    if (!opt_.secret.empty()) {
      params.auth = AuthConfig{};
      params.auth->secrets.push_back(Bytes(opt_.secret.begin(), opt_.secret.end()));
    }
    auto ccid = engine_.OpenControlConnection(base::MonotonicNow(), peer_, params);
    if (!ccid.ok()) return Finish("open: " + std::string(ccid.status().message()));
    Pump();
    WaitFor([&] { return tunnel_up_ || tunnel_down_; });
    if (tunnel_up_ && opt_.call) {
      SessionParams sp;
      sp.remote_end_id = "pwire-interop";
      auto sid = engine_.OpenSession(base::MonotonicNow(), *ccid, sp);
      if (sid.ok()) {
        session_ = *sid;
        Pump();
        WaitFor([&] { return call_up_ || call_down_ || tunnel_down_; });
      } else {
        Log({{"error", std::string(sid.status().message())}});
      }
    }
    Teardown(*ccid);
    return Finish("");
  }

 private:
  static EngineConfig MakeConfig() {
    EngineConfig c;
    c.host_name = "pwire-interop";
    c.hello_interval = std::chrono::seconds(0);
    return c;
  }

  void Teardown(uint32_t ccid) {
    if (session_ != 0 && call_up_ && !call_down_ && !tunnel_down_) {
      Log({{"command", "CloseSession"}});
      (void)engine_.CloseSession(base::MonotonicNow(), session_);
      Pump();
    }
    if (tunnel_up_ && !tunnel_down_) {
      Log({{"command", "CloseControlConnection"}});
      const size_t before = rx_count_;
      (void)engine_.CloseControlConnection(base::MonotonicNow(), ccid);
      Pump();
      // The peer acknowledges the StopCCN (§5.7): wait for any packet from it.
      WaitFor([&] { return rx_count_ > before; });
      stop_acked_ = rx_count_ > before;
    }
  }

  void Log(const nlohmann::json& j) {
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
  }

  // Polls the socket and the engine's timer until `done` or the timeout.
  void WaitFor(const std::function<bool()>& done) {
    const Instant deadline = base::MonotonicNow() + std::chrono::milliseconds(opt_.timeout_ms);
    while (!done()) {
      Instant now = base::MonotonicNow();
      if (now >= deadline) {
        Log({{"timeout", true}});
        return;
      }
      Instant wake = deadline;
      if (auto d = engine_.NextDeadline(); d && *d < wake) wake = *d;
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      const int n = poll(&p, 1, static_cast<int>(ms));
      now = base::MonotonicNow();
      if (n > 0) ReadOne(now);
      if (auto d = engine_.NextDeadline(); d && *d <= now) engine_.HandleTimeout(now);
      Pump();
    }
  }

  void ReadOne(Instant now) {
    uint8_t buf[4096];
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    const ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) return;
    ++rx_count_;
    const Bytes bytes(buf, buf + n);
    const int type = MessageType(bytes);
    const PeerAddress src = PeerAddress::V4(ntohl(from.sin_addr.s_addr), ntohs(from.sin_port));
    if (type == 11) icrp_ = true;
    if (type == 14) cdn_received_ = true;
    absl::Status st = engine_.Receive(now, src, bytes);
    Log({{"dir", "rx"},
         {"type", MessageName(type)},
         {"len", n},
         {"from", src.ToString()},
         {"status", st.ok() ? "ok" : std::string(st.message())}});
  }

  void Pump() {
    for (Datagram& d : engine_.TakePackets()) {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      std::memcpy(&to.sin_addr.s_addr, d.peer.ip.data(), 4);
      to.sin_port = htons(d.peer.port);
      const ssize_t n = sendto(fd_, d.bytes.data(), d.bytes.size(), 0,
                               reinterpret_cast<sockaddr*>(&to), sizeof(to));
      Log({{"dir", "tx"},
           {"type", MessageName(MessageType(d.bytes))},
           {"len", d.bytes.size()},
           {"to", d.peer.ToString()},
           {"sent", n == static_cast<ssize_t>(d.bytes.size())}});
    }
    for (Event& e : engine_.TakeEvents()) HandleEvent(e);
  }

  void HandleEvent(const Event& e) {
    if (auto* up = std::get_if<ControlConnectionUp>(&e)) {
      tunnel_up_ = true;
      Log({{"event", "ControlConnectionUp"},
           {"version", up->version},
           {"ccid", up->ccid},
           {"peer_ccid", up->peer_ccid},
           {"peer_host_name", up->peer_host_name}});
    } else if (auto* down = std::get_if<ControlConnectionDown>(&e)) {
      tunnel_down_ = true;
      Log({{"event", "ControlConnectionDown"},
           {"result", down->result.result},
           {"error", down->result.error.value_or(0)},
           {"message", down->result.message},
           {"reason", down->reason}});
    } else if (auto* s = std::get_if<SessionUp>(&e)) {
      call_up_ = true;
      Log({{"event", "SessionUp"},
           {"version", s->info.version},
           {"local_session_id", s->info.local_session_id},
           {"remote_session_id", s->info.remote_session_id}});
    } else if (auto* sd = std::get_if<SessionDown>(&e)) {
      call_down_ = true;
      Log({{"event", "SessionDown"},
           {"result", sd->result.result},
           {"error", sd->result.error.value_or(0)},
           {"message", sd->result.message},
           {"reason", sd->reason}});
    } else if (auto* cs = std::get_if<CircuitStatusChanged>(&e)) {
      Log({{"event", "CircuitStatusChanged"}, {"active", cs->active}});
    }
  }

  int Finish(const std::string& error) {
    const EngineStats& s = engine_.stats();
    const bool ok = error.empty() && tunnel_up_ && (!opt_.call || call_up_);
    Log({{"result", ok ? "ok" : "fail"},
         {"error", error},
         {"tunnel_up", tunnel_up_},
         {"tunnel_down", tunnel_down_},
         {"call_up", call_up_},
         {"call_down", call_down_},
         {"icrp", icrp_},
         {"cdn_received", cdn_received_},
         {"stop_acked", stop_acked_},
         {"malformed", s.malformed},
         {"auth_failures", s.auth_failures},
         {"rejected", s.rejected_messages},
         {"bad_nr", s.bad_nr}});
    return ok ? 0 : 1;
  }

  const Options& opt_;
  int fd_;
  PeerAddress peer_;
  base::SystemRandom random_;
  Engine engine_;
  uint32_t session_ = 0;
  size_t rx_count_ = 0;
  bool tunnel_up_ = false, tunnel_down_ = false, call_up_ = false, call_down_ = false;
  bool icrp_ = false, cdn_received_ = false, stop_acked_ = false;
};

int Main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--call") {
      opt.call = true;
    } else if (v != nullptr && a == "--peer") {
      opt.peer_ip = argv[++i];
    } else if (v != nullptr && a == "--port") {
      opt.peer_port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (v != nullptr && a == "--secret") {
      opt.secret = argv[++i];
    } else if (v != nullptr && a == "--timeout-ms") {
      opt.timeout_ms = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: %s --peer IPV4 --port N [--secret S] [--call] [--timeout-ms N]\n",
                   argv[0]);
      return 2;
    }
  }
  in_addr addr{};
  if (inet_pton(AF_INET, opt.peer_ip.c_str(), &addr) != 1) {
    std::fprintf(stderr, "bad --peer %s\n", opt.peer_ip.c_str());
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return 2;
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    std::perror("bind");
    return 2;
  }
  Driver driver(opt, fd, PeerAddress::V4(ntohl(addr.s_addr), opt.peer_port));
  const int rc = driver.Run();
  close(fd);
  return rc;
}

}  // namespace
}  // namespace pwire::l2tp

int main(int argc, char** argv) { return pwire::l2tp::Main(argc, argv); }
