// Two engines on a simulated link (sim.h), on virtual time: control connection and session
// setup, loss, reordering and duplication, tie-breakers, authentication, teardown.
#include "sim.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

namespace pwire::l2tp {
namespace {

using sim::EventsOf;
using sim::LinkConfig;
using sim::Simulator;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

EngineConfig Config(const std::string& name, uint32_t router_id) {
  EngineConfig c;
  c.host_name = name;
  c.router_id = router_id;
  c.hello_interval = seconds(60);
  return c;
}

struct Pair {
  explicit Pair(uint64_t seed, LinkConfig link = {}, EngineConfig a = Config("a", 1),
                EngineConfig b = Config("b", 2))
      : sim(seed, link) {
    sim.AddNode(std::move(a));
    sim.AddNode(std::move(b));
  }
  uint32_t Open() {
    return sim.Do(0, [&](Engine& e, Instant now) {
      return *e.OpenControlConnection(now, sim.node(1).address);
    });
  }
  absl::StatusOr<uint32_t> OpenSession(size_t node, uint32_t ccid, const SessionParams& sp) {
    return sim.Do(node, [&](Engine& e, Instant now) { return e.OpenSession(now, ccid, sp); });
  }
  bool BothUp() {
    return EventsOf<ControlConnectionUp>(sim.node(0)).size() == 1 &&
           EventsOf<ControlConnectionUp>(sim.node(1)).size() == 1;
  }
  Simulator sim;
};

TEST(SimTest, ControlConnectionAndOneSessionComeUpWithNegotiatedParameters) {
  Pair p(1);
  p.sim.node(1).policy.params.cookie_length = 4;
  p.sim.node(1).policy.params.require_sequencing = true;
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  SessionParams sp{.pw_type = 5, .remote_end_id = "pw-42", .cookie_length = 8};
  const uint32_t sid = *p.OpenSession(0, ccid, sp);
  ASSERT_TRUE(p.sim.RunUntil(
      [&] {
        return EventsOf<SessionUp>(p.sim.node(0)).size() == 1 &&
               EventsOf<SessionUp>(p.sim.node(1)).size() == 1;
      },
      seconds(5)));
  const SessionInfo a = EventsOf<SessionUp>(p.sim.node(0))[0].info;
  const SessionInfo b = EventsOf<SessionUp>(p.sim.node(1))[0].info;
  EXPECT_EQ(a.local_session_id, sid);
  EXPECT_EQ(a.remote_session_id, b.local_session_id);
  EXPECT_EQ(b.remote_session_id, a.local_session_id);
  EXPECT_EQ(a.local_cookie.size(), 8u);
  EXPECT_EQ(b.local_cookie.size(), 4u);
  EXPECT_EQ(a.local_cookie, b.remote_cookie);
  EXPECT_EQ(b.local_cookie, a.remote_cookie);
  EXPECT_EQ(a.remote_end_id, "pw-42");
  EXPECT_EQ(b.remote_end_id, "pw-42");
  EXPECT_EQ(a.pw_type, 5);
  EXPECT_EQ(a.send_sublayer, Sublayer::kDefault);
  EXPECT_TRUE(a.send_sequenced) << "B required sequencing of the data it receives";
  EXPECT_TRUE(b.recv_sequenced);
  EXPECT_FALSE(b.send_sequenced);
  EXPECT_EQ(p.sim.engine(0).SessionState(sid), CallState::kEstablished);
}

// RFC 3931 §7.3.2: once the ICRQ recipient sends its ICRP, the sender may send data right
// after its ICCN; §5.4.4: each end asks for the sublayer and sequencing it receives. The
// recipient reports both directions (SessionNegotiated) before its ICRP leaves, so its owner
// can program the data plane first; the sender's SessionUp comes with its ICCN.
TEST(SimTest, RecipientReportsTheNegotiatedDataPlaneBeforeItsIcrpLeaves) {
  Pair p(3);
  p.sim.node(1).policy.params.sublayer = Sublayer::kNone;
  size_t negotiated_at_icrp = 0;
  size_t up_at_iccn = 0;
  p.sim.set_tap([&](size_t from, const Datagram& d) {
    // Over UDP: 12-byte control header, then the Message Type AVP (value at offset 18).
    if (d.bytes.size() < 20) return;
    const int type = d.bytes[18] << 8 | d.bytes[19];
    if (from == 1 && type == 11) {  // ICRP
      negotiated_at_icrp = EventsOf<SessionNegotiated>(p.sim.node(1)).size();
    }
    if (from == 0 && type == 12) up_at_iccn = EventsOf<SessionUp>(p.sim.node(0)).size();
  });
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  SessionParams sp{.pw_type = 5, .remote_end_id = "pw-7", .require_sequencing = true};
  ASSERT_TRUE(p.OpenSession(0, ccid, sp).ok());
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.sim.node(1).sessions_up == 1; }, seconds(5)));
  EXPECT_EQ(negotiated_at_icrp, 1u);
  EXPECT_EQ(up_at_iccn, 1u);
  const auto n = EventsOf<SessionNegotiated>(p.sim.node(1));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].info.send_sublayer, Sublayer::kDefault) << "the sender asked for it";
  EXPECT_TRUE(n[0].info.send_sequenced) << "the sender asked for sequencing";
  EXPECT_EQ(n[0].info.recv_sublayer, Sublayer::kNone);
  EXPECT_FALSE(n[0].info.recv_sequenced);
  const SessionInfo a = EventsOf<SessionUp>(p.sim.node(0))[0].info;
  EXPECT_EQ(a.send_sublayer, Sublayer::kNone) << "the recipient asked for none";
  EXPECT_EQ(a.recv_sublayer, Sublayer::kDefault);
  EXPECT_FALSE(a.send_sequenced);
}

