// Whole agents against each other on virtual time (tests/agent/virtual_net.h): each Agent with
// its real L2tpControlPlane and a FakeDataplane, joined by an in-memory network; no sockets,
// no sleeps. Serverless agents configured by their file's external_peers, as a router would
// be: pseudowires come up; a stopping agent sends StopCCN (RFC 3931 §7.2) and waits for its
// acknowledgement within a bound; a reloaded file tears down what it no longer names and
// leaves the rest; IPv6-only agents present distinct non-zero Router IDs (§5.4.3); each
// direction carries the sublayer and sequencing its receiver asked for (§5.4.4).
#include <memory>
#include <string>
#include <vector>

#include "agent/core/agent.h"
#include "agent/core/l2tp_control.h"
#include "agent/dataplane/fake_dataplane.h"
#include "gtest/gtest.h"
#include "tests/agent/virtual_net.h"

namespace pwire::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_support::ControlMessages;
using test_support::VirtualDispatcher;
using test_support::VirtualNetwork;

ExternalPeer Peer(const std::string& name, const std::string& peer, bool initiator,
                  const std::string& remote_end_id) {
  ExternalPeer e;
  e.name = name;
  e.peer_address = peer;
  e.initiator = initiator;
  e.remote_end_id = remote_end_id;
  e.hello_interval_s = 10;
  e.session_ifname = "pw-" + name;
  return e;
}

AgentConfig Serverless(const std::string& id, const std::string& addr,
                       std::vector<ExternalPeer> peers) {
  AgentConfig c;
  c.agent_id = id;
  c.server = "none";
  c.underlay = {addr};
  c.external_peers = std::move(peers);
  return c;
}

struct Side {
  Side(VirtualDispatcher& d, VirtualNetwork& net, AgentConfig c, uint64_t seed)
      : cfg(std::move(c)) {
    cp = std::make_unique<L2tpControlPlane>(d, cfg, dp, std::make_unique<base::SeededRandom>(seed),
                                            net);
    agent = std::make_unique<Agent>(d, cfg, dp, *cp);
  }
  absl::Status Start() {
    if (auto s = cp->Listen(); !s.ok()) return s;
    return agent->Start();
  }
  size_t DataplaneSessions() { return dp.List()->sessions.size(); }
  AgentConfig cfg;
  dataplane::FakeDataplane dp;
  std::unique_ptr<L2tpControlPlane> cp;
  std::unique_ptr<Agent> agent;
};

class AgentVirtualTest : public ::testing::Test {
 protected:
  Side& Add(AgentConfig c) {
    sides_.push_back(std::make_unique<Side>(d_, net_, std::move(c), sides_.size() + 1));
    EXPECT_TRUE(sides_.back()->Start().ok());
    return *sides_.back();
  }
  bool Run(const std::function<bool()>& done, base::Duration limit = seconds(5)) {
    return d_.RunUntil(done, limit);
  }
  // The StopCCNs sent from `from` (an underlay address), with their Result Code.
  std::vector<uint16_t> StopCcnResultsFrom(const std::string& from) {
    std::vector<uint16_t> out;
    for (const auto& [d, m] : ControlMessages(net_.sent(), l2tp::MessageType::kStopccn)) {
      if (dataplane::IpAddress::Parse(from)->bytes != d.from.ip) continue;
      auto r = m.Get<l2tp::avp::ResultCode>();
      out.push_back(r ? r->result : 0);
    }
    return out;
  }

  VirtualDispatcher d_;
  VirtualNetwork net_{d_};
  std::vector<std::unique_ptr<Side>> sides_;
};

TEST_F(AgentVirtualTest, ExternalPeersComeUpOnVirtualTime) {
  Side& a = Add(Serverless("a", "10.0.0.1", {Peer("x", "10.0.0.2", true, "x")}));
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1 && b.DataplaneSessions() == 1; }));
  EXPECT_LT(d_.Now() - (base::Instant{} + std::chrono::hours(1)), seconds(1));
  auto sa = a.dp.List()->sessions[0];
  auto sb = b.dp.List()->sessions[0];
  EXPECT_EQ(sa.local_session_id, sb.peer_session_id);
  EXPECT_EQ(sa.peer_session_id, sb.local_session_id);
}

