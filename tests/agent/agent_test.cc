// Agent on a real event loop with FakeDataplane and NullControlPlane: desired state versions
// are acked or nacked, static pseudowires are programmed and removed, status and counters are
// reported, and data plane state that already exists is adopted, not recreated.
#include "agent/core/agent.h"

#include "agent/dataplane/fake_dataplane.h"
#include "gtest/gtest.h"

namespace pwire::agent {
namespace {

v1::PseudowireAssignment StaticAssignment(std::string id, uint32_t lsid, uint32_t rsid) {
  v1::PseudowireAssignment a;
  a.set_name("pseudowires/" + id);
  a.set_generation(1);
  a.set_type(v1::PseudowireSpec::ETHERNET);
  a.set_mode(v1::PseudowireSpec::STATIC);
  a.set_local_address("10.0.0.1");
  a.mutable_peer()->set_address("10.0.0.2");
  a.mutable_peer()->set_udp_port(1701);
  a.set_local_session_id(lsid);
  a.set_remote_session_id(rsid);
  a.set_local_cookie(std::string("\x01\x02\x03\x04", 4));
  a.set_remote_cookie(std::string("\x05\x06\x07\x08", 4));
  a.mutable_circuit()->set_bridge("br0");
  a.mutable_circuit()->set_pw_interface_name("pw-" + id);
  return a;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_ = *EventLoop::Create();
    cfg_.agent_id = "site-a";
    cfg_.underlay = {"10.0.0.1"};
    agent_ = std::make_unique<Agent>(*loop_, cfg_, dp_, cp_);
    agent_->SetSender([this](v1::AgentMessage m) {
      sent_.push_back(std::move(m));
      return true;
    });
    ASSERT_TRUE(agent_->Start().ok());
  }

  std::vector<v1::AgentMessage> Sent(v1::AgentMessage::MessageCase c) {
    std::vector<v1::AgentMessage> out;
    for (const auto& m : sent_) {
      if (m.message_case() == c) out.push_back(m);
    }
    return out;
  }

  template <typename F>
  bool RunUntil(F done) {
    auto deadline = base::MonotonicNow() + std::chrono::seconds(3);
    while (!done() && base::MonotonicNow() < deadline)
      loop_->RunOnce(std::chrono::milliseconds(20));
    return done();
  }

  std::unique_ptr<EventLoop> loop_;
  AgentConfig cfg_;
  dataplane::FakeDataplane dp_;
  NullControlPlane cp_;
  std::unique_ptr<Agent> agent_;
  std::vector<v1::AgentMessage> sent_;
};

TEST_F(AgentTest, StaticPseudowireProgrammedAckedAndReported) {
  agent_->OnWelcome(v1::Welcome());
  v1::DesiredState d;
  d.set_version(7);
  *d.add_pseudowires() = StaticAssignment("p1", 100, 200);
  agent_->OnDesiredState(d);

  auto acks = Sent(v1::AgentMessage::kAck);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].ack().version(), 7u);
  auto snap = *dp_.List();
  ASSERT_EQ(snap.tunnels.size(), 1u);
  ASSERT_EQ(snap.sessions.size(), 1u);
  EXPECT_EQ(snap.sessions[0].local_session_id, 100u);
  EXPECT_EQ(snap.sessions[0].peer_session_id, 200u);
  EXPECT_EQ(snap.sessions[0].peer_cookie, (std::vector<uint8_t>{5, 6, 7, 8}));
  EXPECT_EQ(snap.sessions[0].attach.name, "br0");

  // A status change goes out within a second.
  ASSERT_TRUE(RunUntil([&] {
    for (const auto& m : Sent(v1::AgentMessage::kStatus)) {
      for (const auto& p : m.status().pseudowires()) {
        if (p.name() == "pseudowires/p1" && p.status().session_state() == v1::SESSION_STATIC) {
          return true;
        }
      }
    }
    return false;
  }));
  EXPECT_EQ(agent_->applied_version(), 7u);
}

TEST_F(AgentTest, DeletedPseudowireRemovedFromDataplane) {
  v1::DesiredState d;
  d.set_version(1);
  *d.add_pseudowires() = StaticAssignment("p1", 100, 200);
  *d.add_pseudowires() = StaticAssignment("p2", 101, 201);
  agent_->OnDesiredState(d);
  EXPECT_EQ(dp_.List()->sessions.size(), 2u);
  d.set_version(2);
  d.mutable_pseudowires()->DeleteSubrange(0, 1);
  agent_->OnDesiredState(d);
  auto snap = *dp_.List();
  ASSERT_EQ(snap.sessions.size(), 1u);
  EXPECT_EQ(snap.sessions[0].local_session_id, 101u);
  d.set_version(3);
  d.clear_pseudowires();
  agent_->OnDesiredState(d);
  snap = *dp_.List();
  EXPECT_TRUE(snap.sessions.empty());
  EXPECT_TRUE(snap.tunnels.empty());
}

