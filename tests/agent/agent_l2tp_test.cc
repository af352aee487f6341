// Two agents with the real L2TP control plane over loopback UDP (127.0.0.1 and 127.0.0.2) on
// one event loop, each with a FakeDataplane: a dynamic pseudowire comes up on both ends
// through SCCRQ..ICCN, both data planes get matching sessions (IDs and cookies crossed), a
// session nobody desired is refused, and deletion tears it down on both sides.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

#include "agent/core/agent.h"
#include "agent/core/l2tp_control.h"
#include "agent/dataplane/fake_dataplane.h"
#include "gtest/gtest.h"
#include "tests/agent/assignments.h"

namespace pwire::agent {
namespace {

v1::PseudowireAssignment Dynamic(const std::string& local, const std::string& peer, uint16_t port,
                                 v1::Role role, const std::string& id = "p1") {
  v1::PseudowireAssignment a = test_support::DynamicAssignment(local, peer, port, role, id);
  a.mutable_params()->set_cookie_length(8);
  return a;
}

struct Side {
  Side(EventLoop& loop, const std::string& addr, uint16_t port,
       const std::function<void(AgentConfig&)>& tweak = nullptr) {
    cfg.agent_id = "agent-" + addr;
    cfg.underlay = {addr};
    cfg.l2tp_port = port;
    if (tweak) tweak(cfg);
    cp = std::make_unique<L2tpControlPlane>(loop, cfg, dp, std::make_unique<base::SystemRandom>());
    agent = std::make_unique<Agent>(loop, cfg, dp, *cp);
  }
  AgentConfig cfg;
  dataplane::FakeDataplane dp;
  std::unique_ptr<L2tpControlPlane> cp;
  std::unique_ptr<Agent> agent;
};

class AgentL2tpTest : public ::testing::Test {
 public:
  void SetUp() override {
    loop_ = *EventLoop::Create();
    port_ = static_cast<uint16_t>(20000 + getpid() % 20000);
    a_ = std::make_unique<Side>(*loop_, "127.0.0.1", port_);
    b_ = std::make_unique<Side>(*loop_, "127.0.0.2", port_);
    ASSERT_TRUE(a_->cp->Listen().ok());
    ASSERT_TRUE(b_->cp->Listen().ok());
    ASSERT_TRUE(a_->agent->Start().ok());
    ASSERT_TRUE(b_->agent->Start().ok());
  }
  template <typename F>
  bool RunUntil(F done, std::chrono::seconds limit = std::chrono::seconds(5)) {
    auto deadline = base::MonotonicNow() + limit;
    while (!done() && base::MonotonicNow() < deadline)
      loop_->RunOnce(std::chrono::milliseconds(20));
    return done();
  }
  void Desire(Side& s, uint64_t version, const std::vector<v1::PseudowireAssignment>& pws) {
    v1::DesiredState d;
    d.set_version(version);
    for (const auto& p : pws) *d.add_pseudowires() = p;
    s.agent->OnDesiredState(d);
  }

  std::unique_ptr<EventLoop> loop_;
  uint16_t port_ = 0;
  std::unique_ptr<Side> a_, b_;
};

TEST_F(AgentL2tpTest, DynamicPseudowireUpOnBothEndsThenDeletedOnBoth) {
  Desire(*a_, 1, {Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR)});
  Desire(*b_, 1, {Dynamic("127.0.0.2", "127.0.0.1", port_, v1::RESPONDER)});
  ASSERT_TRUE(RunUntil(
      [&] { return a_->dp.List()->sessions.size() == 1 && b_->dp.List()->sessions.size() == 1; }));
  auto sa = a_->dp.List()->sessions[0];
  auto sb = b_->dp.List()->sessions[0];
  EXPECT_EQ(sa.local_session_id, sb.peer_session_id);
  EXPECT_EQ(sa.peer_session_id, sb.local_session_id);
  EXPECT_EQ(sa.cookie, sb.peer_cookie);
  EXPECT_EQ(sa.peer_cookie, sb.cookie);
  EXPECT_EQ(sa.cookie.size(), 8u);
  EXPECT_EQ(sa.ifname, "pw-p1");
  ASSERT_EQ(a_->dp.List()->tunnels.size(), 1u);
  EXPECT_EQ(a_->dp.List()->tunnels[0].mode, dataplane::TunnelMode::kManaged);
  auto st = a_->agent->BuildStatusReport(true);
  ASSERT_EQ(st.pseudowires_size(), 1);
  EXPECT_EQ(st.pseudowires(0).status().session_state(), v1::SESSION_ESTABLISHED);