// RFC 3931 §5.4.4: a receiver of a non-zero L2-Specific Sublayer AVP MUST include that
// sublayer in its outgoing data (none without the AVP) and sequence it when the Data
// Sequencing AVP asks; §4.6: the numbers ride in that sublayer. a asks for no sublayer
// (Cisco's default); b, by its external_peers entry, for the default sublayer and sequencing.
// In both roles each data plane sends what the other asked for and expects what it asked for.
TEST_F(AgentVirtualTest, EachDirectionCarriesWhatItsReceiverAskedForInBothRoles) {
  for (bool a_initiates : {true, false}) {
    SCOPED_TRACE(a_initiates ? "a initiates" : "b initiates");
    const std::string net = a_initiates ? "10.0.1." : "10.0.2.";
    ExternalPeer pa = Peer("x", net + "2", a_initiates, "x");
    pa.default_sublayer = false;
    ExternalPeer pb = Peer("x", net + "1", !a_initiates, "x");
    pb.data_sequencing = true;
    Side& a = Add(Serverless("a", net + "1", {pa}));
    Side& b = Add(Serverless("b", net + "2", {pb}));
    ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1 && b.DataplaneSessions() == 1; }));
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
  }
}

// RFC 3931 §7.2: "In the event of a local termination, the originator MUST send a StopCCN";
// §5.4.2 StopCCN result 6: requester is being shut down. The stop completes once the StopCCN
// is acknowledged (§4.2: a ZLB), far within its bound, and the peer has cleared the
// connection and its session (§6.4).
TEST_F(AgentVirtualTest, StopSendsStopCcnResult6AndEndsOnItsAcknowledgement) {
  Side& a = Add(Serverless("a", "10.0.0.1", {Peer("x", "10.0.0.2", true, "x")}));
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1 && b.DataplaneSessions() == 1; }));
  const base::Instant stop_at = d_.Now();
  std::optional<base::Instant> done_at;
  a.agent->Stop(seconds(2), [&] { done_at = d_.Now(); });
  ASSERT_TRUE(Run([&] { return done_at.has_value(); }, seconds(5)));
  EXPECT_EQ(StopCcnResultsFrom("10.0.0.1"), std::vector<uint16_t>{6});
  EXPECT_LT(*done_at - stop_at, milliseconds(100)) << "waited past the acknowledgement";
  EXPECT_TRUE(b.cp->tunnels().empty());
  EXPECT_TRUE(b.cp->sessions().empty());
  EXPECT_NE(b.cp->LastError("local/x").find("control connection closed"), std::string::npos)
      << b.cp->LastError("local/x");
}

// The peer is gone: the StopCCN is never acknowledged, and the stop ends at its bound.
TEST_F(AgentVirtualTest, StopWithAnUnreachablePeerEndsAtItsBound) {
  Side& a = Add(Serverless("a", "10.0.0.1", {Peer("x", "10.0.0.2", true, "x")}));
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1 && b.DataplaneSessions() == 1; }));
  net_.SetDown(VirtualNetwork::Addr(*dataplane::IpAddress::Parse("10.0.0.2"), 0), true);
  const base::Instant stop_at = d_.Now();
  std::optional<base::Instant> done_at;
  a.agent->Stop(seconds(2), [&] { done_at = d_.Now(); });
  ASSERT_TRUE(Run([&] { return done_at.has_value(); }, seconds(5)));
  EXPECT_EQ(*done_at - stop_at, seconds(2));
  EXPECT_FALSE(StopCcnResultsFrom("10.0.0.1").empty());
}