TEST(SimTest, ThousandSessionsUpExactlyOnceWithTwentyPercentLossEachWay) {
  EngineConfig a = Config("a", 1);
  EngineConfig b = Config("b", 2);
  a.reliable.max_retries = b.reliable.max_retries = 30;
  a.sccrq_max_retries = 30;
  Pair p(7,
         LinkConfig{
             .loss = 0.2, .duplicate = 0.05, .delay = milliseconds(5), .jitter = milliseconds(20)},
         a, b);
  const uint32_t ccid = p.Open();
  std::set<uint32_t> opened;
  for (int i = 0; i < 1000; ++i) {
    SessionParams sp{.pw_type = 5, .remote_end_id = "pw" + std::to_string(i), .cookie_length = 4};
    opened.insert(*p.OpenSession(0, ccid, sp));
  }
  ASSERT_EQ(opened.size(), 1000u);
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return p.sim.node(0).sessions_up >= 1000 && p.sim.node(1).sessions_up >= 1000; },
      minutes(60)));
  p.sim.RunFor(minutes(2));  // let stragglers (duplicates, retransmissions) settle
  std::map<uint32_t, int> up_a;
  std::map<std::string, int> up_b;
  for (const SessionUp& u : EventsOf<SessionUp>(p.sim.node(0))) {
    ++up_a[u.info.local_session_id];
  }
  for (const SessionUp& u : EventsOf<SessionUp>(p.sim.node(1))) {
    ++up_b[u.info.remote_end_id];
  }
  EXPECT_EQ(up_a.size(), 1000u);
  EXPECT_EQ(up_b.size(), 1000u);
  for (auto& [id, n] : up_a) {
    EXPECT_EQ(n, 1) << id;
  }
  for (auto& [id, n] : up_b) {
    EXPECT_EQ(n, 1) << id;
  }
  for (uint32_t id : opened) {
    EXPECT_EQ(up_a.count(id), 1u);
  }
  EXPECT_TRUE(EventsOf<SessionDown>(p.sim.node(0)).empty());
  EXPECT_TRUE(EventsOf<SessionDown>(p.sim.node(1)).empty());
  EXPECT_TRUE(EventsOf<ControlConnectionDown>(p.sim.node(0)).empty());
  EXPECT_GT(p.sim.dropped(), 100u) << "the link really lost packets";
  EXPECT_EQ(p.sim.engine(0).session_count(), 1000u);
  EXPECT_EQ(p.sim.engine(1).session_count(), 1000u);
}