  // Deleted on the initiator's side: CDN then StopCCN; the responder's ends go too even
  // before its own desired state changes (its session is gone), and both data planes empty.
  Desire(*a_, 2, {});
  Desire(*b_, 2, {});
  ASSERT_TRUE(RunUntil([&] {
    return a_->dp.List()->sessions.empty() && b_->dp.List()->sessions.empty() &&
           a_->cp->tunnels().empty() && b_->cp->tunnels().empty();
  }));
  EXPECT_TRUE(a_->dp.List()->tunnels.empty());
  EXPECT_TRUE(b_->dp.List()->tunnels.empty());
}

// RFC 3931 §5.4.4: a receiver of a non-zero L2-Specific Sublayer AVP MUST include that
// sublayer in its outgoing data (none without the AVP), and sequence it when the Data
// Sequencing AVP asks. A asks for no sublayer (Cisco's default), B for the default sublayer
// and sequencing: A sends the sublayer with sequence numbers and receives none; B the
// reverse. Status reports each direction.
void ExpectEachDirectionAsItsReceiverAsked(AgentL2tpTest& t, Side& a, Side& b, bool a_initiates,
                                           uint16_t port) {
  auto pa = Dynamic("127.0.0.1", "127.0.0.2", port, a_initiates ? v1::INITIATOR : v1::RESPONDER);
  pa.mutable_params()->set_l2_sublayer(v1::PseudowireClass::NO_SUBLAYER);
  auto pb = Dynamic("127.0.0.2", "127.0.0.1", port, a_initiates ? v1::RESPONDER : v1::INITIATOR);
  pb.mutable_params()->set_l2_sublayer(v1::PseudowireClass::DEFAULT_SUBLAYER);
  pb.mutable_params()->set_data_sequencing(true);
  t.Desire(a, 1, {pa});
  t.Desire(b, 1, {pb});
  ASSERT_TRUE(t.RunUntil(
      [&] { return a.dp.List()->sessions.size() == 1 && b.dp.List()->sessions.size() == 1; }));
  const auto sa = a.dp.List()->sessions[0];
  const auto sb = b.dp.List()->sessions[0];
  EXPECT_EQ(sa.tx_sublayer, dataplane::Sublayer::kDefault) << sa.DebugString();
  EXPECT_TRUE(sa.send_seq) << sa.DebugString();
  EXPECT_EQ(sa.rx_sublayer, dataplane::Sublayer::kNone) << sa.DebugString();
  EXPECT_FALSE(sa.recv_seq) << sa.DebugString();
  EXPECT_EQ(sb.tx_sublayer, dataplane::Sublayer::kNone) << sb.DebugString();
  EXPECT_FALSE(sb.send_seq) << sb.DebugString();
  EXPECT_EQ(sb.rx_sublayer, dataplane::Sublayer::kDefault) << sb.DebugString();
  EXPECT_TRUE(sb.recv_seq) << sb.DebugString();
  auto st = a.agent->BuildStatusReport(true);
  ASSERT_EQ(st.pseudowires_size(), 1);
  const auto& es = st.pseudowires(0).status();
  EXPECT_EQ(es.l2_sublayer(), v1::PseudowireClass::NO_SUBLAYER);  // A's own setting
  EXPECT_EQ(es.tx_l2_sublayer(), v1::PseudowireClass::DEFAULT_SUBLAYER);
  EXPECT_EQ(es.rx_l2_sublayer(), v1::PseudowireClass::NO_SUBLAYER);
  EXPECT_TRUE(es.tx_sequencing());
  EXPECT_FALSE(es.rx_sequencing());
}

TEST_F(AgentL2tpTest, EachDirectionAsItsReceiverAskedWhenTheNoSublayerEndInitiates) {
  ExpectEachDirectionAsItsReceiverAsked(*this, *a_, *b_, /*a_initiates=*/true, port_);
}

TEST_F(AgentL2tpTest, EachDirectionAsItsReceiverAskedWhenTheNoSublayerEndResponds) {
  ExpectEachDirectionAsItsReceiverAsked(*this, *a_, *b_, /*a_initiates=*/false, port_);
}

// RFC 3931 §7.3: the ICRQ sender may send data once it has sent its ICCN, which it does on
// receiving our ICRP. So by the time the initiator A's session is established (ICRP in,
// ICCN out), both data planes must hold it: checked after every loop round, 20 sessions.
// Before, each end programmed its data plane in a reconcile after the fact, and the peer's
// first frames found no session.
TEST_F(AgentL2tpTest, BothDataPlanesHoldTheSessionBeforeThePeerMaySend) {
  std::vector<v1::PseudowireAssignment> pa, pb;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "q" + std::to_string(i);
    pa.push_back(Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR, id));
    pb.push_back(Dynamic("127.0.0.2", "127.0.0.1", port_, v1::RESPONDER, id));
  }
  Desire(*a_, 1, pa);
  Desire(*b_, 1, pb);
  auto holds = [](Side& s, uint32_t local_session_id) {
    const auto snap = s.dp.List();
    for (const auto& c : snap->sessions) {
      if (c.local_session_id == local_session_id) return true;
    }
    return false;
  };
  int established = 0, missing_a = 0, missing_b = 0;
  auto deadline = base::MonotonicNow() + std::chrono::seconds(10);
  while (established < 20 && base::MonotonicNow() < deadline) {
    loop_->RunOnce(std::chrono::milliseconds(20));
    established = 0;
    for (const auto& [name, s] : a_->cp->sessions()) {
      if (s.state != LinkState::kEstablished) continue;
      ++established;
      missing_a += holds(*a_, s.local_session_id) ? 0 : 1;
      missing_b += holds(*b_, s.peer_session_id) ? 0 : 1;
    }
  }
  EXPECT_EQ(established, 20);
  EXPECT_EQ(missing_a, 0) << "A sent ICCNs before its data plane had the session";
  EXPECT_EQ(missing_b, 0) << "B sent ICRPs before its data plane had the session";
}

