// Unit tests of the L2TP generic netlink messages (agent/dataplane/kernel_genl.h): each message is
// built, then parsed back attribute by attribute with libnl, and through the data plane's own
// parsers. No kernel needed.
#include "agent/dataplane/kernel_genl.h"

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <chrono>
#include <cstring>

#include "agent/dataplane/kernel_uapi.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pwire::dataplane::kernel {
namespace {

constexpr int kFamily = 0x1d;

struct Parsed {
  uint8_t cmd = 0;
  uint16_t flags = 0;
  nlattr* attrs[L2TP_ATTR_MAX + 1] = {};
};

Parsed Parse(nl_msg* msg) {
  Parsed p;
  nlmsghdr* hdr = nlmsg_hdr(msg);
  EXPECT_EQ(hdr->nlmsg_type, kFamily);
  p.flags = hdr->nlmsg_flags;
  auto* genl = static_cast<genlmsghdr*>(nlmsg_data(hdr));
  p.cmd = genl->cmd;
  EXPECT_EQ(genl->version, L2TP_GENL_VERSION);
  EXPECT_EQ(genlmsg_parse(hdr, 0, p.attrs, L2TP_ATTR_MAX, nullptr), 0);
  return p;
}

std::vector<uint8_t> Bytes(nlattr* a) {
  auto* d = static_cast<const uint8_t*>(nla_data(a));
  return {d, d + nla_len(a)};
}

TunnelConfig StaticUdp4() {
  TunnelConfig c;
  c.local_tunnel_id = 100;
  c.peer_tunnel_id = 200;
  c.mode = TunnelMode::kStatic;
  c.encap = Encap::kUdp;
  c.local = *IpAddress::Parse("10.0.0.1");
  c.peer = *IpAddress::Parse("10.0.0.2");
  c.local_port = 1701;
  c.peer_port = 1702;
  return c;
}

TEST(KernelGenlTest, StaticUdpTunnelCarriesIdsAddressesAndPorts) {
  absl::StatusOr<NlMsgPtr> msg = BuildTunnelCreate(kFamily, StaticUdp4());
  ASSERT_TRUE(msg.ok()) << msg.status();
  Parsed p = Parse(msg->get());
  EXPECT_EQ(p.cmd, L2TP_CMD_TUNNEL_CREATE);
  EXPECT_TRUE(p.flags & NLM_F_ACK);
  EXPECT_EQ(nla_get_u32(p.attrs[L2TP_ATTR_CONN_ID]), 100u);
  EXPECT_EQ(nla_get_u32(p.attrs[L2TP_ATTR_PEER_CONN_ID]), 200u);
  EXPECT_EQ(nla_get_u8(p.attrs[L2TP_ATTR_PROTO_VERSION]), 3);
  EXPECT_EQ(nla_get_u16(p.attrs[L2TP_ATTR_ENCAP_TYPE]), L2TP_ENCAPTYPE_UDP);
  // Addresses in network byte order, ports in host order, as the kernel reads them.
  EXPECT_EQ(Bytes(p.attrs[L2TP_ATTR_IP_SADDR]), (std::vector<uint8_t>{10, 0, 0, 1}));
  EXPECT_EQ(Bytes(p.attrs[L2TP_ATTR_IP_DADDR]), (std::vector<uint8_t>{10, 0, 0, 2}));
  EXPECT_EQ(nla_get_u16(p.attrs[L2TP_ATTR_UDP_SPORT]), 1701);
  EXPECT_EQ(nla_get_u16(p.attrs[L2TP_ATTR_UDP_DPORT]), 1702);
  EXPECT_EQ(p.attrs[L2TP_ATTR_FD], nullptr);
  EXPECT_EQ(p.attrs[L2TP_ATTR_IP6_SADDR], nullptr);

  absl::StatusOr<KernelTunnel> t = ParseTunnel(nlmsg_hdr(msg->get()));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->tunnel_id, 100u);
  EXPECT_EQ(t->peer_tunnel_id, 200u);
  EXPECT_EQ(t->encap, Encap::kUdp);
  EXPECT_EQ(t->local, StaticUdp4().local);
  EXPECT_EQ(t->peer, StaticUdp4().peer);
  EXPECT_EQ(t->local_port, 1701);
  EXPECT_EQ(t->peer_port, 1702);
}