// While it waits for its StopCCNs' acknowledgements a stopping agent opens nothing new: an
// SCCRQ from a peer it would otherwise accept is left unanswered (no SCCRP).
TEST_F(AgentVirtualTest, StoppingAgentAnswersNoNewSccrq) {
  Side& a = Add(Serverless("a", "10.0.0.1",
                           {Peer("x", "10.0.0.2", true, "x"), Peer("y", "10.0.0.3", false, "y")}));
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1 && b.DataplaneSessions() == 1; }));
  net_.SetDown(VirtualNetwork::Addr(*dataplane::IpAddress::Parse("10.0.0.2"), 0), true);
  const base::Instant stop_at = d_.Now();
  bool done = false;
  a.agent->Stop(seconds(2), [&] { done = true; });
  Side& c = Add(Serverless("c", "10.0.0.3", {Peer("y", "10.0.0.1", true, "y")}));
  ASSERT_TRUE(Run([&] { return done; }, seconds(3)));
  EXPECT_FALSE(ControlMessages(net_.sent(), l2tp::MessageType::kSccrq).empty());
  for (const auto& [d, m] : ControlMessages(net_.sent(), l2tp::MessageType::kSccrp)) {
    EXPECT_FALSE(d.at >= stop_at && d.from.ip == dataplane::IpAddress::Parse("10.0.0.1")->bytes)
        << "a stopping agent answered an SCCRQ";
  }
  EXPECT_TRUE(c.cp->sessions().empty());
}

// stop_teardown: false (an upgrade restart): nothing is sent, the stop ends at once.
TEST_F(AgentVirtualTest, StopWithoutTeardownSendsNothing) {
  AgentConfig ca = Serverless("a", "10.0.0.1", {Peer("x", "10.0.0.2", true, "x")});
  ca.stop_teardown = false;
  Side& a = Add(ca);
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1 && b.DataplaneSessions() == 1; }));
  bool done = false;
  a.agent->Stop(seconds(2), [&] { done = true; });
  ASSERT_TRUE(Run([&] { return done; }, milliseconds(1)));
  d_.RunFor(milliseconds(100));
  EXPECT_TRUE(StopCcnResultsFrom("10.0.0.1").empty());
  EXPECT_EQ(b.cp->tunnels().size(), 1u);
}

// A reloaded file (SIGHUP) that no longer names the entry to one peer: that control
// connection gets a StopCCN (RFC 3931 §7.2); the entry to the other peer is left alone (the
// same session, nothing but keepalives to it); a new entry comes up.
TEST_F(AgentVirtualTest, ReloadTearsDownRemovedEntriesLeavesTheOthersAndAddsNewOnes) {
  AgentConfig ca = Serverless("a", "10.0.0.1",
                              {Peer("x", "10.0.0.2", true, "x"), Peer("y", "10.0.0.3", true, "y")});
  Side& a = Add(ca);
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  Side& c = Add(Serverless("c", "10.0.0.3",
                           {Peer("y", "10.0.0.1", false, "y"), Peer("z", "10.0.0.1", false, "z")}));
  ASSERT_TRUE(Run([&] {
    return a.DataplaneSessions() == 2 && b.DataplaneSessions() == 1 && c.DataplaneSessions() == 1;
  }));
  const auto b_session = b.dp.List()->sessions[0];

  AgentConfig fewer = ca;
  fewer.external_peers = {ca.external_peers[0]};
  ASSERT_TRUE(a.agent->Reload(fewer).ok());
  ASSERT_TRUE(Run([&] { return c.cp->tunnels().empty() && c.DataplaneSessions() == 0; }));
  EXPECT_EQ(StopCcnResultsFrom("10.0.0.1"), std::vector<uint16_t>{1});  // §5.4.2: general request
  EXPECT_TRUE(ControlMessages(net_.sent(), l2tp::MessageType::kCdn).size() <= 1);
  d_.RunFor(seconds(1));
  ASSERT_EQ(b.DataplaneSessions(), 1u);
  EXPECT_EQ(b.dp.List()->sessions[0].local_session_id, b_session.local_session_id);
  EXPECT_EQ(b.dp.List()->sessions[0].peer_session_id, b_session.peer_session_id);

  AgentConfig more = fewer;
  more.external_peers.push_back(Peer("z", "10.0.0.3", true, "z"));
  ASSERT_TRUE(a.agent->Reload(more).ok());
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 2 && c.DataplaneSessions() == 1; }));
  EXPECT_EQ(b.dp.List()->sessions[0].local_session_id, b_session.local_session_id);
  for (const auto& [d, m] : ControlMessages(net_.sent(), l2tp::MessageType::kStopccn)) {
    EXPECT_NE(d.to.ip, dataplane::IpAddress::Parse("10.0.0.2")->bytes) << "B was not touched";
  }
}