// A data packet (T=0, RFC 3931 §4.1.2.1) from an address the agent has no tunnel with reaches
// its listening socket: it is dropped, and now counted as for an unknown session, in the
// metric the data plane's own unknown-session drops go to.
TEST_F(AgentL2tpTest, DataPacketFromAnAddressWithNoTunnelIsCounted) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port_);
  to.sin_addr.s_addr = htonl(0x7f000001);
  const uint8_t data[] = {0x00, 0x03, 0, 0, 0x12, 0x34, 0x56, 0x78, 0xde, 0xad, 0xbe, 0xef};
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(sendto(fd, data, sizeof data, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(sizeof data));
  }
  close(fd);
  ASSERT_TRUE(RunUntil([&] { return a_->cp->stats().data_unknown_session == 3; }));
  double unknown = -1;
  for (const auto& f : a_->agent->CollectMetrics()) {
    if (f.name != "pwire_agent_dataplane_discards_total") continue;
    for (const auto& sample : f.samples) {
      if (sample.labels == decltype(sample.labels){{"reason", "unknown_session"}}) {
        unknown = sample.value;
      }
    }
  }
  EXPECT_EQ(unknown, 3);
  EXPECT_TRUE(a_->cp->tunnels().empty());
}

// A control message the data plane hands over (from its thread) is posted to the loop; when
// the control plane is gone before the loop runs it, it is dropped. Before the lifetime
// token, the posted task ran on the freed control plane (ASan: heap-use-after-free).
TEST_F(AgentL2tpTest, ControlMessagePostedToAControlPlaneThatIsGoneIsDropped) {
  const uint32_t ccid = 7;
  b_->dp.InjectControlPacket(ccid, {0xc8, 0x03, 0x00, 0x0c, 0, 0, 0, ccid, 0, 0, 0, 0});
  b_.reset();
  const auto until = base::MonotonicNow() + std::chrono::milliseconds(100);
  while (base::MonotonicNow() < until) loop_->RunOnce(std::chrono::milliseconds(10));
  EXPECT_TRUE(a_->cp->tunnels().empty());
}