TEST(KernelGenlTest, StaticIpTunnelOverIpv6HasNoPorts) {
  TunnelConfig c = StaticUdp4();
  c.encap = Encap::kIp;
  c.local = *IpAddress::Parse("fd00::1");
  c.peer = *IpAddress::Parse("fd00::2");
  absl::StatusOr<NlMsgPtr> msg = BuildTunnelCreate(kFamily, c);
  ASSERT_TRUE(msg.ok()) << msg.status();
  Parsed p = Parse(msg->get());
  EXPECT_EQ(nla_get_u16(p.attrs[L2TP_ATTR_ENCAP_TYPE]), L2TP_ENCAPTYPE_IP);
  ASSERT_NE(p.attrs[L2TP_ATTR_IP6_SADDR], nullptr);
  EXPECT_EQ(std::memcmp(nla_data(p.attrs[L2TP_ATTR_IP6_SADDR]), c.local.bytes.data(), 16), 0);
  EXPECT_EQ(std::memcmp(nla_data(p.attrs[L2TP_ATTR_IP6_DADDR]), c.peer.bytes.data(), 16), 0);
  EXPECT_EQ(p.attrs[L2TP_ATTR_IP_SADDR], nullptr);
  EXPECT_EQ(p.attrs[L2TP_ATTR_UDP_SPORT], nullptr);
  absl::StatusOr<KernelTunnel> t = ParseTunnel(nlmsg_hdr(msg->get()));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->local, c.local);
  EXPECT_EQ(t->encap, Encap::kIp);
}

TEST(KernelGenlTest, ManagedTunnelPassesTheAgentsSocketAndNoAddresses) {
  TunnelConfig c = StaticUdp4();
  c.mode = TunnelMode::kManaged;
  c.fd = 7;
  absl::StatusOr<NlMsgPtr> msg = BuildTunnelCreate(kFamily, c);
  ASSERT_TRUE(msg.ok()) << msg.status();
  Parsed p = Parse(msg->get());
  ASSERT_NE(p.attrs[L2TP_ATTR_FD], nullptr);
  EXPECT_EQ(nla_get_u32(p.attrs[L2TP_ATTR_FD]), 7u);
  EXPECT_EQ(p.attrs[L2TP_ATTR_IP_SADDR], nullptr);
  EXPECT_EQ(p.attrs[L2TP_ATTR_UDP_SPORT], nullptr);
}

TEST(KernelGenlTest, RejectsBadTunnelConfigs) {
  TunnelConfig managed = StaticUdp4();
  managed.mode = TunnelMode::kManaged;  // fd -1
  EXPECT_TRUE(absl::IsInvalidArgument(BuildTunnelCreate(kFamily, managed).status()));
  TunnelConfig mixed = StaticUdp4();
  mixed.peer = *IpAddress::Parse("fd00::2");
  EXPECT_TRUE(absl::IsInvalidArgument(BuildTunnelCreate(kFamily, mixed).status()));
  TunnelConfig zero = StaticUdp4();
  zero.peer_tunnel_id = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(BuildTunnelCreate(kFamily, zero).status()));
}

SessionConfig Session() {
  SessionConfig s;
  s.tunnel_id = 100;
  s.local_session_id = 1000;
  s.peer_session_id = 2000;
  s.cookie = {1, 2, 3, 4};
  s.peer_cookie = {8, 7, 6, 5, 4, 3, 2, 1};
  s.tx_sublayer = s.rx_sublayer = Sublayer::kNone;
  s.send_seq = true;
  s.recv_seq = true;
  s.reorder_timeout = std::chrono::milliseconds(250);
  return s;
}

