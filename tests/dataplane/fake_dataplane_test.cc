// FakeDataplane keeps the interface's idempotency contract, so tests above it can rely on it.
#include "agent/dataplane/fake_dataplane.h"

#include <gtest/gtest.h>

namespace pwire::dataplane {
namespace {

TunnelConfig Tunnel(uint32_t id) {
  TunnelConfig t;
  t.local_tunnel_id = id;
  t.peer_tunnel_id = id + 100;
  t.local = *IpAddress::Parse("10.0.0.1");
  t.peer = *IpAddress::Parse("10.0.0.2");
  return t;
}

SessionConfig Session(uint32_t tunnel, uint32_t id) {
  SessionConfig s;
  s.tunnel_id = tunnel;
  s.local_session_id = id;
  s.peer_session_id = id + 1000;
  s.cookie = {1, 2, 3, 4};
  s.peer_cookie = {5, 6, 7, 8};
  return s;
}

TEST(FakeDataplaneTest, CreatingTheSameTunnelTwiceSucceedsOnce) {
  FakeDataplane dp;
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  EXPECT_EQ(dp.mutations(), 1);
  EXPECT_EQ(dp.List()->tunnels.size(), 1u);
}

TEST(FakeDataplaneTest, CreatingATunnelWithOtherParametersFailsClearly) {
  FakeDataplane dp;
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  TunnelConfig other = Tunnel(1);
  other.peer_port = 5000;
  absl::Status s = dp.CreateTunnel(other);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("other parameters"), std::string_view::npos);
}

TEST(FakeDataplaneTest, DeletingWhatIsAbsentSucceeds) {
  FakeDataplane dp;
  EXPECT_TRUE(dp.DeleteTunnel(9).ok());
  EXPECT_TRUE(dp.DeleteSession(9, 9).ok());
  EXPECT_EQ(dp.mutations(), 0);
}

TEST(FakeDataplaneTest, SessionNeedsItsTunnelAndValidCookies) {
  FakeDataplane dp;
  EXPECT_EQ(dp.CreateSession(Session(1, 7)).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  SessionConfig bad = Session(1, 7);
  bad.cookie = {1, 2, 3};
  EXPECT_EQ(dp.CreateSession(bad).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(dp.CreateSession(Session(1, 7)).ok());
  ASSERT_TRUE(dp.CreateSession(Session(1, 7)).ok());
  SessionConfig other = Session(1, 7);
  other.tx_sublayer = Sublayer::kNone;
  EXPECT_EQ(dp.CreateSession(other).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FakeDataplaneTest, DeletingATunnelDeletesItsSessions) {
  FakeDataplane dp;
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(2)).ok());
  ASSERT_TRUE(dp.CreateSession(Session(1, 7)).ok());
  ASSERT_TRUE(dp.CreateSession(Session(2, 8)).ok());
  ASSERT_TRUE(dp.DeleteTunnel(1).ok());
  auto snap = dp.List();
  ASSERT_EQ(snap->sessions.size(), 1u);
  EXPECT_EQ(snap->sessions[0].local_session_id, 8u);
  EXPECT_EQ(dp.SessionStats(1, 7).status().code(), absl::StatusCode::kNotFound);
}

TEST(FakeDataplaneTest, ListReportsThePickedInterfaceName) {
  FakeDataplane dp;
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  ASSERT_TRUE(dp.CreateSession(Session(1, 7)).ok());
  EXPECT_EQ(dp.List()->sessions[0].ifname, "pw7");
  // Asking again without a name matches the stored one.
  EXPECT_TRUE(dp.CreateSession(Session(1, 7)).ok());
}

TEST(FakeDataplaneTest, InjectedFailureAndUnsupportedTypeSurface) {
  Capabilities caps;
  caps.name = "eth-only";
  caps.pw_types = {PwType::kEthernet};
  caps.encap_udp = true;
  FakeDataplane dp(caps);
  dp.FailNextMutation(absl::PermissionDeniedError("no CAP_NET_ADMIN"));
  EXPECT_EQ(dp.CreateTunnel(Tunnel(1)).code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  SessionConfig hdlc = Session(1, 7);
  hdlc.pw_type = PwType::kHdlc;
  EXPECT_EQ(dp.CreateSession(hdlc).code(), absl::StatusCode::kUnimplemented);
}

TEST(FakeDataplaneTest, StatsEventsAndControlPacketsReachTheTest) {
  FakeDataplane dp;
  ASSERT_TRUE(dp.CreateTunnel(Tunnel(1)).ok());
  ASSERT_TRUE(dp.CreateSession(Session(1, 7)).ok());
  Stats st;
  st.rx_cookie_discards = 3;
  dp.SetSessionStats(1, 7, st);
  EXPECT_EQ(dp.SessionStats(1, 7)->rx_cookie_discards, 3u);
  std::vector<Event> seen;
  dp.SetEventHandler([&](const Event& e) { seen.push_back(e); });
  dp.InjectEvent({Event::Kind::kLinkDown, 1, 7, "carrier"});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, Event::Kind::kLinkDown);
  std::vector<uint8_t> got;
  dp.SetControlPacketHandler([&](uint32_t, std::vector<uint8_t> p) { got = std::move(p); });
  dp.InjectControlPacket(1, {0xc8, 0x03});
  EXPECT_EQ(got.size(), 2u);
}

TEST(FakeDataplaneTest, ManagedTunnelWithoutSocketIsRejected) {
  FakeDataplane dp;
  TunnelConfig t = Tunnel(1);
  t.mode = TunnelMode::kManaged;
  EXPECT_EQ(dp.CreateTunnel(t).code(), absl::StatusCode::kInvalidArgument);
  t.fd = 3;
  EXPECT_TRUE(dp.CreateTunnel(t).ok());
}

}  // namespace
}  // namespace pwire::dataplane