TEST_F(AgentL2tpTest, SessionMatchingNothingDesiredIsRefused) {
  Desire(*a_, 1, {Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR, "p1")});
  Desire(*b_, 1, {Dynamic("127.0.0.2", "127.0.0.1", port_, v1::RESPONDER, "other")});
  ASSERT_TRUE(RunUntil([&] {
    return b_->cp->stats().refused_sessions > 0 && !a_->cp->LastError("pseudowires/p1").empty();
  }));
  EXPECT_TRUE(a_->dp.List()->sessions.empty());
  EXPECT_TRUE(b_->dp.List()->sessions.empty());
  EXPECT_NE(a_->cp->LastError("pseudowires/p1").find("CDN result 5"), std::string::npos)
      << a_->cp->LastError("pseudowires/p1");
}

// A refused ICRQ is not retried at once: the next attempt waits 0.5-1 s (backoff with
// jitter), then the refusal repeats and the wait grows.
TEST_F(AgentL2tpTest, RefusedSessionRetriedWithBackoff) {
  Desire(*a_, 1, {Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR, "p1")});
  Desire(*b_, 1, {Dynamic("127.0.0.2", "127.0.0.1", port_, v1::RESPONDER, "other")});
  ASSERT_TRUE(
      RunUntil([&] { return a_->cp->RetryAt("pseudowires/p1").has_value(); }));  // the CDN arrived
  EXPECT_EQ(b_->cp->stats().refused_sessions, 1u);
  auto at = a_->cp->RetryAt("pseudowires/p1");
  ASSERT_TRUE(at.has_value());
  EXPECT_GE(*at - base::MonotonicNow(), std::chrono::milliseconds(400));
  auto until = base::MonotonicNow() + std::chrono::milliseconds(400);
  RunUntil([&] { return base::MonotonicNow() >= until; });
  EXPECT_EQ(b_->cp->stats().refused_sessions, 1u);
  ASSERT_TRUE(RunUntil([&] {
    auto next = a_->cp->RetryAt("pseudowires/p1");
    return b_->cp->stats().refused_sessions == 2 && next && *next > *at;
  }));
  auto again = a_->cp->RetryAt("pseudowires/p1");
  EXPECT_GE(*again - base::MonotonicNow(), std::chrono::milliseconds(900));  // 1-2 s now
}

// Control message authentication with the class's secret (HMAC-SHA1): the responder answers
// the SCCRQ with the same secret, so both ends verify every message.
TEST_F(AgentL2tpTest, ClassSecretAuthenticatesBothEnds) {
  auto pa = Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR);
  auto pb = Dynamic("127.0.0.2", "127.0.0.1", port_, v1::RESPONDER);
  for (auto* p : {&pa, &pb}) {
    p->mutable_params()->set_control_auth(v1::PseudowireClass::HMAC_SHA1);
    p->mutable_params()->set_control_secret("s3cret");
  }
  Desire(*a_, 1, {pa});
  Desire(*b_, 1, {pb});
  ASSERT_TRUE(RunUntil(
      [&] { return a_->dp.List()->sessions.size() == 1 && b_->dp.List()->sessions.size() == 1; }));
  EXPECT_EQ(a_->cp->stats().auth_failures, 0u);
  EXPECT_EQ(b_->cp->stats().auth_failures, 0u);
  // The responder's data plane holds the session from its ICRP on; the initiator's Circuit
  // Status comes with the ICCN.
  ASSERT_TRUE(RunUntil([&] {
    auto s = b_->cp->sessions().find("pseudowires/p1");
    return s != b_->cp->sessions().end() && s->second.state == LinkState::kEstablished;
  }));
  auto st = b_->agent->BuildStatusReport(true);
  ASSERT_EQ(st.pseudowires_size(), 1);
  EXPECT_TRUE(st.pseudowires(0).status().remote_circuit().active());
}

