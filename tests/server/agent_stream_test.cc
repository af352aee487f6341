// AgentService.Connect over real gRPC: Hello, Welcome, versioned desired state pushed on
// changes, ack/nack, status reports, replacement of a second stream, staleness.
#include "gmock/gmock.h"
#include "tests/server/grpc_fixture.h"

namespace pwire::server {
namespace {

using grpc::ClientContext;
using pwire::v1::AgentMessage;
using pwire::v1::ServerMessage;
using ::testing::HasSubstr;

class AgentStreamTest : public testing::GrpcTest {
 protected:
  using Stream = grpc::ClientReaderWriter<AgentMessage, ServerMessage>;

  std::unique_ptr<Stream> Connect(ClientContext* ctx, const std::string& id,
                                  const std::string& address) {
    auto stream = agent_stub_->Connect(ctx);
    AgentMessage hello;
    hello.mutable_hello()->set_agent_id(id);
    hello.mutable_hello()->add_underlay_addresses(address);
    hello.mutable_hello()->set_software_version("test");
    EXPECT_TRUE(stream->Write(hello));
    return stream;
  }

  pwire::v1::Agent GetAgent(const std::string& id) {
    ClientContext ctx;
    pwire::v1::GetAgentRequest req;
    req.set_name(id);
    pwire::v1::Agent a;
    EXPECT_TRUE(stub_->GetAgent(&ctx, req, &a).ok());
    return a;
  }
};

TEST_F(AgentStreamTest, HelloWelcomeDesiredStateAckAndPushOnChange) {
  ClientContext ctx;
  auto stream = Connect(&ctx, "edge-a", "198.51.100.1");
  ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_welcome());
  EXPECT_EQ(msg.welcome().agent(), "agents/edge-a");
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_desired_state());
  EXPECT_EQ(msg.desired_state().pseudowires_size(), 0);
  uint64_t v1 = msg.desired_state().version();
  AgentMessage ack;
  ack.mutable_ack()->set_version(v1);
  ASSERT_TRUE(stream->Write(ack));
  EXPECT_TRUE(Eventually([&] { return GetAgent("edge-a").acked_version() == v1; }));
  EXPECT_EQ(GetAgent("edge-a").connection_state(), pwire::v1::Agent::CONNECTED);

  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1")).ok());
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_desired_state());
  EXPECT_GT(msg.desired_state().version(), v1);
  ASSERT_EQ(msg.desired_state().pseudowires_size(), 1);
  const auto& a = msg.desired_state().pseudowires(0);
  EXPECT_EQ(a.name(), "pseudowires/p1");
  EXPECT_EQ(a.local_address(), "198.51.100.1");
  EXPECT_EQ(a.role(), pwire::v1::INITIATOR);

  AgentMessage nack;
  nack.mutable_nack()->set_version(msg.desired_state().version());
  nack.mutable_nack()->set_error_detail("eth1 missing");
  ASSERT_TRUE(stream->Write(nack));
  EXPECT_TRUE(Eventually([&] { return !GetAgent("edge-a").last_nack().empty(); }));
  EXPECT_THAT(GetAgent("edge-a").last_nack(), HasSubstr("eth1 missing"));

  AgentMessage status;
  status.mutable_status()->set_full(true);
  auto* r = status.mutable_status()->add_pseudowires();
  r->set_name("pseudowires/p1");
  r->mutable_status()->set_session_state(pwire::v1::SESSION_WAIT_REPLY);
  r->mutable_status()->set_observed_generation(1);
  ASSERT_TRUE(stream->Write(status));
  EXPECT_TRUE(Eventually([&] {
    ClientContext c;
    pwire::v1::GetPseudowireRequest get;
    get.set_name("p1");
    pwire::v1::Pseudowire pw;
    return stub_->GetPseudowire(&c, get, &pw).ok() &&
           pw.status().endpoints(0).session_state() == pwire::v1::SESSION_WAIT_REPLY;
  }));

  ClientContext del_ctx;  // connected agents cannot be forgotten
  pwire::v1::DeleteAgentRequest del;
  del.set_name("edge-a");
  google::protobuf::Empty empty;
  EXPECT_EQ(stub_->DeleteAgent(&del_ctx, del, &empty).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  stream->WritesDone();
  while (stream->Read(&msg)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(Eventually(
      [&] { return GetAgent("edge-a").connection_state() == pwire::v1::Agent::DISCONNECTED; }));
  ClientContext del_ctx2;  // still used by p1: refused, naming it
  grpc::Status refused = stub_->DeleteAgent(&del_ctx2, del, &empty);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("pseudowires/p1"));
  EXPECT_THAT(refused.error_message(), HasSubstr("force"));
  ClientContext del_ctx3;
  del.set_force(true);
  EXPECT_TRUE(stub_->DeleteAgent(&del_ctx3, del, &empty).ok());
}

