// The real userspace data plane inside a private network namespace (needs root; label
// integration): the idempotency contract, clear errors, and frames carried end to end between
// two data planes over loopback, injected and captured with packet sockets on the TAPs.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/dataplane/userspace_dataplane.h"
#include "agent/dataplane/userspace_link.h"

namespace pwire::dataplane {
namespace {

class UserspaceDataplaneTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "needs root: " << std::strerror(errno);
    auto link = LinkControl::Open();
    ASSERT_TRUE(link.ok());
    ASSERT_TRUE((*link)->SetMtuAndUp("lo", 0).ok());
  }
  static TunnelConfig Tunnel(uint32_t id, const char* local, const char* peer, Encap e) {
    TunnelConfig t;
    t.local_tunnel_id = id;
    t.peer_tunnel_id = id;
    t.encap = e;
    t.local = *IpAddress::Parse(local);
    t.peer = *IpAddress::Parse(peer);
    t.local_port = 17010 + static_cast<uint16_t>(id);
    t.peer_port = 17010 + static_cast<uint16_t>(id ^ 1);
    return t;
  }
  static SessionConfig Session(uint32_t tunnel, uint32_t id, uint32_t peer, const char* ifname) {
    SessionConfig s;
    s.tunnel_id = tunnel;
    s.local_session_id = id;
    s.peer_session_id = peer;
    s.cookie = {1, 2, 3, 4};
    s.peer_cookie = {1, 2, 3, 4};
    s.ifname = ifname;
    return s;
  }
  static std::unique_ptr<Dataplane> New() {
    DataplaneOptions o;
    o.workers = 2;
    auto dp = NewUserspaceDataplane(o);
    EXPECT_TRUE(dp.ok()) << dp.status();
    return dp.ok() ? *std::move(dp) : nullptr;
  }
};

// A packet socket bound to `ifname`: sending on it makes the TAP's reader (the data plane)
// receive the frame; receiving on it shows what the data plane wrote to the TAP.
int PacketSocket(const char* ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    return -1;
  }
  return fd;
}

// Sends a broadcast frame with ethertype 0x88B5 (local experimental) and `marker` as payload,
// then waits up to 3 s for it to come out of `to`. Returns whether it arrived.
bool Carries(int from, int to, uint8_t marker) {
  std::vector<uint8_t> f(60, 0);
  std::memset(f.data(), 0xFF, 6);
  f[6] = 0x02;
  f[11] = 0x01;
  f[12] = 0x88;
  f[13] = 0xB5;
  f[14] = marker;
  if (send(from, f.data(), f.size(), 0) != static_cast<ssize_t>(f.size())) {
    return false;
  }
  for (int i = 0; i < 30; ++i) {
    pollfd p{to, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) {
      continue;
    }
    uint8_t buf[2048];
    ssize_t n = recv(to, buf, sizeof buf, 0);
    if (n >= 15 && buf[12] == 0x88 && buf[13] == 0xB5 && buf[14] == marker) {
      return true;
    }
  }
  return false;
}

TEST_F(UserspaceDataplaneTest, CreateIsIdempotentAndConflictsAreClear) {
  auto dp = New();
  ASSERT_NE(dp, nullptr);
  TunnelConfig t = Tunnel(2, "127.0.0.1", "127.0.0.2", Encap::kUdp);
  ASSERT_TRUE(dp->CreateTunnel(t).ok());
  EXPECT_TRUE(dp->CreateTunnel(t).ok());
  TunnelConfig other = t;
  other.peer_tunnel_id = 99;
  EXPECT_EQ(dp->CreateTunnel(other).code(), absl::StatusCode::kFailedPrecondition);
  SessionConfig s = Session(2, 10, 11, "pwit0");
  ASSERT_TRUE(dp->CreateSession(s).ok());
  EXPECT_TRUE(dp->CreateSession(s).ok());
  SessionConfig changed = s;
  changed.cookie = {9, 9, 9, 9};
  EXPECT_EQ(dp->CreateSession(changed).code(), absl::StatusCode::kFailedPrecondition);
  SessionConfig taken = Session(2, 12, 13, "pwit0");
  EXPECT_EQ(dp->CreateSession(taken).code(), absl::StatusCode::kAlreadyExists);
  SessionConfig hdlc = Session(2, 14, 15, "pwit1");
  hdlc.pw_type = PwType::kHdlc;
  EXPECT_EQ(dp->CreateSession(hdlc).code(), absl::StatusCode::kUnimplemented);
  auto snap = dp->List();
  ASSERT_EQ(snap->sessions.size(), 1u);
  // Loopback's path MTU is IP_MAX_MTU (65535): the session MTU is computed from it.
  EXPECT_EQ(snap->sessions[0].mtu,
            ComputeSessionMtu(65535, Encap::kUdp, IpAddress::Family::kV4, 4, Sublayer::kDefault));
  EXPECT_NE(if_nametoindex("pwit0"), 0u);
  EXPECT_TRUE(dp->DeleteTunnel(2).ok());
  EXPECT_TRUE(dp->DeleteTunnel(2).ok());
  EXPECT_TRUE(dp->DeleteSession(2, 10).ok());
  EXPECT_EQ(if_nametoindex("pwit0"), 0u);  // the TAP went with its session
}

