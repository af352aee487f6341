// In-process pwire-server for gRPC tests: a PwireServer on a MemoryStore, reached through
// its in-process channel, plus a deadline-polling helper (no sleeps to wait).
#pragma once

#include <chrono>
#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "pwire/v1/agent_service.grpc.pb.h"
#include "pwire/v1/pwire_service.grpc.pb.h"
#include "server/server.h"
#include "tests/server/test_util.h"

namespace pwire::server::testing {

class GrpcTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(AgentHubOptions{}); }

  void StartServer(AgentHubOptions agents) {
    ServerOptions options;
    options.listen = {"unix://" + dir_.path() + "/pwire.sock"};
    options.agents = agents;
    auto server = PwireServer::Start(options, std::make_unique<MemoryStore>());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = server_->InProcessChannel();
    stub_ = pwire::v1::PwireService::NewStub(channel_);
    agent_stub_ = pwire::v1::AgentService::NewStub(channel_);
  }

  void TearDown() override { server_.reset(); }

  // Polls `cond` until true or a 10 s deadline.
  static bool Eventually(const std::function<bool()>& cond) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return cond();
  }

  grpc::Status CreatePw(const pwire::v1::Pseudowire& pw, pwire::v1::Pseudowire* out = nullptr) {
    grpc::ClientContext ctx;
    pwire::v1::CreatePseudowireRequest req;
    *req.mutable_pseudowire() = pw;
    pwire::v1::Pseudowire resp;
    auto s = stub_->CreatePseudowire(&ctx, req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }

  TempDir dir_;
  std::unique_ptr<PwireServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pwire::v1::PwireService::Stub> stub_;
  std::unique_ptr<pwire::v1::AgentService::Stub> agent_stub_;
};

}  // namespace pwire::server::testing