TEST_F(AgentStreamTest, DeleteAgentWithoutPseudowiresNeedsNoForce) {
  ClientContext ctx;
  auto stream = Connect(&ctx, "edge-c", "198.51.100.3");
  ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  stream->WritesDone();
  while (stream->Read(&msg)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(Eventually(
      [&] { return GetAgent("edge-c").connection_state() == pwire::v1::Agent::DISCONNECTED; }));
  ClientContext del_ctx;
  pwire::v1::DeleteAgentRequest del;
  del.set_name("edge-c");
  google::protobuf::Empty empty;
  EXPECT_TRUE(stub_->DeleteAgent(&del_ctx, del, &empty).ok());
}

TEST_F(AgentStreamTest, ReconnectWithAppliedVersionIsNotSentItAgain) {
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1")).ok());
  uint64_t v1 = 0;
  {
    ClientContext ctx;
    auto stream = Connect(&ctx, "edge-a", "198.51.100.1");
    ServerMessage msg;
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_welcome());
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_desired_state());
    ASSERT_EQ(msg.desired_state().pseudowires_size(), 1);
    v1 = msg.desired_state().version();
    stream->WritesDone();
    while (stream->Read(&msg)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  EXPECT_TRUE(Eventually(
      [&] { return GetAgent("edge-a").connection_state() == pwire::v1::Agent::DISCONNECTED; }));

  ClientContext ctx;
  auto stream = agent_stub_->Connect(&ctx);
  AgentMessage hello;
  hello.mutable_hello()->set_agent_id("edge-a");
  hello.mutable_hello()->add_underlay_addresses("198.51.100.1");
  hello.mutable_hello()->set_applied_version(v1);
  ASSERT_TRUE(stream->Write(hello));
  ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_welcome());
  EXPECT_TRUE(Eventually([&] { return GetAgent("edge-a").acked_version() == v1; }));
  // Nothing is resent: the next message is the state after a real change.
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p2", "edge-a", "edge-b", "eth2")).ok());
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_desired_state());
  EXPECT_GT(msg.desired_state().version(), v1);
  EXPECT_EQ(msg.desired_state().pseudowires_size(), 2);
  stream->WritesDone();
  while (stream->Read(&msg)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AgentStreamTest, ReconnectWithOtherAppliedVersionGetsTheState) {
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1")).ok());
  ClientContext ctx;
  auto stream = agent_stub_->Connect(&ctx);
  AgentMessage hello;
  hello.mutable_hello()->set_agent_id("edge-a");
  hello.mutable_hello()->add_underlay_addresses("198.51.100.1");
  hello.mutable_hello()->set_applied_version(12345);  // not what this server sent
  ASSERT_TRUE(stream->Write(hello));
  ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_welcome());
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_desired_state());
  EXPECT_EQ(msg.desired_state().pseudowires_size(), 1);
  stream->WritesDone();
  while (stream->Read(&msg)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AgentStreamTest, FirstMessageMustBeHello) {
  ClientContext ctx;
  auto stream = agent_stub_->Connect(&ctx);
  AgentMessage ack;
  ack.mutable_ack()->set_version(1);
  stream->Write(ack);
  ServerMessage msg;
  EXPECT_FALSE(stream->Read(&msg));
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("Hello"));
}