std::string Shell(const char* cmd) {
  std::string out;
  FILE* f = popen(cmd, "r");
  char buf[512];
  while (f != nullptr && fgets(buf, sizeof buf, f) != nullptr) {
    out += buf;
  }
  if (f != nullptr) {
    pclose(f);
  }
  return out;
}

TEST_F(UserspaceDataplaneTest, BridgesTheSessionWithAnInterfaceAndCleansUp) {
  ASSERT_EQ(std::system("ip link add pwxa type veth peer name pwxb"), 0);
  auto dp = New();
  ASSERT_NE(dp, nullptr);
  ASSERT_TRUE(dp->CreateTunnel(Tunnel(4, "127.0.0.1", "127.0.0.2", Encap::kIp)).ok());
  SessionConfig s = Session(4, 40, 41, "pwat");
  s.attach = {Attachment::Kind::kInterface, "pwxa"};
  ASSERT_TRUE(dp->CreateSession(s).ok());
  std::string port = Shell("ip -o link show pwxa");
  EXPECT_NE(port.find("master pwatb"), std::string::npos) << port;
  EXPECT_NE(port.find(",UP"), std::string::npos) << port;
  EXPECT_NE(Shell("ip -o link show pwat").find("master pwatb"), std::string::npos);
  ASSERT_TRUE(dp->DeleteSession(4, 40).ok());
  EXPECT_EQ(if_nametoindex("pwatb"), 0u);  // the bridge we made is gone with the session
  EXPECT_NE(if_nametoindex("pwxa"), 0u);   // the interface we were given stays
  SessionConfig missing = Session(4, 42, 43, "pwat2");
  missing.attach = {Attachment::Kind::kBridge, "nosuchbr"};
  EXPECT_EQ(dp->CreateSession(missing).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(if_nametoindex("pwat2"), 0u);  // nothing left behind by the failed create
}

void CarriesBetweenTwoDataplanes(Encap encap, uint32_t base) {
  auto a = UserspaceDataplaneTest::New();
  auto b = UserspaceDataplaneTest::New();
  ASSERT_TRUE(a && b);
  TunnelConfig ta;
  ta.local_tunnel_id = base;
  ta.peer_tunnel_id = base + 1;
  ta.encap = encap;
  ta.local = *IpAddress::Parse("127.0.0.1");
  ta.peer = *IpAddress::Parse("127.0.0.2");
  ta.local_port = 17100;
  ta.peer_port = 17101;
  TunnelConfig tb = ta;
  std::swap(tb.local, tb.peer);
  std::swap(tb.local_port, tb.peer_port);
  std::swap(tb.local_tunnel_id, tb.peer_tunnel_id);
  ASSERT_TRUE(a->CreateTunnel(ta).ok());
  ASSERT_TRUE(b->CreateTunnel(tb).ok());
  SessionConfig sa;
  sa.tunnel_id = ta.local_tunnel_id;
  sa.local_session_id = 100;
  sa.peer_session_id = 200;
  sa.cookie = {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8};
  sa.peer_cookie = {0xB1, 0xB2, 0xB3, 0xB4};
  sa.send_seq = sa.recv_seq = true;
  sa.ifname = "pwa";
  SessionConfig sb = sa;
  sb.tunnel_id = tb.local_tunnel_id;
  sb.local_session_id = 200;
  sb.peer_session_id = 100;
  std::swap(sb.cookie, sb.peer_cookie);
  sb.ifname = "pwb";
  ASSERT_TRUE(a->CreateSession(sa).ok());
  ASSERT_TRUE(b->CreateSession(sb).ok());
  int pa = PacketSocket("pwa");
  int pb = PacketSocket("pwb");
  ASSERT_GE(pa, 0);
  ASSERT_GE(pb, 0);
  EXPECT_TRUE(Carries(pa, pb, 0x5A));
  EXPECT_TRUE(Carries(pb, pa, 0xA5));
  EXPECT_GE(b->SessionStats(tb.local_tunnel_id, 200)->rx_packets, 1u);
  // b now expects another cookie: a's frames are dropped and counted as cookie discards.
  ASSERT_TRUE(b->DeleteSession(tb.local_tunnel_id, 200).ok());
  close(pb);
  sb.cookie = {0xB1, 0xB2, 0xB3, 0xB5};
  ASSERT_TRUE(b->CreateSession(sb).ok());
  pb = PacketSocket("pwb");
  EXPECT_FALSE(Carries(pa, pb, 0x77));
  EXPECT_GE(b->SessionStats(tb.local_tunnel_id, 200)->rx_cookie_discards, 1u);
  close(pa);
  close(pb);
}

TEST_F(UserspaceDataplaneTest, CarriesFramesOverUdpWithCookiesAndSequencing) {
  CarriesBetweenTwoDataplanes(Encap::kUdp, 20);
}

TEST_F(UserspaceDataplaneTest, CarriesFramesOverIp) { CarriesBetweenTwoDataplanes(Encap::kIp, 30); }

TEST_F(UserspaceDataplaneTest, ReportsTunnelClosedWhenTheManagedSocketShutsDown) {
  auto dp = New();
  ASSERT_NE(dp, nullptr);
  std::mutex mu;
  std::vector<Event> events;
  dp->SetEventHandler([&](const Event& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  TunnelConfig t = Tunnel(40, "127.0.0.1", "127.0.0.2", Encap::kUdp);
  t.mode = TunnelMode::kManaged;
  t.fd = fd;
  ASSERT_TRUE(dp->CreateTunnel(t).ok());
  auto closed = [&] {
    std::lock_guard lock(mu);
    return std::any_of(events.begin(), events.end(), [](const Event& e) {
      return e.kind == Event::Kind::kTunnelClosed && e.tunnel_id == 40 && e.session_id == 0;
    });
  };
  EXPECT_FALSE(closed());
  // Unconnected, shutdown answers ENOTCONN but shuts the socket all the same (EPOLLHUP).
  shutdown(fd, SHUT_RDWR);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!closed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
  }
  EXPECT_TRUE(closed());
  EXPECT_TRUE(dp->DeleteTunnel(40).ok());
  dp.reset();
  close(fd);
}

// Sends an L2TPv3 data packet over UDP (RFC 3931 §4.1.2.1) for session 300 with cookie
// 01020304 and the default sublayer numbered `seq`, carrying a frame whose payload is `marker`.
void SendSequenced(int udp, uint32_t seq, uint8_t marker) {
  std::vector<uint8_t> p = {0, 3, 0, 0, 0, 0, 1, 44, 1, 2, 3, 4};
  const uint32_t word = 0x40000000u | seq;  // network order, byte by byte
  for (int shift = 24; shift >= 0; shift -= 8) p.push_back(static_cast<uint8_t>(word >> shift));
  std::vector<uint8_t> frame(60, 0);
  std::memset(frame.data(), 0xFF, 6);
  frame[6] = 0x02;
  frame[12] = 0x88;
  frame[13] = 0xB5;
  frame[14] = marker;
  p.insert(p.end(), frame.begin(), frame.end());
  ASSERT_EQ(send(udp, p.data(), p.size(), 0), static_cast<ssize_t>(p.size()));
}

// The markers of the next `n` test frames out of the TAP (waiting up to 3 s in all).
std::vector<uint8_t> Markers(int tap, size_t n) {
  std::vector<uint8_t> got;
  for (int i = 0; i < 30 && got.size() < n; ++i) {
    pollfd p{tap, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) {
      continue;
    }
    uint8_t buf[2048];
    ssize_t len = recv(tap, buf, sizeof buf, 0);
    if (len >= 15 && buf[12] == 0x88 && buf[13] == 0xB5) {
      got.push_back(buf[14]);
    }
  }
  return got;
}

TEST_F(UserspaceDataplaneTest, ReordersSequencedPacketsWithinTheReorderTimeout) {
  auto dp = New();
  ASSERT_NE(dp, nullptr);
  TunnelConfig t = Tunnel(50, "127.0.0.1", "127.0.0.3", Encap::kUdp);
  ASSERT_TRUE(dp->CreateTunnel(t).ok());
  SessionConfig s = Session(50, 300, 301, "pwro");
  s.send_seq = s.recv_seq = true;
  s.reorder_timeout = std::chrono::milliseconds(300);
  ASSERT_TRUE(dp->CreateSession(s).ok());
  int tap = PacketSocket("pwro");
  ASSERT_GE(tap, 0);
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  me.sin_port = htons(t.peer_port);
  inet_pton(AF_INET, "127.0.0.3", &me.sin_addr);
  sockaddr_in dp_addr = me;
  dp_addr.sin_port = htons(t.local_port);
  inet_pton(AF_INET, "127.0.0.1", &dp_addr.sin_addr);
  ASSERT_EQ(bind(udp, reinterpret_cast<sockaddr*>(&me), sizeof me), 0);
  ASSERT_EQ(connect(udp, reinterpret_cast<sockaddr*>(&dp_addr), sizeof dp_addr), 0);
  SendSequenced(udp, 7, 7);
  SendSequenced(udp, 9, 9);  // held: 8 is missing
  SendSequenced(udp, 8, 8);
  EXPECT_EQ(Markers(tap, 3), (std::vector<uint8_t>{7, 8, 9}));
  SendSequenced(udp, 8, 0x88);  // late now: discarded
  SendSequenced(udp, 12, 12);   // 10 and 11 never come: 12 goes out after the timeout
  EXPECT_EQ(Markers(tap, 2), (std::vector<uint8_t>{12}));
  SendSequenced(udp, 13, 13);
  EXPECT_EQ(Markers(tap, 1), (std::vector<uint8_t>{13}));
  absl::StatusOr<Stats> st = dp->SessionStats(50, 300);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->rx_oos_packets, 2u);
  EXPECT_EQ(st->rx_seq_discards, 1u);
  EXPECT_EQ(st->rx_packets, 5u);
  close(udp);
  close(tap);
}

// RFC 3931 §5.4.4: each end asks for the sublayer (and sequencing) it wants to receive. Here
// the peer asked for the default sublayer with sequencing and we asked for none: our packets
// carry the 4-byte sublayer with S=1 and increasing numbers (§4.6), the peer's carry none.
TEST_F(UserspaceDataplaneTest, SendsAndExpectsTheSublayerEachDirectionAskedFor) {
  auto dp = New();
  ASSERT_NE(dp, nullptr);
  TunnelConfig t = Tunnel(60, "127.0.0.1", "127.0.0.4", Encap::kUdp);
  ASSERT_TRUE(dp->CreateTunnel(t).ok());
  SessionConfig s = Session(60, 300, 301, "pwasym");
  s.tx_sublayer = Sublayer::kDefault;
  s.send_seq = true;
  s.rx_sublayer = Sublayer::kNone;
  ASSERT_TRUE(dp->CreateSession(s).ok());
  int tap = PacketSocket("pwasym");
  ASSERT_GE(tap, 0);
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  me.sin_port = htons(t.peer_port);
  inet_pton(AF_INET, "127.0.0.4", &me.sin_addr);
  sockaddr_in dp_addr = me;
  dp_addr.sin_port = htons(t.local_port);
  inet_pton(AF_INET, "127.0.0.1", &dp_addr.sin_addr);
  ASSERT_EQ(bind(udp, reinterpret_cast<sockaddr*>(&me), sizeof me), 0);
  ASSERT_EQ(connect(udp, reinterpret_cast<sockaddr*>(&dp_addr), sizeof dp_addr), 0);
  // The peer's data: header, cookie 01020304, then the frame at once (no sublayer).
  std::vector<uint8_t> p = {0, 3, 0, 0, 0, 0, 1, 44, 1, 2, 3, 4};
  std::vector<uint8_t> frame(60, 0);
  std::memset(frame.data(), 0xFF, 6);
  frame[6] = 0x02;
  frame[12] = 0x88;
  frame[13] = 0xB5;
  frame[14] = 0x42;
  p.insert(p.end(), frame.begin(), frame.end());
  ASSERT_EQ(send(udp, p.data(), p.size(), 0), static_cast<ssize_t>(p.size()));
  EXPECT_EQ(Markers(tap, 1), (std::vector<uint8_t>{0x42}));
  // Ours: three frames out of the TAP, each with the sublayer, S=1 and the next number. The
  // TAP may send frames of its own (IPv6 ND, MLD) in between: every packet is checked, and
  // the numbers run on by one across all of them.
  std::vector<uint32_t> seqs;
  int markers = 0;
  for (uint8_t m = 1; m <= 3; ++m) {
    frame[14] = m;
    ASSERT_EQ(send(tap, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()));
  }
  for (int i = 0; i < 30 && markers < 3; ++i) {
    pollfd pf{udp, POLLIN, 0};
    if (poll(&pf, 1, 100) <= 0) continue;
    uint8_t buf[2048];
    ssize_t n = recv(udp, buf, sizeof buf, 0);
    // 8 (UDP data header) + 4 (cookie) + 4 (sublayer) + an Ethernet frame.
    ASSERT_GE(n, 8 + 4 + 4 + 14);
    EXPECT_EQ(buf[7], 45);  // peer session 301
    const uint32_t word =
        uint32_t{buf[12]} << 24 | uint32_t{buf[13]} << 16 | uint32_t{buf[14]} << 8 | buf[15];
    EXPECT_NE(word & 0x40000000u, 0u) << "S bit";
    seqs.push_back(word & 0xFFFFFFu);
    if (buf[16 + 12] == 0x88 && buf[16 + 13] == 0xB5) {
      EXPECT_EQ(n, 8 + 4 + 4 + 60);
      EXPECT_EQ(buf[16 + 14], ++markers);
    }
  }
  EXPECT_EQ(markers, 3);
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1) << i;
  close(udp);
  close(tap);
}

}  // namespace
}  // namespace pwire::dataplane