TEST_F(AgentTest, InvalidAssignmentNackedOthersApplied) {
  v1::DesiredState d;
  d.set_version(4);
  *d.add_pseudowires() = StaticAssignment("good", 100, 200);
  auto bad = StaticAssignment("bad", 101, 201);
  bad.set_local_address("not-an-address");
  *d.add_pseudowires() = bad;
  agent_->OnDesiredState(d);
  auto nacks = Sent(v1::AgentMessage::kNack);
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].nack().version(), 4u);
  ASSERT_EQ(nacks[0].nack().errors_size(), 1);
  EXPECT_EQ(nacks[0].nack().errors(0).name(), "pseudowires/bad");
  EXPECT_NE(nacks[0].nack().errors(0).message().find("local_address"), std::string::npos);
  EXPECT_EQ(dp_.List()->sessions.size(), 1u);
}

TEST_F(AgentTest, ExistingDataplaneStateAdoptedNotRecreated) {
  v1::DesiredState d;
  d.set_version(1);
  *d.add_pseudowires() = StaticAssignment("p1", 100, 200);
  agent_->OnDesiredState(d);
  int before = dp_.mutations();
  // A second agent over the same data plane (a restart over kernel state) changes nothing.
  Agent again(*loop_, cfg_, dp_, cp_);
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(dp_.mutations(), before);  // Nothing removed before the server has spoken.
  again.OnDesiredState(d);
  EXPECT_EQ(dp_.mutations(), before);
}

TEST_F(AgentTest, FailedProgrammingRetriedAndErrorReported) {
  dp_.FailNextMutation(absl::UnavailableError("tap busy"));
  v1::DesiredState d;
  d.set_version(1);
  *d.add_pseudowires() = StaticAssignment("p1", 100, 200);
  agent_->OnDesiredState(d);
  // The periodic reconcile retries; programming succeeds on a later round.
  ASSERT_TRUE(RunUntil([&] { return dp_.List()->sessions.size() == 1; }));
}

TEST_F(AgentTest, CountersReportedPerPseudowire) {
  v1::DesiredState d;
  d.set_version(1);
  *d.add_pseudowires() = StaticAssignment("p1", 100, 200);
  agent_->OnDesiredState(d);
  auto snap = *dp_.List();
  dataplane::Stats st;
  st.rx_packets = 5;
  st.rx_cookie_discards = 2;
  dp_.SetSessionStats(snap.sessions[0].tunnel_id, 100, st);
  auto r = agent_->BuildCountersReport();
  ASSERT_EQ(r.pseudowires_size(), 1);
  EXPECT_EQ(r.pseudowires(0).name(), "pseudowires/p1");
  EXPECT_EQ(r.pseudowires(0).counters().rx_packets(), 5u);
  EXPECT_EQ(r.pseudowires(0).counters().rx_cookie_discards(), 2u);
  auto text = RenderPrometheus(agent_->CollectMetrics());
  EXPECT_NE(text.find("pwire_agent_session_drops_total{pseudowire=\"pseudowires/p1\","
                      "reason=\"cookie\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pwire_agent_sessions{state=\"static\"} 1"), std::string::npos);
}

// Work the Agent handed to the loop (a posted reconcile, the report timer) and the data
// plane's event handler may outlive it: once the Agent is gone they do nothing. Before the
// token, they ran on the freed Agent (ASan: heap-use-after-free).
TEST_F(AgentTest, WorkLeftOnTheLoopDoesNothingOnceTheAgentIsGone) {
  agent_->OnWelcome(v1::Welcome());
  v1::DesiredState d;
  d.set_version(1);
  *d.add_pseudowires() = StaticAssignment("p1", 100, 200);
  agent_->OnDesiredState(d);  // programs p1 and schedules a status report
  ASSERT_EQ(dp_.List()->sessions.size(), 1u);
  const uint32_t tunnel = dp_.List()->sessions[0].tunnel_id;
  // A reconcile would program p1 again: none may run once the Agent is gone.
  dp_.RemoveBehindBack(tunnel, 100);
  dataplane::Event drift;
  drift.tunnel_id = tunnel;
  drift.session_id = 100;
  drift.detail = "session 100 removed";
  dp_.InjectEvent(drift);  // posts a reconcile
  agent_->RequestReconcile();
  agent_.reset();
  dp_.InjectEvent(drift);  // the handler, called after the Agent is gone
  const size_t sent = sent_.size();
  const auto until = base::MonotonicNow() + std::chrono::milliseconds(300);
  while (base::MonotonicNow() < until) loop_->RunOnce(std::chrono::milliseconds(20));
  EXPECT_TRUE(dp_.List()->sessions.empty());
  EXPECT_EQ(sent_.size(), sent);  // no status report either
}

TEST_F(AgentTest, HelloCarriesIdentityCapabilitiesAndAppliedVersion) {
  v1::DesiredState d;
  d.set_version(42);
  agent_->OnDesiredState(d);
  auto h = agent_->MakeHello();
  EXPECT_EQ(h.agent_id(), "site-a");
  EXPECT_EQ(h.applied_version(), 42u);
  EXPECT_EQ(h.router_id(), 0x0a000001u);
  ASSERT_EQ(h.capabilities().data_planes_size(), 1);
  EXPECT_EQ(h.capabilities().data_planes(0), v1::DATA_PLANE_FAKE);
}

}  // namespace
}  // namespace pwire::agent