// A static pseudowire (local_pseudowires) removed from the file goes from the data plane
// (there is no control connection to close); the dynamic one beside it stays.
TEST_F(AgentVirtualTest, ReloadRemovesARemovedStaticPseudowire) {
  AgentConfig ca = Serverless("a", "10.0.0.1", {Peer("x", "10.0.0.2", true, "x")});
  LocalPseudowire st;
  st.name = "st";
  st.peer_address = "10.0.0.9";
  st.local_session_id = 7;
  st.remote_session_id = 8;
  st.session_ifname = "pw-st";
  ca.local_pseudowires = {st};
  Side& a = Add(ca);
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 2 && b.DataplaneSessions() == 1; }));
  AgentConfig without = ca;
  without.local_pseudowires.clear();
  ASSERT_TRUE(a.agent->Reload(without).ok());
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1; }));
  EXPECT_NE(a.dp.List()->sessions[0].local_session_id, 7u);
  EXPECT_EQ(b.DataplaneSessions(), 1u);
  EXPECT_TRUE(StopCcnResultsFrom("10.0.0.1").empty());
}

// A file that does not convert is refused as a whole: nothing changes.
TEST_F(AgentVirtualTest, ReloadOfABadFileChangesNothing) {
  AgentConfig ca = Serverless("a", "10.0.0.1", {Peer("x", "10.0.0.2", true, "x")});
  Side& a = Add(ca);
  Side& b = Add(Serverless("b", "10.0.0.2", {Peer("x", "10.0.0.1", false, "x")}));
  ASSERT_TRUE(Run([&] { return a.DataplaneSessions() == 1 && b.DataplaneSessions() == 1; }));
  AgentConfig bad = ca;
  bad.external_peers[0].peer_address = "not-an-address";
  EXPECT_FALSE(a.agent->Reload(bad).ok());
  d_.RunFor(seconds(1));
  EXPECT_EQ(a.DataplaneSessions(), 1u);
  EXPECT_TRUE(StopCcnResultsFrom("10.0.0.1").empty());
}

// RFC 3931 §5.4.3: the Router ID is unique per LCCE. IPv6-only agents have no IPv4 address
// to take it from: each derives a distinct non-zero one (before: both sent 0), or presents the
// one configured.
TEST_F(AgentVirtualTest, Ipv6OnlyAgentsPresentDistinctNonZeroRouterIds) {
  Add(Serverless("a", "fd00::1", {Peer("x", "fd00::2", true, "x")}));
  AgentConfig cb = Serverless("b", "fd00::2", {Peer("x", "fd00::1", false, "x")});
  Side& b = Add(cb);
  ASSERT_TRUE(Run([&] { return b.DataplaneSessions() == 1; }));
  auto sccrq = ControlMessages(net_.sent(), l2tp::MessageType::kSccrq);
  auto sccrp = ControlMessages(net_.sent(), l2tp::MessageType::kSccrp);
  ASSERT_FALSE(sccrq.empty());
  ASSERT_FALSE(sccrp.empty());
  auto ra = sccrq[0].second.Get<l2tp::avp::RouterId>();
  auto rb = sccrp[0].second.Get<l2tp::avp::RouterId>();
  ASSERT_TRUE(ra.has_value());
  ASSERT_TRUE(rb.has_value());
  EXPECT_NE(*ra, 0u);
  EXPECT_NE(*rb, 0u);
  EXPECT_NE(*ra, *rb);
  EXPECT_EQ(*ra, LocalRouterId(sides_[0]->cfg));  // stable: a function of the agent id
}

TEST_F(AgentVirtualTest, ConfiguredRouterIdIsPresented) {
  AgentConfig ca = Serverless("a", "fd00::1", {Peer("x", "fd00::2", true, "x")});
  ca.router_id = 0x0a0b0c0d;
  Add(ca);
  Side& b = Add(Serverless("b", "fd00::2", {Peer("x", "fd00::1", false, "x")}));
  ASSERT_TRUE(Run([&] { return b.DataplaneSessions() == 1; }));
  auto sccrq = ControlMessages(net_.sent(), l2tp::MessageType::kSccrq);
  ASSERT_FALSE(sccrq.empty());
  EXPECT_EQ(sccrq[0].second.Get<l2tp::avp::RouterId>(), 0x0a0b0c0du);
}

}  // namespace
}  // namespace pwire::agent
