// Whole agents against each other on virtual time (tests/agent/virtual_net.h): each Agent with
// its real L2tpControlPlane and a FakeDataplane, joined by an in-memory network; no sockets,
// no sleeps. Serverless agents configured by their file's external_peers, as a router would
// be: pseudowires come up.
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

}  // namespace
}  // namespace pwire::agent