TEST(SimTest, RefusedSessionGetsCdnWithPolicyResult) {
  Pair p(3);
  p.sim.node(1).policy.accept = false;
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  EXPECT_TRUE(p.OpenSession(0, ccid, {.pw_type = 5, .remote_end_id = "x"}).ok());
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return !EventsOf<SessionDown>(p.sim.node(0)).empty(); }, seconds(5)));
  EXPECT_EQ(EventsOf<SessionDown>(p.sim.node(0))[0].result.result, 4);
  EXPECT_EQ(p.sim.engine(0).session_count(), 0u);
  EXPECT_EQ(p.sim.engine(1).session_count(), 0u);
}

// §5.4.3: we only ask for a PW type the peer advertised. (The peer's side, CDN 14 for a
// type it cannot carry, is ScriptedPeerTest.AdvertisesItsOwnPwTypesAndRefusesOthers...)
TEST(SimTest, OpenSessionRefusesAPwTypeThePeerDidNotAdvertise) {
  EngineConfig b = Config("b", 2);
  b.pw_capabilities = {0x0005, 0x0007};
  EngineConfig a = Config("a", 1);
  a.pw_capabilities = {0x0005, 0x0004};
  Pair p(4, {}, a, b);
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  auto r = p.OpenSession(0, ccid, {.pw_type = 4, .remote_end_id = "vlan"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(p.sim.engine(0).session_count(), 0u);
  auto ok = p.OpenSession(0, ccid, {.pw_type = 5, .remote_end_id = "eth"});
  EXPECT_TRUE(ok.ok());
}

TEST(SimTest, CloseSessionSendsCdnAndPeerSeesResult) {
  Pair p(6);
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  const uint32_t sid = *p.OpenSession(0, ccid, {.pw_type = 5, .remote_end_id = "x"});
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return EventsOf<SessionUp>(p.sim.node(1)).size() == 1; }, seconds(5)));
  EXPECT_TRUE(
      p.sim.Do(0, [&](Engine& e, Instant now) { return e.SetCircuitStatus(now, sid, false); })
          .ok());
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return EventsOf<CircuitStatusChanged>(p.sim.node(1)).size() == 1; }, seconds(5)));
  EXPECT_FALSE(EventsOf<CircuitStatusChanged>(p.sim.node(1))[0].active);
  EXPECT_TRUE(
      p.sim.Do(0, [&](Engine& e, Instant now) { return e.CloseSession(now, sid, 3); }).ok());
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return EventsOf<SessionDown>(p.sim.node(1)).size() == 1; }, seconds(5)));
  EXPECT_EQ(EventsOf<SessionDown>(p.sim.node(1))[0].result.result, 3);
  EXPECT_EQ(p.sim.engine(1).session_count(), 0u);
}

TEST(SimTest, StopCcnClearsSessionsOnBothSidesAndStateIsReleased) {
  Pair p(8);
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  EXPECT_TRUE(p.OpenSession(0, ccid, {.pw_type = 5, .remote_end_id = "x"}).ok());
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return EventsOf<SessionUp>(p.sim.node(1)).size() == 1; }, seconds(5)));
  EXPECT_TRUE(
      p.sim.Do(0, [&](Engine& e, Instant now) { return e.CloseControlConnection(now, ccid, 6); })
          .ok());
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return EventsOf<ControlConnectionDown>(p.sim.node(1)).size() == 1; }, seconds(5)));
  EXPECT_EQ(EventsOf<ControlConnectionDown>(p.sim.node(1))[0].result.result, 6);
  EXPECT_EQ(EventsOf<SessionDown>(p.sim.node(1)).size(), 1u);
  EXPECT_EQ(EventsOf<SessionDown>(p.sim.node(0)).size(), 1u);
  // Holding state ends: the sender once acknowledged, the receiver after the full interval.
  p.sim.RunFor(minutes(2));
  EXPECT_EQ(p.sim.engine(0).control_connection_count(), 0u);
  EXPECT_EQ(p.sim.engine(1).control_connection_count(), 0u);
}