TEST(KernelGenlTest, SessionCarriesCookiesSublayerSequencingAndName) {
  absl::StatusOr<NlMsgPtr> msg = BuildSessionCreate(kFamily, Session(), "pw1000");
  ASSERT_TRUE(msg.ok()) << msg.status();
  Parsed p = Parse(msg->get());
  EXPECT_EQ(p.cmd, L2TP_CMD_SESSION_CREATE);
  EXPECT_EQ(nla_get_u32(p.attrs[L2TP_ATTR_CONN_ID]), 100u);
  EXPECT_EQ(nla_get_u32(p.attrs[L2TP_ATTR_SESSION_ID]), 1000u);
  EXPECT_EQ(nla_get_u32(p.attrs[L2TP_ATTR_PEER_SESSION_ID]), 2000u);
  EXPECT_EQ(nla_get_u16(p.attrs[L2TP_ATTR_PW_TYPE]), L2TP_PWTYPE_ETH);
  EXPECT_EQ(nla_get_u8(p.attrs[L2TP_ATTR_L2SPEC_TYPE]), L2TP_L2SPECTYPE_NONE);
  // The kernel sends L2TP_ATTR_COOKIE and expects L2TP_ATTR_PEER_COOKIE.
  EXPECT_EQ(Bytes(p.attrs[L2TP_ATTR_COOKIE]), Session().peer_cookie);
  EXPECT_EQ(Bytes(p.attrs[L2TP_ATTR_PEER_COOKIE]), Session().cookie);
  EXPECT_EQ(nla_get_u8(p.attrs[L2TP_ATTR_SEND_SEQ]), 1);
  EXPECT_EQ(nla_get_u8(p.attrs[L2TP_ATTR_RECV_SEQ]), 1);
  EXPECT_EQ(nla_get_u64(p.attrs[L2TP_ATTR_RECV_TIMEOUT]), 250u);
  EXPECT_STREQ(nla_get_string(p.attrs[L2TP_ATTR_IFNAME]), "pw1000");

  absl::StatusOr<KernelSession> s = ParseSession(nlmsg_hdr(msg->get()));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->tunnel_id, 100u);
  EXPECT_EQ(s->session_id, 1000u);
  EXPECT_EQ(s->peer_session_id, 2000u);
  EXPECT_EQ(s->cookie, Session().cookie);
  EXPECT_EQ(s->peer_cookie, Session().peer_cookie);
  EXPECT_EQ(s->sublayer, Sublayer::kNone);
  EXPECT_TRUE(s->send_seq);
  EXPECT_EQ(s->reorder_timeout_ms, 250u);
  EXPECT_EQ(s->ifname, "pw1000");
}

TEST(KernelGenlTest, SessionWithoutCookiesOrTimeoutOmitsThem) {
  SessionConfig c = Session();
  c.cookie.clear();
  c.peer_cookie.clear();
  c.reorder_timeout = {};
  c.tx_sublayer = c.rx_sublayer = Sublayer::kDefault;
  absl::StatusOr<NlMsgPtr> msg = BuildSessionCreate(kFamily, c, "");
  ASSERT_TRUE(msg.ok());
  Parsed p = Parse(msg->get());
  EXPECT_EQ(p.attrs[L2TP_ATTR_COOKIE], nullptr);
  EXPECT_EQ(p.attrs[L2TP_ATTR_PEER_COOKIE], nullptr);
  EXPECT_EQ(p.attrs[L2TP_ATTR_RECV_TIMEOUT], nullptr);
  EXPECT_EQ(p.attrs[L2TP_ATTR_IFNAME], nullptr);
  EXPECT_EQ(nla_get_u8(p.attrs[L2TP_ATTR_L2SPEC_TYPE]), L2TP_L2SPECTYPE_DEFAULT);
}