// The server tells both ends at once, so the initiator's SCCRQ may reach the responder
// before the responder's desired state does. The responder leaves it unanswered (an answer
// would carry no digest: the initiator would count authentication failures and give up),
// and the retransmitted SCCRQ gets in once the desired state is there.
TEST_F(AgentL2tpTest, SccrqBeforeDesiredStateIsAnsweredOnceItArrives) {
  auto pa = Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR);
  auto pb = Dynamic("127.0.0.2", "127.0.0.1", port_, v1::RESPONDER);
  for (auto* p : {&pa, &pb}) {
    p->mutable_params()->set_control_auth(v1::PseudowireClass::HMAC_SHA1);
    p->mutable_params()->set_control_secret("s3cret");
    p->mutable_params()->mutable_retransmit_timeout()->set_nanos(100'000'000);
  }
  Desire(*a_, 1, {pa});
  ASSERT_TRUE(RunUntil([&] { return b_->cp->stats().refused_tunnels > 0; }));
  EXPECT_TRUE(b_->cp->tunnels().empty());
  Desire(*b_, 1, {pb});
  ASSERT_TRUE(RunUntil(
      [&] { return a_->dp.List()->sessions.size() == 1 && b_->dp.List()->sessions.size() == 1; }));
  EXPECT_EQ(a_->cp->stats().auth_failures, 0u);
  EXPECT_EQ(b_->cp->stats().auth_failures, 0u);
  EXPECT_EQ(a_->cp->tunnels().size(), 1u);  // the first SCCRQ's connection, never refused
}

// An SCCRQ from a peer that no desired pseudowire names is left unanswered for a grace of
// 3 s (our desired state may be on its way), then refused with StopCCN result 4 (RFC 3931
// §5.4.2: requester not authorized), which the initiator sees.
TEST_F(AgentL2tpTest, SccrqFromAPeerNothingDesiredNamesIsRefusedAfterTheGrace) {
  Desire(*a_, 1, {Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR, "p1")});
  Desire(*b_, 1, {Dynamic("127.0.0.2", "127.0.0.3", port_, v1::RESPONDER, "other")});
  const auto start = base::MonotonicNow();
  ASSERT_TRUE(RunUntil([&] { return b_->cp->stats().refused_tunnels > 0; }));
  ASSERT_TRUE(RunUntil([&] { return !a_->cp->LastError("pseudowires/p1").empty(); },
                       std::chrono::seconds(15)));
  EXPECT_GE(base::MonotonicNow() - start, std::chrono::seconds(3));
  const std::string error = a_->cp->LastError("pseudowires/p1");
  EXPECT_NE(error.find("result 4"), std::string::npos) << error;
  EXPECT_TRUE(a_->dp.List()->sessions.empty());
  EXPECT_TRUE(b_->dp.List()->sessions.empty());
  ASSERT_TRUE(RunUntil([&] { return b_->cp->tunnels().empty(); }));
}

TEST_F(AgentL2tpTest, ManyPseudowiresShareOneControlConnection) {
  std::vector<v1::PseudowireAssignment> as, bs;
  for (int i = 0; i < 20; ++i) {
    std::string id = "p" + std::to_string(i);
    as.push_back(Dynamic("127.0.0.1", "127.0.0.2", port_, v1::INITIATOR, id));
    bs.push_back(Dynamic("127.0.0.2", "127.0.0.1", port_, v1::RESPONDER, id));
  }
  Desire(*a_, 1, as);
  Desire(*b_, 1, bs);
  ASSERT_TRUE(RunUntil([&] {
    return a_->dp.List()->sessions.size() == 20 && b_->dp.List()->sessions.size() == 20;
  }));
  EXPECT_EQ(a_->cp->tunnels().size(), 1u);
  EXPECT_EQ(b_->cp->tunnels().size(), 1u);
}

// An external peer configured only in the agent's file (external_peers): the "router" b
// initiates a dynamic session to a, authenticated with HMAC-SHA1; a runs it as a server-made
// pseudowire to an external endpoint (expected Host Name, shared secret).
class ExternalPeerTest : public AgentL2tpTest {
 protected:
  // The Router ID a presents: its IPv4 underlay address, 127.0.0.1.
  static constexpr uint32_t kRouterIdOfA = 0x7f000001;