TEST(SimTest, HelloDetectsDeadPeer) {
  Pair p(9);
  p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  p.sim.set_link({.loss = 1.0});
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return EventsOf<ControlConnectionDown>(p.sim.node(0)).size() == 1; }, minutes(10)));
  EXPECT_EQ(EventsOf<ControlConnectionDown>(p.sim.node(0))[0].reason, "peer not responding");
}

TEST(SimTest, ControlConnectionTieLeavesOneConnectionAndMovesSessions) {
  Pair p(10);
  const uint32_t a_cc = p.Open();
  const uint32_t b_cc = p.sim.Do(1, [&](Engine& e, Instant now) {
    return *e.OpenControlConnection(now, p.sim.node(0).address);
  });
  EXPECT_TRUE(p.OpenSession(0, a_cc, {.pw_type = 5, .remote_end_id = "from-a"}).ok());
  EXPECT_TRUE(p.OpenSession(1, b_cc, {.pw_type = 5, .remote_end_id = "from-b"}).ok());
  ASSERT_TRUE(p.sim.RunUntil(
      [&] {
        return EventsOf<SessionUp>(p.sim.node(0)).size() == 2 &&
               EventsOf<SessionUp>(p.sim.node(1)).size() == 2;
      },
      seconds(30)));
  p.sim.RunFor(minutes(2));  // the winner holds its refusal for the full retransmit interval
  EXPECT_EQ(p.sim.engine(0).stats().tie_breaks + p.sim.engine(1).stats().tie_breaks, 2u);
  // Exactly one established connection each side; the loser reported its replacement.
  size_t replaced = 0;
  for (size_t i : {0, 1}) {
    for (const auto& d : EventsOf<ControlConnectionDown>(p.sim.node(i))) {
      EXPECT_NE(d.replaced_by, 0u);
      ++replaced;
    }
  }
  EXPECT_EQ(replaced, 1u);
  EXPECT_EQ(p.sim.engine(0).control_connection_count(), 1u);
  EXPECT_EQ(p.sim.engine(1).control_connection_count(), 1u);
}

TEST(SimTest, SessionTieLeavesOneSessionPerSide) {
  Pair p(11);
  const uint32_t a_cc = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  const uint32_t b_cc = EventsOf<ControlConnectionUp>(p.sim.node(1))[0].ccid;
  EXPECT_TRUE(p.OpenSession(0, a_cc, {.pw_type = 5, .remote_end_id = "same"}).ok());
  EXPECT_TRUE(p.OpenSession(1, b_cc, {.pw_type = 5, .remote_end_id = "same"}).ok());
  p.sim.RunFor(seconds(10));
  EXPECT_EQ(p.sim.engine(0).session_count(), 1u);
  EXPECT_EQ(p.sim.engine(1).session_count(), 1u);
  EXPECT_EQ(EventsOf<SessionUp>(p.sim.node(0)).size(), 1u);
  EXPECT_EQ(EventsOf<SessionUp>(p.sim.node(1)).size(), 1u);
  // The loser's own request went down with result 13 and the new one says it replaces it.
  size_t lost = 0;
  for (size_t i : {0, 1}) {
    for (const auto& d : EventsOf<SessionDown>(p.sim.node(i))) {
      EXPECT_EQ(d.result.result, 13);
      ++lost;
    }
  }
  EXPECT_EQ(lost, 1u);
}

EngineConfig WithSecrets(EngineConfig c, const std::vector<std::string>& secrets,
                         DigestType type = DigestType::kHmacMd5) {
  for (const auto& s : secrets) {
    c.auth.secrets.push_back(Bytes(s.begin(), s.end()));
  }
  c.auth.digest = type;
  return c;
}

TEST(SimTest, AuthenticatedConnectionWithSharedSecretComesUp) {
  Pair p(12, {}, WithSecrets(Config("a", 1), {"s3cret"}, DigestType::kHmacSha1),
         WithSecrets(Config("b", 2), {"s3cret"}, DigestType::kHmacSha1));
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  EXPECT_TRUE(p.OpenSession(0, ccid, {.pw_type = 5, .remote_end_id = "x"}).ok());
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return EventsOf<SessionUp>(p.sim.node(1)).size() == 1; }, seconds(5)));
  EXPECT_EQ(p.sim.engine(0).stats().auth_failures + p.sim.engine(1).stats().auth_failures, 0u);
}

