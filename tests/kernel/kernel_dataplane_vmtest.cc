// The kernel data plane against a real L2TP kernel: run inside the kernel lab's VM by
// kernel_dataplane_test.sh, which makes namespaces klab-a and klab-b joined by veth (10.0.0.1/24,
// fd00::1/64 and .2, ::2). Each side gets its own KernelDataplane, made while the test thread is
// in that namespace; traffic is checked with ping between the session interfaces.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/dataplane/kernel_dataplane.h"
#include "agent/dataplane/kernel_entry.h"
#include "agent/dataplane/kernel_uapi.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pwire::dataplane::kernel {
namespace {

constexpr int kIpProtoL2tp = 115;  // RFC 3931 §4.1.1.2

void EnterNs(const std::string& side) {
  std::string path = "/run/netns/klab-" + side;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(setns(fd, CLONE_NEWNET), 0) << path;
  close(fd);
}

int Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Polls `cond` every 100 ms until it holds or `seconds` pass.
template <typename F>
bool WaitFor(F cond, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return cond();
}

bool Ping(const std::string& side, const std::string& addr) {
  return WaitFor(
      [&] {
        return Sh(absl::StrCat("/usr/sbin/ip netns exec klab-", side, " ping -c 1 -W 1 ", addr)) ==
               0;
      },
      20);
}

IpAddress Addr(const std::string& s) { return *IpAddress::Parse(s); }

// The agent's own socket of a managed tunnel: bound to local, connected to the peer.
int ManagedSocket(const TunnelConfig& c) {
  bool v4 = c.local.is_v4();
  int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC,
                  c.encap == Encap::kUdp ? 0 : kIpProtoL2tp);
  if (fd < 0) {
    return -1;
  }
  sockaddr_storage local{}, peer{};
  socklen_t len;
  if (c.encap == Encap::kUdp && v4) {
    auto* l = reinterpret_cast<sockaddr_in*>(&local);
    auto* p = reinterpret_cast<sockaddr_in*>(&peer);
    l->sin_family = p->sin_family = AF_INET;
    std::memcpy(&l->sin_addr, c.local.bytes.data(), 4);
    std::memcpy(&p->sin_addr, c.peer.bytes.data(), 4);
    l->sin_port = htons(c.local_port);
    p->sin_port = htons(c.peer_port);
    len = sizeof(sockaddr_in);
  } else if (c.encap == Encap::kUdp) {
    auto* l = reinterpret_cast<sockaddr_in6*>(&local);
    auto* p = reinterpret_cast<sockaddr_in6*>(&peer);
    l->sin6_family = p->sin6_family = AF_INET6;
    std::memcpy(&l->sin6_addr, c.local.bytes.data(), 16);
    std::memcpy(&p->sin6_addr, c.peer.bytes.data(), 16);
    l->sin6_port = htons(c.local_port);
    p->sin6_port = htons(c.peer_port);
    len = sizeof(sockaddr_in6);
  } else if (v4) {  // RFC 3931 §4.1.1.2: L2TP over IP, bound to our control connection id
    auto* l = reinterpret_cast<sockaddr_l2tpip*>(&local);
    auto* p = reinterpret_cast<sockaddr_l2tpip*>(&peer);
    l->l2tp_family = p->l2tp_family = AF_INET;
    std::memcpy(&l->l2tp_addr, c.local.bytes.data(), 4);
    std::memcpy(&p->l2tp_addr, c.peer.bytes.data(), 4);
    l->l2tp_conn_id = c.local_tunnel_id;
    p->l2tp_conn_id = c.peer_tunnel_id;
    len = sizeof(sockaddr_l2tpip);
  } else {
    auto* l = reinterpret_cast<sockaddr_l2tpip6*>(&local);
    auto* p = reinterpret_cast<sockaddr_l2tpip6*>(&peer);
    l->l2tp_family = p->l2tp_family = AF_INET6;
    std::memcpy(&l->l2tp_addr, c.local.bytes.data(), 16);
    std::memcpy(&p->l2tp_addr, c.peer.bytes.data(), 16);
    l->l2tp_conn_id = c.local_tunnel_id;
    p->l2tp_conn_id = c.peer_tunnel_id;
    len = sizeof(sockaddr_l2tpip6);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), len) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&peer), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Side {
  explicit Side(std::string n) : name(std::move(n)) {}
  std::string name;  // "a" or "b"
  std::unique_ptr<KernelDataplane> dp;
  std::mutex mu;
  std::vector<Event> events;
};

class KernelDataplaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (Side* s : {&a_, &b_}) {
      EnterNs(s->name);
      DataplaneOptions o;
      o.ifname_prefix = "pw";
      absl::StatusOr<std::unique_ptr<KernelDataplane>> dp =
          KernelDataplane::Create(o, std::chrono::milliseconds(200));
      ASSERT_TRUE(dp.ok()) << dp.status();
      s->dp = *std::move(dp);
      s->dp->SetEventHandler([s](const Event& e) {
        std::lock_guard lock(s->mu);
        s->events.push_back(e);
      });
    }
  }
  void TearDown() override {
    for (Side* s : {&a_, &b_}) {
      EnterNs(s->name);
      if (absl::StatusOr<Snapshot> snap = s->dp->List(); snap.ok()) {
        for (const TunnelConfig& t : snap->tunnels) {
          (void)s->dp->DeleteTunnel(t.local_tunnel_id);
        }
      }
      s->dp.reset();
    }
    for (int fd : fds_) {
      close(fd);
    }
  }

  bool HasEvent(Side& s, Event::Kind kind, uint32_t tunnel, uint32_t session) {
    return WaitFor(
        [&] {
          std::lock_guard lock(s.mu);
          for (const Event& e : s.events) {
            if (e.kind == kind && e.tunnel_id == tunnel && e.session_id == session) {
              return true;
            }
          }
          return false;
        },
        10);
  }

  // One pseudowire between a and b: tunnel ids t/t+1, session ids s/s+1, overlay 192.168.n.x.
  struct Pw {
    TunnelMode mode = TunnelMode::kStatic;
    Encap encap = Encap::kUdp;
    bool v6 = false;
    size_t cookie_len = 0;
    Sublayer sublayer = Sublayer::kDefault;
    uint32_t id = 10;  // tunnel ids id, id+1; session ids 100*id, 100*id+1
  };
  TunnelConfig TunnelOf(const Pw& pw, bool on_a) {
    TunnelConfig t;
    t.local_tunnel_id = on_a ? pw.id : pw.id + 1;
    t.peer_tunnel_id = on_a ? pw.id + 1 : pw.id;
    t.mode = pw.mode;
    t.encap = pw.encap;
    std::string la = pw.v6 ? "fd00::1" : "10.0.0.1", lb = pw.v6 ? "fd00::2" : "10.0.0.2";
    t.local = Addr(on_a ? la : lb);
    t.peer = Addr(on_a ? lb : la);
    t.local_port = t.peer_port = static_cast<uint16_t>(1700 + pw.id);
    return t;
  }
  SessionConfig SessionOf(const Pw& pw, bool on_a) {
    SessionConfig s;
    s.tunnel_id = on_a ? pw.id : pw.id + 1;
    s.local_session_id = on_a ? 100 * pw.id : 100 * pw.id + 1;
    s.peer_session_id = on_a ? 100 * pw.id + 1 : 100 * pw.id;
    std::vector<uint8_t> ca(pw.cookie_len), cb(pw.cookie_len);
    for (size_t i = 0; i < pw.cookie_len; ++i) {
      ca[i] = static_cast<uint8_t>(0xa0 + i);
      cb[i] = static_cast<uint8_t>(0xb0 + i);
    }
    s.cookie = on_a ? ca : cb;  // what a expects to receive is what b sends
    s.peer_cookie = on_a ? cb : ca;
    s.tx_sublayer = s.rx_sublayer = pw.sublayer;
    return s;
  }
  void Make(const Pw& pw) {
    for (Side* s : {&a_, &b_}) {
      bool on_a = s == &a_;
      EnterNs(s->name);
      TunnelConfig t = TunnelOf(pw, on_a);
      if (pw.mode == TunnelMode::kManaged) {
        t.fd = ManagedSocket(t);
        ASSERT_GE(t.fd, 0) << "managed socket: " << std::strerror(errno);
        fds_.push_back(t.fd);
      }
      ASSERT_TRUE(s->dp->CreateTunnel(t).ok()) << s->dp->CreateTunnel(t);
      absl::Status st = s->dp->CreateSession(SessionOf(pw, on_a));
      ASSERT_TRUE(st.ok()) << st;
      std::string ifname = s->dp->DefaultIfname(SessionOf(pw, on_a).local_session_id);
      ASSERT_EQ(Sh(absl::StrFormat(
                    "/usr/sbin/ip netns exec klab-%s /usr/sbin/ip addr add 192.168.%u.%d/24 dev %s",
                    s->name, pw.id, on_a ? 1 : 2, ifname)),
                0);
    }
  }
  std::string Overlay(const Pw& pw, int host) {
    return absl::StrFormat("192.168.%u.%d", pw.id, host);
  }

  Side a_{"a"};
  Side b_{"b"};
  std::vector<int> fds_;
};