TEST_F(AgentStreamTest, InvalidHelloIsRefused) {
  ClientContext ctx;
  auto stream = Connect(&ctx, "Not Valid", "198.51.100.1");
  ServerMessage msg;
  EXPECT_FALSE(stream->Read(&msg));
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("hello.agent_id"));
}

TEST_F(AgentStreamTest, SecondStreamReplacesTheFirst) {
  ClientContext ctx1, ctx2;
  auto s1 = Connect(&ctx1, "edge-a", "198.51.100.1");
  ServerMessage msg;
  ASSERT_TRUE(s1->Read(&msg));  // welcome: registered
  auto s2 = Connect(&ctx2, "edge-a", "198.51.100.1");
  ASSERT_TRUE(s2->Read(&msg));
  EXPECT_TRUE(msg.has_welcome());
  while (s1->Read(&msg)) {
  }
  EXPECT_EQ(s1->Finish().error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(GetAgent("edge-a").connection_state(), pwire::v1::Agent::CONNECTED);
  ctx2.TryCancel();
  while (s2->Read(&msg)) {
  }
  s2->Finish();
}

TEST_F(AgentStreamTest, PeerAddressChangeReachesTheOtherAgent) {
  ClientContext ctx_a;
  auto a = Connect(&ctx_a, "edge-a", "198.51.100.1");
  ServerMessage msg;
  ASSERT_TRUE(a->Read(&msg));  // welcome
  ASSERT_TRUE(a->Read(&msg));  // empty desired state
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1")).ok());
  ASSERT_TRUE(a->Read(&msg));
  EXPECT_EQ(msg.desired_state().pseudowires(0).peer().address(), "");  // edge-b unknown yet
  ClientContext ctx_b;
  auto b = Connect(&ctx_b, "edge-b", "198.51.100.2");
  ASSERT_TRUE(a->Read(&msg));
  EXPECT_EQ(msg.desired_state().pseudowires(0).peer().address(), "198.51.100.2");
  ctx_a.TryCancel();
  ctx_b.TryCancel();
  while (a->Read(&msg)) {
  }
  while (b->Read(&msg)) {
  }
  a->Finish();
  b->Finish();
}

class AgentStaleTest : public testing::GrpcTest {
 protected:
  void SetUp() override {
    AgentHubOptions o;
    o.stale_after = std::chrono::milliseconds(200);
    StartServer(o);
  }
};

TEST_F(AgentStaleTest, SilentAgentsStatusBecomesStale) {
  ClientContext ctx;
  auto stream = agent_stub_->Connect(&ctx);
  AgentMessage hello;
  hello.mutable_hello()->set_agent_id("edge-a");
  ASSERT_TRUE(stream->Write(hello));
  ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  EXPECT_EQ(msg.welcome().stale_after().nanos(), 200000000);
  auto stale = [&] {
    ClientContext c;
    pwire::v1::GetAgentRequest req;
    req.set_name("edge-a");
    pwire::v1::Agent a;
    return stub_->GetAgent(&c, req, &a).ok() && a.stale();
  };
  EXPECT_TRUE(Eventually(stale));
  AgentMessage counters;
  counters.mutable_counters();
  ASSERT_TRUE(stream->Write(counters));
  // A report brings it back to current (a status report clears stale).
  AgentMessage status;
  status.mutable_status()->set_full(true);
  ASSERT_TRUE(stream->Write(status));
  ctx.TryCancel();
  while (stream->Read(&msg)) {
  }
  stream->Finish();
}

}  // namespace
}  // namespace pwire::server