TEST(SimTest, SecretRolloverAcceptsEitherDigest) {
  Pair p(13, {}, WithSecrets(Config("a", 1), {"old", "new"}), WithSecrets(Config("b", 2), {"new"}));
  p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
}

TEST(SimTest, AuthenticationOnOneSideOnlyEndsInStopCcn) {
  Pair p(14, {}, WithSecrets(Config("a", 1), {"s3cret"}), Config("b", 2));
  p.Open();
  // B has no secret: it refuses A's nonce with StopCCN result 4 (§4.3: both or neither).
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return EventsOf<ControlConnectionDown>(p.sim.node(1)).size() == 1; }, seconds(5)));
  const auto down = EventsOf<ControlConnectionDown>(p.sim.node(1))[0];
  EXPECT_EQ(down.result.result, 4) << down.reason;
  // A cannot authenticate that StopCCN (no digest) and must drop it (§5.4.1): it gives up
  // when its SCCRQ retries run out.
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return EventsOf<ControlConnectionDown>(p.sim.node(0)).size() == 1; }, minutes(2)));
  EXPECT_GT(p.sim.engine(0).stats().auth_failures, 0u);
  EXPECT_TRUE(EventsOf<ControlConnectionUp>(p.sim.node(0)).empty());
  EXPECT_TRUE(EventsOf<ControlConnectionUp>(p.sim.node(1)).empty());
  EXPECT_EQ(EventsOf<ControlConnectionDown>(p.sim.node(1)).size(), 1u)
      << "retransmitted SCCRQs reach the refusing connection, not new ones";
}

TEST(SimTest, WrongSecretIsDroppedAndNeverComesUp) {
  Pair p(15, {}, WithSecrets(Config("a", 1), {"one"}), WithSecrets(Config("b", 2), {"two"}));
  p.Open();
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return EventsOf<ControlConnectionDown>(p.sim.node(0)).size() == 1; }, minutes(5)));
  EXPECT_GT(p.sim.engine(1).stats().auth_failures, 0u);
  EXPECT_TRUE(EventsOf<ControlConnectionUp>(p.sim.node(1)).empty());
}

TEST(SimTest, OutgoingCallComesUp) {
  Pair p(16);
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  EXPECT_TRUE(
      p.OpenSession(0, ccid, {.pw_type = 5, .remote_end_id = "out", .outgoing_call = true}).ok());
  ASSERT_TRUE(p.sim.RunUntil(
      [&] {
        return EventsOf<SessionUp>(p.sim.node(0)).size() == 1 &&
               EventsOf<SessionUp>(p.sim.node(1)).size() == 1;
      },
      seconds(5)));
  EXPECT_EQ(p.sim.node(1).policy.requests, 1);
}

TEST(SimTest, OverIpProtocol115ConnectionAndSessionComeUp) {
  EngineConfig a = Config("a", 1);
  EngineConfig b = Config("b", 2);
  a.transport = b.transport = Transport::kIp;
  Pair p(20, LinkConfig{.loss = 0.1, .delay = milliseconds(3)}, a, b);
  const uint32_t ccid = p.Open();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, minutes(1)));
  EXPECT_TRUE(
      p.OpenSession(0, ccid, {.pw_type = 5, .remote_end_id = "ip", .cookie_length = 8}).ok());
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return p.sim.node(0).sessions_up == 1 && p.sim.node(1).sessions_up == 1; },
      minutes(1)));
}

// L2TPv2 (RFC 2661) for PPP: the same machinery as LAC (ICRQ) and LNS (OCRQ).
struct V2Pair {
  V2Pair(uint64_t seed, const std::vector<std::string>& lac_secret,
         const std::vector<std::string>& lns_secret, LinkConfig link = {})
      : p(seed, link, WithSecrets(Config("lac", 1), lac_secret),
          WithSecrets(Config("lns", 2), lns_secret)) {}
  uint32_t OpenV2() {
    return p.sim.Do(0, [&](Engine& e, Instant now) {
      ControlConnectionParams v2;
      v2.version = 2;
      return *e.OpenControlConnection(now, p.sim.node(1).address, v2);
    });
  }
  Pair p;
};