class KernelTraffic : public KernelDataplaneTest,
                      public ::testing::WithParamInterface<std::tuple<TunnelMode, Encap, bool>> {};

TEST_P(KernelTraffic, PingCrossesWithEachCookieLength) {
  auto [mode, encap, v6] = GetParam();
  for (size_t cookie_len : {0u, 4u, 8u}) {
    Pw pw{.mode = mode,
          .encap = encap,
          .v6 = v6,
          .cookie_len = cookie_len,
          .sublayer = cookie_len == 4 ? Sublayer::kNone : Sublayer::kDefault,
          .id = static_cast<uint32_t>(20 + 2 * cookie_len)};
    SCOPED_TRACE(absl::StrCat("cookie ", cookie_len));
    Make(pw);
    if (HasFatalFailure()) {
      return;
    }
    EXPECT_TRUE(Ping("a", Overlay(pw, 2)));
    EXPECT_TRUE(Ping("b", Overlay(pw, 1)));
    EnterNs("a");
    absl::StatusOr<Stats> st = a_.dp->SessionStats(pw.id, 100 * pw.id);
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_GT(st->rx_packets, 0u);
    EXPECT_GT(st->tx_packets, 0u);
    for (Side* s : {&a_, &b_}) {
      EnterNs(s->name);
      EXPECT_TRUE(s->dp->DeleteTunnel(TunnelOf(pw, s == &a_).local_tunnel_id).ok());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllEncaps, KernelTraffic,
    ::testing::Combine(::testing::Values(TunnelMode::kStatic, TunnelMode::kManaged),
                       ::testing::Values(Encap::kUdp, Encap::kIp), ::testing::Bool()),
    [](const auto& param_info) {
      const auto& p = param_info.param;
      return absl::StrCat(std::get<0>(p) == TunnelMode::kStatic ? "Static" : "Managed",
                          std::get<1>(p) == Encap::kUdp ? "Udp" : "Ip",
                          std::get<2>(p) ? "V6" : "V4");
    });

TEST_F(KernelDataplaneTest, CreateAndDeleteAreIdempotent) {
  Pw pw{.id = 40};
  EnterNs("a");
  TunnelConfig t = TunnelOf(pw, true);
  SessionConfig s = SessionOf(pw, true);
  ASSERT_TRUE(a_.dp->CreateTunnel(t).ok());
  EXPECT_TRUE(a_.dp->CreateTunnel(t).ok()) << "same tunnel again";
  TunnelConfig other = t;
  other.peer_tunnel_id = 999;
  EXPECT_TRUE(absl::IsFailedPrecondition(a_.dp->CreateTunnel(other)));
  ASSERT_TRUE(a_.dp->CreateSession(s).ok());
  EXPECT_TRUE(a_.dp->CreateSession(s).ok()) << "same session again";
  SessionConfig other_cookie = s;
  other_cookie.cookie = {1, 2, 3, 4};
  EXPECT_TRUE(absl::IsFailedPrecondition(a_.dp->CreateSession(other_cookie)));
  EXPECT_TRUE(a_.dp->DeleteSession(t.local_tunnel_id, s.local_session_id).ok());
  EXPECT_TRUE(a_.dp->DeleteSession(t.local_tunnel_id, s.local_session_id).ok()) << "gone";
  EXPECT_TRUE(a_.dp->DeleteTunnel(t.local_tunnel_id).ok());
  EXPECT_TRUE(a_.dp->DeleteTunnel(t.local_tunnel_id).ok()) << "gone";
  absl::StatusOr<Snapshot> snap = a_.dp->List();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->tunnels.empty());
  EXPECT_TRUE(snap->sessions.empty());
}

// RFC 3931 §5.4.4 lets each end ask for its own L2-Specific Sublayer; Linux keeps one
// L2TP_ATTR_L2SPEC_TYPE per session for both directions, so a session that would send the
// sublayer and receive none is refused, naming both; separate sequencing flags are fine.
TEST_F(KernelDataplaneTest, AsymmetricSublayersAreRefusedNamingBothDirections) {
  Pw pw{.id = 46};
  EnterNs("a");
  TunnelConfig t = TunnelOf(pw, true);
  ASSERT_TRUE(a_.dp->CreateTunnel(t).ok());
  SessionConfig s = SessionOf(pw, true);
  s.rx_sublayer = Sublayer::kNone;
  absl::Status st = a_.dp->CreateSession(s);
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_NE(st.message().find("sends L2-Specific Sublayer default"), std::string::npos) << st;
  EXPECT_NE(st.message().find("receives none"), std::string::npos) << st;
  s.rx_sublayer = Sublayer::kDefault;
  s.send_seq = true;  // the peer asked us to sequence; we did not ask it to
  ASSERT_TRUE(a_.dp->CreateSession(s).ok());
  absl::StatusOr<Snapshot> snap = a_.dp->List();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->sessions.size(), 1u);
  EXPECT_TRUE(snap->sessions[0].send_seq);
  EXPECT_FALSE(snap->sessions[0].recv_seq);
  EXPECT_TRUE(a_.dp->DeleteTunnel(t.local_tunnel_id).ok());
}

