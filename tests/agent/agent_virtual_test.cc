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

}  // namespace
}  // namespace pwire::agent
