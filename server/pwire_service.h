// PwireService over gRPC's callback API: a thin layer that translates requests to Registry
// calls and absl::Status to grpc::Status. Writes answer when the registry says the change is
// durable, without holding a thread while they wait.
#pragma once

#include "pwire/v1/pwire_service.grpc.pb.h"
#include "server/agent_hub.h"
#include "server/registry.h"
#include "server/watch_hub.h"

namespace pwire::server {

class PwireServiceImpl final : public pwire::v1::PwireService::CallbackService {
 public:
  PwireServiceImpl(Registry* registry, WatchHub* watch, AgentHub* agents,
                   std::vector<std::string> listen_addresses);

  using Ctx = grpc::CallbackServerContext;
  using Unary = grpc::ServerUnaryReactor;
  Unary* GetPseudowire(Ctx* ctx, const pwire::v1::GetPseudowireRequest* req,
                       pwire::v1::Pseudowire* resp) override;
  Unary* ListPseudowires(Ctx* ctx, const pwire::v1::ListPseudowiresRequest* req,
                         pwire::v1::ListPseudowiresResponse* resp) override;
  Unary* CreatePseudowire(Ctx* ctx, const pwire::v1::CreatePseudowireRequest* req,
                          pwire::v1::Pseudowire* resp) override;
  Unary* UpdatePseudowire(Ctx* ctx, const pwire::v1::UpdatePseudowireRequest* req,
                          pwire::v1::Pseudowire* resp) override;
  Unary* DeletePseudowire(Ctx* ctx, const pwire::v1::DeletePseudowireRequest* req,
                          google::protobuf::Empty* resp) override;
  Unary* GetPseudowireClass(Ctx* ctx, const pwire::v1::GetPseudowireClassRequest* req,
                            pwire::v1::PseudowireClass* resp) override;
  Unary* ListPseudowireClasses(Ctx* ctx, const pwire::v1::ListPseudowireClassesRequest* req,
                               pwire::v1::ListPseudowireClassesResponse* resp) override;
  Unary* CreatePseudowireClass(Ctx* ctx, const pwire::v1::CreatePseudowireClassRequest* req,
                               pwire::v1::PseudowireClass* resp) override;
  Unary* UpdatePseudowireClass(Ctx* ctx, const pwire::v1::UpdatePseudowireClassRequest* req,
                               pwire::v1::PseudowireClass* resp) override;
  Unary* DeletePseudowireClass(Ctx* ctx, const pwire::v1::DeletePseudowireClassRequest* req,
                               google::protobuf::Empty* resp) override;
  Unary* Apply(Ctx* ctx, const pwire::v1::ApplyRequest* req,
               pwire::v1::ApplyResponse* resp) override;
  grpc::ServerWriteReactor<pwire::v1::WatchEvent>* Watch(
      Ctx* ctx, const pwire::v1::WatchRequest* req) override;
  Unary* ListAgents(Ctx* ctx, const pwire::v1::ListAgentsRequest* req,
                    pwire::v1::ListAgentsResponse* resp) override;
  Unary* GetAgent(Ctx* ctx, const pwire::v1::GetAgentRequest* req, pwire::v1::Agent* resp) override;
  Unary* DeleteAgent(Ctx* ctx, const pwire::v1::DeleteAgentRequest* req,
                     google::protobuf::Empty* resp) override;
  Unary* GetServerStatus(Ctx* ctx, const pwire::v1::GetServerStatusRequest* req,
                         pwire::v1::ServerStatus* resp) override;

 private:
  Registry* const registry_;
  WatchHub* const watch_;
  [[maybe_unused]] AgentHub* const agents_;
  const std::vector<std::string> listen_;
};

class AgentServiceImpl final : public pwire::v1::AgentService::CallbackService {
 public:
  explicit AgentServiceImpl(AgentHub* hub) : hub_(hub) {}
  grpc::ServerBidiReactor<pwire::v1::AgentMessage, pwire::v1::ServerMessage>* Connect(
      grpc::CallbackServerContext* ctx) override {
    return hub_->Start(ctx);
  }

 private:
  AgentHub* const hub_;
};

}  // namespace pwire::server