TEST_F(KernelDataplaneTest, ATakenInterfaceNameIsAlreadyExists) {
  Pw pw{.id = 42};
  ASSERT_EQ(Sh("/usr/sbin/ip netns exec klab-a /usr/sbin/ip link add pwtaken type bridge"), 0);
  EnterNs("a");
  ASSERT_TRUE(a_.dp->CreateTunnel(TunnelOf(pw, true)).ok());
  SessionConfig s = SessionOf(pw, true);
  s.ifname = "pwtaken";
  absl::Status st = a_.dp->CreateSession(s);
  EXPECT_TRUE(absl::IsAlreadyExists(st)) << st;
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("pwtaken"));
  Sh("/usr/sbin/ip netns exec klab-a /usr/sbin/ip link del pwtaken");
}

TEST_F(KernelDataplaneTest, LeavesOtherL2tpObjectsAlone) {
  // Someone else's tunnel and session (kernel default name l2tpethN, not our prefix).
  ASSERT_EQ(Sh("/usr/sbin/ip netns exec klab-a /usr/sbin/ip l2tp add tunnel tunnel_id 77 "
               "peer_tunnel_id 78 encap udp local 10.0.0.1 remote 10.0.0.2 udp_sport 1777 "
               "udp_dport 1777"),
            0);
  ASSERT_EQ(Sh("/usr/sbin/ip netns exec klab-a /usr/sbin/ip l2tp add session tunnel_id 77 "
               "session_id 7700 peer_session_id 7800"),
            0);
  EnterNs("a");
  absl::StatusOr<Snapshot> snap = a_.dp->List();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->tunnels.empty());
  EXPECT_TRUE(snap->sessions.empty());
  // Nor with the default options (whose prefix "pw" is not what `ip l2tp` names its sessions).
  absl::StatusOr<std::unique_ptr<KernelDataplane>> defaults =
      KernelDataplane::Create(DataplaneOptions{});
  ASSERT_TRUE(defaults.ok());
  absl::StatusOr<Snapshot> default_snap = (*defaults)->List();
  ASSERT_TRUE(default_snap.ok());
  EXPECT_TRUE(default_snap->sessions.empty());
  EXPECT_TRUE(default_snap->tunnels.empty());
  EXPECT_TRUE(absl::IsFailedPrecondition((*defaults)->DeleteTunnel(77)));
  EXPECT_TRUE(absl::IsFailedPrecondition(a_.dp->DeleteTunnel(77)));
  EXPECT_TRUE(absl::IsFailedPrecondition(a_.dp->DeleteSession(77, 7700)));
  EXPECT_EQ(Sh("/usr/sbin/ip netns exec klab-a /usr/sbin/ip l2tp show session | grep -q 7700"), 0);
  Sh("/usr/sbin/ip netns exec klab-a /usr/sbin/ip l2tp del tunnel tunnel_id 77");
}