TEST(KernelGenlTest, RejectsBadSessions) {
  SessionConfig bad_cookie = Session();
  bad_cookie.cookie = {1, 2, 3};
  EXPECT_TRUE(absl::IsInvalidArgument(BuildSessionCreate(kFamily, bad_cookie, "x").status()));
  SessionConfig hdlc = Session();
  hdlc.pw_type = PwType::kHdlc;
  EXPECT_TRUE(absl::IsUnimplemented(BuildSessionCreate(kFamily, hdlc, "x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildSessionCreate(kFamily, Session(), "a-name-far-too-long").status()));
}

TEST(KernelGenlTest, GetsAndDeletesNameTheirObject) {
  Parsed dump = Parse(BuildSessionGet(kFamily, std::nullopt, std::nullopt).get());
  EXPECT_EQ(dump.cmd, L2TP_CMD_SESSION_GET);
  EXPECT_EQ(dump.flags & NLM_F_DUMP, NLM_F_DUMP);
  Parsed one = Parse(BuildSessionGet(kFamily, 5, 6).get());
  EXPECT_EQ(one.flags & NLM_F_DUMP, 0);
  EXPECT_EQ(nla_get_u32(one.attrs[L2TP_ATTR_CONN_ID]), 5u);
  EXPECT_EQ(nla_get_u32(one.attrs[L2TP_ATTR_SESSION_ID]), 6u);
  Parsed del = Parse(BuildSessionDelete(kFamily, 5, 6).get());
  EXPECT_EQ(del.cmd, L2TP_CMD_SESSION_DELETE);
  Parsed tdel = Parse(BuildTunnelDelete(kFamily, 9).get());
  EXPECT_EQ(tdel.cmd, L2TP_CMD_TUNNEL_DELETE);
  EXPECT_EQ(nla_get_u32(tdel.attrs[L2TP_ATTR_CONN_ID]), 9u);
  Parsed tdump = Parse(BuildTunnelGet(kFamily, std::nullopt).get());
  EXPECT_EQ(tdump.cmd, L2TP_CMD_TUNNEL_GET);
  EXPECT_EQ(tdump.attrs[L2TP_ATTR_CONN_ID], nullptr);
}

TEST(KernelGenlTest, ParsesStatsAndRejectsMessagesWithoutIds) {
  NlMsgPtr msg(nlmsg_alloc());
  genlmsg_put(msg.get(), 0, 0, kFamily, 0, 0, L2TP_CMD_SESSION_GET, 1);
  nla_put_u32(msg.get(), L2TP_ATTR_CONN_ID, 1);
  EXPECT_FALSE(ParseSession(nlmsg_hdr(msg.get())).ok());  // no session id
  nla_put_u32(msg.get(), L2TP_ATTR_SESSION_ID, 2);
  nlattr* nest = nla_nest_start(msg.get(), L2TP_ATTR_STATS);
  nla_put_u64(msg.get(), L2TP_ATTR_RX_PACKETS, 11);
  nla_put_u64(msg.get(), L2TP_ATTR_RX_COOKIE_DISCARDS, 3);
  nla_put_u64(msg.get(), L2TP_ATTR_TX_BYTES, 999);
  nla_nest_end(msg.get(), nest);
  absl::StatusOr<KernelSession> s = ParseSession(nlmsg_hdr(msg.get()));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->stats.rx_packets, 11u);
  EXPECT_EQ(s->stats.rx_cookie_discards, 3u);
  EXPECT_EQ(s->stats.tx_bytes, 999u);
  EXPECT_EQ(s->sublayer, std::nullopt);
}

TEST(KernelGenlTest, RejectsOversizedCookieFromTheKernel) {
  NlMsgPtr msg(nlmsg_alloc());
  genlmsg_put(msg.get(), 0, 0, kFamily, 0, 0, L2TP_CMD_SESSION_GET, 1);
  nla_put_u32(msg.get(), L2TP_ATTR_CONN_ID, 1);
  nla_put_u32(msg.get(), L2TP_ATTR_SESSION_ID, 2);
  uint8_t big[12] = {};
  nla_put(msg.get(), L2TP_ATTR_COOKIE, sizeof big, big);
  EXPECT_FALSE(ParseSession(nlmsg_hdr(msg.get())).ok());
}

}  // namespace
}  // namespace pwire::dataplane::kernel