TEST(SimTest, V2TunnelWithChallengeAuthAndIncomingPppCallAsLac) {
  V2Pair v(17, {"tunnel-secret"}, {"tunnel-secret"},
           LinkConfig{.loss = 0.2, .delay = milliseconds(5), .jitter = milliseconds(10)});
  Pair& p = v.p;
  const uint32_t tid = v.OpenV2();
  EXPECT_LE(tid, 0xffffu) << "L2TPv2 Tunnel IDs are 16-bit";
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, minutes(2)));
  EXPECT_EQ(EventsOf<ControlConnectionUp>(p.sim.node(1))[0].version, 2);
  EXPECT_EQ(EventsOf<ControlConnectionUp>(p.sim.node(1))[0].peer_host_name, "lac");
  EXPECT_TRUE(p.OpenSession(0, tid, {.remote_end_id = "5551234"}).ok());
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return p.sim.node(0).sessions_up == 1 && p.sim.node(1).sessions_up == 1; },
      minutes(2)));
  const SessionInfo lac = EventsOf<SessionUp>(p.sim.node(0))[0].info;
  const SessionInfo lns = EventsOf<SessionUp>(p.sim.node(1))[0].info;
  EXPECT_EQ(lac.version, 2);
  EXPECT_EQ(lac.pw_type, 0x0007);
  EXPECT_LE(lac.local_session_id, 0xffffu);
  EXPECT_EQ(lac.remote_session_id, lns.local_session_id);
  EXPECT_EQ(lns.remote_session_id, lac.local_session_id);
  EXPECT_EQ(lns.remote_end_id, "5551234") << "Calling Number";
  EXPECT_TRUE(lac.local_cookie.empty());
  EXPECT_EQ(p.sim.node(1).policy.requests, 1);
  // Clearing the call sends a CDN the LNS sees.
  EXPECT_TRUE(p.sim
                  .Do(0, [&](Engine& e,
                             Instant now) { return e.CloseSession(now, lac.local_session_id, 3); })
                  .ok());
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return EventsOf<SessionDown>(p.sim.node(1)).size() == 1; }, minutes(1)));
  EXPECT_EQ(EventsOf<SessionDown>(p.sim.node(1))[0].result.result, 3);
}

TEST(SimTest, V2OutgoingPppCallPlacedByLns) {
  V2Pair v(18, {}, {});
  Pair& p = v.p;
  v.OpenV2();
  ASSERT_TRUE(p.sim.RunUntil([&] { return p.BothUp(); }, seconds(5)));
  // The LNS (node 1) asks the LAC to place a call: OCRQ, OCRP, OCCN.
  const uint32_t lns_tid = EventsOf<ControlConnectionUp>(p.sim.node(1))[0].ccid;
  EXPECT_TRUE(p.OpenSession(1, lns_tid, {.remote_end_id = "5550000", .outgoing_call = true}).ok());
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return p.sim.node(0).sessions_up == 1 && p.sim.node(1).sessions_up == 1; },
      seconds(5)));
  EXPECT_EQ(EventsOf<SessionUp>(p.sim.node(0))[0].info.remote_end_id, "5550000") << "Called Number";
}

TEST(SimTest, V2WrongTunnelSecretEndsInStopCcnResult4) {
  V2Pair v(19, {"one"}, {"two"});
  Pair& p = v.p;
  v.OpenV2();
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return EventsOf<ControlConnectionDown>(p.sim.node(0)).size() == 1; }, seconds(10)));
  EXPECT_EQ(EventsOf<ControlConnectionDown>(p.sim.node(0))[0].result.result, 4);
  EXPECT_TRUE(EventsOf<ControlConnectionUp>(p.sim.node(0)).empty());
  EXPECT_TRUE(EventsOf<ControlConnectionUp>(p.sim.node(1)).empty());
}

}  // namespace
}  // namespace pwire::l2tp