TEST_F(KernelDataplaneTest, AdoptsItsObjectsAfterARestart) {
  Pw pw{.cookie_len = 8, .id = 44};
  Make(pw);
  ASSERT_FALSE(HasFatalFailure());
  EnterNs("a");
  a_.dp.reset();  // the agent restarts; static tunnels stay in the kernel
  DataplaneOptions o;
  o.ifname_prefix = "pw";
  absl::StatusOr<std::unique_ptr<KernelDataplane>> dp = KernelDataplane::Create(o);
  ASSERT_TRUE(dp.ok());
  a_.dp = *std::move(dp);
  absl::StatusOr<Snapshot> snap = a_.dp->List();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->tunnels.size(), 1u);
  ASSERT_EQ(snap->sessions.size(), 1u);
  SessionConfig want = SessionOf(pw, true);
  const SessionConfig& got = snap->sessions[0];
  EXPECT_EQ(got.local_session_id, want.local_session_id);
  EXPECT_EQ(got.peer_session_id, want.peer_session_id);
  EXPECT_EQ(got.cookie, want.cookie);
  EXPECT_EQ(got.peer_cookie, want.peer_cookie);
  EXPECT_EQ(got.ifname, a_.dp->DefaultIfname(want.local_session_id));
  EXPECT_EQ(snap->tunnels[0].peer_tunnel_id, TunnelOf(pw, true).peer_tunnel_id);
  // The agent re-applies its desired state: both are no-ops.
  EXPECT_TRUE(a_.dp->CreateTunnel(TunnelOf(pw, true)).ok());
  EXPECT_TRUE(a_.dp->CreateSession(want).ok());
  EXPECT_TRUE(Ping("a", Overlay(pw, 2)));
}

TEST_F(KernelDataplaneTest, AWrongCookieDropsTrafficAndIsCounted) {
  Pw pw{.cookie_len = 4, .id = 46};
  Make(pw);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(Ping("a", Overlay(pw, 2)));
  EnterNs("b");  // b now expects another cookie than a sends
  SessionConfig sb = SessionOf(pw, false);
  ASSERT_TRUE(b_.dp->DeleteSession(sb.tunnel_id, sb.local_session_id).ok());
  sb.cookie = {0xee, 0xee, 0xee, 0xee};
  ASSERT_TRUE(b_.dp->CreateSession(sb).ok());
  Sh(absl::StrFormat("/usr/sbin/ip netns exec klab-b /usr/sbin/ip addr add 192.168.%u.2/24 dev %s",
                     pw.id, b_.dp->DefaultIfname(sb.local_session_id)));
  EXPECT_NE(Sh(absl::StrCat("/usr/sbin/ip netns exec klab-a ping -c 2 -W 1 ", Overlay(pw, 2))), 0);
  EnterNs("b");
  absl::StatusOr<Stats> st = b_.dp->SessionStats(sb.tunnel_id, sb.local_session_id);
  ASSERT_TRUE(st.ok());
  EXPECT_GT(st->rx_cookie_discards, 0u);
}