  // Replaces b with a "router" that has one external peer, a, with `hostname` (and, unless 0,
  // `router_id`) expected.
  void MakeRouter(const std::string& hostname, uint32_t router_id = 0) {
    b_.reset();
    b_ = std::make_unique<Side>(*loop_, "127.0.0.2", port_, [&](AgentConfig& c) {
      c.agent_id = "router";
      ExternalPeer e;
      e.name = "to-a";
      e.peer_address = "127.0.0.1";
      e.hostname = hostname;
      e.router_id = router_id;
      e.remote_end_id = "ext-1";
      e.udp_port = port_;
      e.secret = "r0uter-secret";
      e.digest = "sha1";
      e.cookie_length = 4;
      e.session_ifname = "pw-ext";
      c.external_peers.push_back(e);
    });
    ASSERT_TRUE(b_->cp->Listen().ok());
    ASSERT_TRUE(b_->agent->Start().ok());
  }
  // a's side: what pwire-server sends for an endpoint whose other end is an ExternalPeer.
  v1::PseudowireAssignment ToRouter() {
    auto p = Dynamic("127.0.0.1", "127.0.0.2", port_, v1::RESPONDER, "ext-1");
    p.mutable_peer()->set_external(true);
    p.mutable_peer()->set_hostname("router");
    p.mutable_params()->set_control_auth(v1::PseudowireClass::HMAC_SHA1);
    p.set_shared_secret("r0uter-secret");
    return p;
  }
};

TEST_F(ExternalPeerTest, ConfiguredExternalPeerOpensAuthenticatedDynamicSession) {
  MakeRouter("agent-127.0.0.1", kRouterIdOfA);
  Desire(*a_, 1, {ToRouter()});
  ASSERT_TRUE(RunUntil(
      [&] { return a_->dp.List()->sessions.size() == 1 && b_->dp.List()->sessions.size() == 1; }));
  auto sa = a_->dp.List()->sessions[0];
  auto sb = b_->dp.List()->sessions[0];
  EXPECT_EQ(sa.local_session_id, sb.peer_session_id);
  EXPECT_EQ(sb.local_session_id, sa.peer_session_id);
  EXPECT_EQ(sb.cookie.size(), 4u);  // the router's entry: cookie_length 4
  EXPECT_EQ(sb.ifname, "pw-ext");
  EXPECT_EQ(a_->cp->stats().auth_failures, 0u);
  EXPECT_EQ(b_->cp->stats().auth_failures, 0u);
  ASSERT_EQ(b_->cp->tunnels().size(), 1u);
  EXPECT_FALSE(b_->cp->tunnels().begin()->second.peer_initiated);  // the router opened it
}

TEST_F(ExternalPeerTest, PeerWithAnotherHostNameIsRefused) {
  MakeRouter("not-agent-a");
  Desire(*a_, 1, {ToRouter()});
  ASSERT_TRUE(RunUntil([&] { return b_->cp->stats().refused_tunnels > 0; }));
  EXPECT_NE(b_->cp->LastError("local/to-a").find("peer host name 'agent-127.0.0.1'"),
            std::string::npos)
      << b_->cp->LastError("local/to-a");
  // Closed, and not tried again at once (backoff after the failure).
  ASSERT_TRUE(RunUntil([&] { return b_->cp->tunnels().empty(); }));
  EXPECT_TRUE(
      b_->cp->RetryAt("127.0.0.2->127.0.0.1/udp:" + std::to_string(port_) + " class=local/external")
          .has_value());
  EXPECT_TRUE(a_->dp.List()->sessions.empty());
  EXPECT_TRUE(b_->dp.List()->sessions.empty());
}

// RFC 3931 §5.4.3: the router expects another Router ID than a presents, so it refuses the
// control connection (StopCCN result 4) although the Host Name matches.
TEST_F(ExternalPeerTest, PeerWithAnotherRouterIdIsRefused) {
  MakeRouter("agent-127.0.0.1", 0x0a090909);
  Desire(*a_, 1, {ToRouter()});
  ASSERT_TRUE(RunUntil([&] { return b_->cp->stats().refused_tunnels > 0; }));
  EXPECT_NE(b_->cp->LastError("local/to-a")
                .find("peer router id " + std::to_string(kRouterIdOfA) + ", expected " +
                      std::to_string(0x0a090909)),
            std::string::npos)
      << b_->cp->LastError("local/to-a");
  ASSERT_TRUE(RunUntil([&] { return b_->cp->tunnels().empty(); }));
  EXPECT_TRUE(a_->dp.List()->sessions.empty());
  EXPECT_TRUE(b_->dp.List()->sessions.empty());
}

}  // namespace
}  // namespace pwire::agent
