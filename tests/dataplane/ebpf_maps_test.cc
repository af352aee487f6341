// Unit tests of the eBPF data plane's pure part (agent/dataplane/ebpf_maps.h): which sessions it
// carries, and the map entries it writes for them (bpf/pw_maps.h, read by pw_tc.bpf.c).
#include "agent/dataplane/ebpf_maps.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace pwire::dataplane {
namespace {

TunnelConfig Udp4Tunnel() {
  TunnelConfig t;
  t.local_tunnel_id = 10;
  t.encap = Encap::kUdp;
  t.local = *IpAddress::Parse("10.0.0.1");
  t.peer = *IpAddress::Parse("10.0.0.2");
  t.local_port = 1701;
  t.peer_port = 1702;
  return t;
}

SessionConfig Session() {
  SessionConfig s;
  s.tunnel_id = 10;
  s.local_session_id = 100;
  s.peer_session_id = 200;
  s.cookie = {1, 2, 3, 4};
  s.peer_cookie = {9, 8, 7, 6, 5, 4, 3, 2};
  s.tx_sublayer = s.rx_sublayer = Sublayer::kDefault;
  return s;
}

TEST(EbpfCarriesTest, TakesEthernetOverUdpWithCookiesAndTheDefaultSublayer) {
  EXPECT_TRUE(EbpfCarries(Udp4Tunnel(), Session()).ok());
  SessionConfig vlan = Session();
  vlan.pw_type = PwType::kEthernetVlan;
  vlan.tx_sublayer = vlan.rx_sublayer = Sublayer::kNone;
  EXPECT_TRUE(EbpfCarries(Udp4Tunnel(), vlan).ok());
}

// UNIMPLEMENTED is what sends a session to the userspace data plane under `auto`.
TEST(EbpfCarriesTest, RefusesIpEncapSequencingAndOtherTypesAsUnimplementedNamingTheField) {
  TunnelConfig ip = Udp4Tunnel();
  ip.encap = Encap::kIp;
  absl::Status s = EbpfCarries(ip, Session());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("encap"), std::string::npos);

  SessionConfig seq = Session();
  seq.send_seq = true;
  s = EbpfCarries(Udp4Tunnel(), seq);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("send_seq"), std::string::npos);

  SessionConfig ppp = Session();
  ppp.pw_type = PwType::kPpp;
  s = EbpfCarries(Udp4Tunnel(), ppp);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("pw_type"), std::string::npos);
}

TEST(EbpfCarriesTest, RefusesBadCookiesAndSessionZeroAsInvalidNamingTheField) {
  SessionConfig bad = Session();
  bad.peer_cookie = {1, 2, 3};
  absl::Status s = EbpfCarries(Udp4Tunnel(), bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("peer_cookie"), std::string::npos);
  SessionConfig zero = Session();
  zero.local_session_id = 0;
  EXPECT_EQ(EbpfCarries(Udp4Tunnel(), zero).code(), absl::StatusCode::kInvalidArgument);
}

// RFC 3931 §4.1: we send the peer's session id and cookie, and expect our own.
TEST(BuildSessionValueTest, SendsWhatThePeerAskedForAndExpectsWhatWeAskedFor) {
  EbpfUnderlay ul{.ifindex = 7, .mac = {2, 0, 0, 0, 0, 1}, .mtu = 1500};
  auto v = BuildSessionValue(Udp4Tunnel(), Session(), ul, 42);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->peer_session_id, 200u);
  EXPECT_EQ(v->att_ifindex, 42u);
  EXPECT_EQ(v->ul_ifindex, 7u);
  EXPECT_EQ(v->tx_cookie_len, 8);
  EXPECT_EQ(v->rx_cookie_len, 4);
  EXPECT_EQ(v->tx_cookie[0], 9);
  EXPECT_EQ(v->rx_cookie[3], 4);
  EXPECT_EQ(v->flags, PW_F_TX_SUBLAYER | PW_F_RX_SUBLAYER);
  EXPECT_EQ(ntohs(v->local_port), 1701);
  EXPECT_EQ(ntohs(v->peer_port), 1702);
  EXPECT_EQ(v->local[0], 10);
  EXPECT_EQ(v->peer[3], 2);
  EXPECT_EQ(v->ul_mac[5], 1);
}

// RFC 3931 §5.4.4: each end asks for the sublayer it receives; the two directions may differ.
TEST(BuildSessionValueTest, SublayerPerDirection) {
  SessionConfig s = Session();
  s.tx_sublayer = Sublayer::kNone;
  s.rx_sublayer = Sublayer::kDefault;
  auto v = BuildSessionValue(Udp4Tunnel(), s, EbpfUnderlay{}, 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->flags, PW_F_RX_SUBLAYER);
  s.tx_sublayer = Sublayer::kDefault;
  s.rx_sublayer = Sublayer::kNone;
  v = BuildSessionValue(Udp4Tunnel(), s, EbpfUnderlay{}, 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->flags, PW_F_TX_SUBLAYER);
}

TEST(BuildSessionValueTest, Ipv6WithoutSublayerAndWithoutCookies) {
  TunnelConfig t = Udp4Tunnel();
  t.local = *IpAddress::Parse("fd00::1");
  t.peer = *IpAddress::Parse("fd00::2");
  SessionConfig s = Session();
  s.cookie.clear();
  s.peer_cookie.clear();
  s.tx_sublayer = s.rx_sublayer = Sublayer::kNone;
  auto v = BuildSessionValue(t, s, EbpfUnderlay{}, 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->flags, PW_F_V6);
  EXPECT_EQ(v->tx_cookie_len, 0);
  EXPECT_EQ(v->rx_cookie_len, 0);
  EXPECT_EQ(v->peer[15], 2);
}

TEST(BuildEndpointTest, KeysOnLocalAddressPortAndFamily) {
  pw_endpoint e = BuildEndpoint(Udp4Tunnel());
  EXPECT_EQ(e.addr[0], 10);
  EXPECT_EQ(e.addr[4], 0);  // the rest of an IPv4 key is zero, as pw_decap builds it
  EXPECT_EQ(ntohs(e.port), 1701);
  EXPECT_EQ(e.v6, 0);
}

TEST(SumCountersTest, AddsEveryCpuSlot) {
  std::vector<pw_counters> per_cpu(3);
  per_cpu[0].rx_packets = 1;
  per_cpu[2].rx_packets = 2;
  per_cpu[1].rx_cookie_discards = 5;
  per_cpu[2].tx_bytes = 7;
  Stats s = SumCounters(per_cpu);
  EXPECT_EQ(s.rx_packets, 3u);
  EXPECT_EQ(s.rx_cookie_discards, 5u);
  EXPECT_EQ(s.tx_bytes, 7u);
  std::vector<pw_global> g(2);
  g[0].rx_unknown_session = 4;
  g[1].rx_unknown_session = 1;
  g[1].rx_malformed = 2;
  Stats gs = SumGlobal(g);
  EXPECT_EQ(gs.rx_unknown_session, 5u);
  EXPECT_EQ(gs.rx_malformed, 2u);
}

}  // namespace
}  // namespace pwire::dataplane