TEST_F(KernelDataplaneTest, ReportsDriftAndClosedManagedTunnels) {
  Pw stat{.id = 48};
  Make(stat);
  Pw managed{.mode = TunnelMode::kManaged, .id = 50};
  Make(managed);
  ASSERT_FALSE(HasFatalFailure());
  // Someone deletes our session behind our back.
  ASSERT_EQ(Sh("/usr/sbin/ip netns exec klab-a /usr/sbin/ip l2tp del session tunnel_id 48 "
               "session_id 4800"),
            0);
  EXPECT_TRUE(HasEvent(a_, Event::Kind::kDrift, 48, 4800));
  // Someone sets our session interface down.
  ASSERT_EQ(Sh(absl::StrCat("/usr/sbin/ip netns exec klab-a /usr/sbin/ip link set ",
                            a_.dp->DefaultIfname(5000), " down")),
            0);
  EXPECT_TRUE(HasEvent(a_, Event::Kind::kLinkDown, 50, 5000));
  // The agent closes a managed tunnel's socket: the kernel deletes the tunnel.
  ASSERT_FALSE(fds_.empty());
  int fd_a = fds_[fds_.size() - 2];  // a's socket was made first
  close(fd_a);
  fds_.erase(fds_.end() - 2);
  EXPECT_TRUE(HasEvent(a_, Event::Kind::kTunnelClosed, 50, 0));
}

TEST_F(KernelDataplaneTest, EthernetVlanOnABridgeWithAComputedMtu) {
  for (Side* s : {&a_, &b_}) {
    ASSERT_EQ(Sh(absl::StrCat("/usr/sbin/ip netns exec klab-", s->name,
                              " /usr/sbin/ip link add br-cust type bridge")),
              0);
  }
  Pw pw{.encap = Encap::kIp, .cookie_len = 4, .id = 52};
  for (Side* s : {&a_, &b_}) {
    bool on_a = s == &a_;
    EnterNs(s->name);
    ASSERT_TRUE(s->dp->CreateTunnel(TunnelOf(pw, on_a)).ok());
    SessionConfig c = SessionOf(pw, on_a);
    c.pw_type = PwType::kEthernetVlan;
    c.vlan_id = 100;
    c.attach = {Attachment::Kind::kBridge, "br-cust"};
    absl::Status st = s->dp->CreateSession(c);
    ASSERT_TRUE(st.ok()) << st;
    ASSERT_EQ(Sh(absl::StrFormat("/usr/sbin/ip netns exec klab-%s sh -c '/usr/sbin/ip link set "
                                 "br-cust up && /usr/sbin/ip addr add 192.168.52.%d/24 dev "
                                 "br-cust'",
                                 s->name, on_a ? 1 : 2)),
              0);
  }
  EnterNs("a");
  std::string ifname = a_.dp->DefaultIfname(SessionOf(pw, true).local_session_id);
  // The VLAN device is the bridge port; the underlay is the veth with MTU 1500.
  EXPECT_EQ(Sh(absl::StrCat("/usr/sbin/ip netns exec klab-a /usr/sbin/ip -d link show ", ifname,
                            ".100 | grep -q 'master br-cust'")),
            0);
  int want = ComputeSessionMtu(1500, Encap::kIp, IpAddress::Family::kV4, 4, Sublayer::kDefault,
                               PwType::kEthernetVlan);
  EXPECT_EQ(Sh(absl::StrCat("/usr/sbin/ip netns exec klab-a /usr/sbin/ip link show ", ifname,
                            ".100 | grep -q 'mtu ", want, " '")),
            0)
      << "want mtu " << want;
  absl::StatusOr<Snapshot> snap = a_.dp->List();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->sessions.size(), 1u);
  EXPECT_EQ(snap->sessions[0].mtu, want);
  EXPECT_EQ(snap->sessions[0].vlan_id, 100);
  EXPECT_TRUE(Ping("a", "192.168.52.2"));
  // A full-size frame for that MTU crosses unfragmented.
  EXPECT_EQ(Sh(absl::StrCat("/usr/sbin/ip netns exec klab-a ping -c 1 -W 2 -M do -s ", want - 28,
                            " 192.168.52.2")),
            0);
  for (Side* s : {&a_, &b_}) {
    Sh(absl::StrCat("/usr/sbin/ip netns exec klab-", s->name, " /usr/sbin/ip link del br-cust"));
  }
}

TEST_F(KernelDataplaneTest, WithoutCapNetAdminTheErrorSaysSo) {
  absl::Status result;
  std::thread t([&] {
    EnterNs("a");
    // Capabilities are per thread: drop CAP_NET_ADMIN here only, then open the sockets.
    __user_cap_header_struct hdr{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    __user_cap_data_struct data[2] = {};
    ASSERT_EQ(syscall(SYS_capget, &hdr, data), 0);
    data[0].effective &= ~(1u << CAP_NET_ADMIN);
    ASSERT_EQ(syscall(SYS_capset, &hdr, data), 0);
    DataplaneOptions o;
    o.ifname_prefix = "pw";
    absl::StatusOr<std::unique_ptr<KernelDataplane>> dp = KernelDataplane::Create(o);
    ASSERT_TRUE(dp.ok()) << dp.status();
    result = (*dp)->CreateTunnel(TunnelOf(Pw{.id = 54}, true));
  });
  t.join();
  EXPECT_TRUE(absl::IsPermissionDenied(result)) << result;
  EXPECT_THAT(std::string(result.message()), ::testing::HasSubstr("CAP_NET_ADMIN"));
}

TEST_F(KernelDataplaneTest, AutoChoosesTheKernelWhenItHasL2tp) {
  EnterNs("a");
  EXPECT_TRUE(KernelL2tpAvailable());
  absl::StatusOr<std::unique_ptr<Dataplane>> dp = CreateDataplane(DataplaneKind::kAuto, {});
  ASSERT_TRUE(dp.ok()) << dp.status();
  Capabilities caps = (*dp)->GetCapabilities();
  EXPECT_EQ(caps.name, "kernel");
  EXPECT_TRUE(caps.encap_ip);
  EXPECT_TRUE(caps.Supports(PwType::kEthernet));
  EXPECT_FALSE(caps.Supports(PwType::kHdlc));
}

TEST_F(KernelDataplaneTest, AMissingKernelModuleIsUnimplementedAndSaysWhich) {
  // Take L2TP over IPv6 away: no module autoloading, l2tp_ip6 unloaded (once unused).
  auto set_modprobe = [](const char* path) {
    std::ofstream("/proc/sys/kernel/modprobe") << path << "\n";
  };
  set_modprobe("/bin/false");
  ASSERT_TRUE(WaitFor(
      [] { return Sh("rmmod l2tp_ip6") == 0 || Sh("grep -q '^l2tp_ip6 ' /proc/modules") != 0; },
      10));
  EnterNs("a");
  Pw pw{.encap = Encap::kIp, .v6 = true, .id = 56};
  absl::Status st = a_.dp->CreateTunnel(TunnelOf(pw, true));
  set_modprobe("/sbin/modprobe");
  Sh("modprobe l2tp_ip6");
  EXPECT_TRUE(absl::IsUnimplemented(st)) << st;
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("l2tp_ip6"));
}

}  // namespace
}  // namespace pwire::dataplane::kernel
