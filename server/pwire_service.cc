#include "server/pwire_service.h"

#include "server/status_util.h"

namespace pwire::server {

using grpc::ServerUnaryReactor;

namespace {

// Finishes `r` with a StatusOr's status, copying its value into *resp on success.
template <typename T>
void FinishWith(ServerUnaryReactor* r, T* resp, absl::StatusOr<T> v) {
  if (!v.ok()) {
    r->Finish(ToGrpc(v.status()));
    return;
  }
  *resp = std::move(*v);
  r->Finish(grpc::Status::OK);
}

template <typename T>
Reply<T> ReplyTo(ServerUnaryReactor* r, T* resp) {
  return [r, resp](absl::StatusOr<T> v) { FinishWith(r, resp, std::move(v)); };
}

Reply<bool> ReplyEmpty(ServerUnaryReactor* r) {
  return [r](const absl::StatusOr<bool>& v) { r->Finish(ToGrpc(v.status())); };
}

}  // namespace

PwireServiceImpl::PwireServiceImpl(Registry* registry, WatchHub* watch, AgentHub* agents,
                                   std::vector<std::string> listen_addresses)
    : registry_(registry), watch_(watch), agents_(agents), listen_(std::move(listen_addresses)) {}

ServerUnaryReactor* PwireServiceImpl::GetPseudowire(Ctx* ctx,
                                                    const pwire::v1::GetPseudowireRequest* req,
                                                    pwire::v1::Pseudowire* resp) {
  auto* r = ctx->DefaultReactor();
  FinishWith(r, resp, registry_->GetPseudowire(req->name()));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::ListPseudowires(Ctx* ctx,
                                                      const pwire::v1::ListPseudowiresRequest* req,
                                                      pwire::v1::ListPseudowiresResponse* resp) {
  auto* r = ctx->DefaultReactor();
  FinishWith(r, resp, registry_->ListPseudowires(*req));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::CreatePseudowire(
    Ctx* ctx, const pwire::v1::CreatePseudowireRequest* req, pwire::v1::Pseudowire* resp) {
  auto* r = ctx->DefaultReactor();
  registry_->CreatePseudowire(*req, ReplyTo(r, resp));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::UpdatePseudowire(
    Ctx* ctx, const pwire::v1::UpdatePseudowireRequest* req, pwire::v1::Pseudowire* resp) {
  auto* r = ctx->DefaultReactor();
  registry_->UpdatePseudowire(*req, ReplyTo(r, resp));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::DeletePseudowire(
    Ctx* ctx, const pwire::v1::DeletePseudowireRequest* req, google::protobuf::Empty*) {
  auto* r = ctx->DefaultReactor();
  registry_->DeletePseudowire(*req, ReplyEmpty(r));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::GetPseudowireClass(
    Ctx* ctx, const pwire::v1::GetPseudowireClassRequest* req, pwire::v1::PseudowireClass* resp) {
  auto* r = ctx->DefaultReactor();
  FinishWith(r, resp, registry_->GetClass(req->name()));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::ListPseudowireClasses(
    Ctx* ctx, const pwire::v1::ListPseudowireClassesRequest* req,
    pwire::v1::ListPseudowireClassesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  FinishWith(r, resp, registry_->ListClasses(*req));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::CreatePseudowireClass(
    Ctx* ctx, const pwire::v1::CreatePseudowireClassRequest* req,
    pwire::v1::PseudowireClass* resp) {
  auto* r = ctx->DefaultReactor();
  registry_->CreateClass(*req, ReplyTo(r, resp));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::UpdatePseudowireClass(
    Ctx* ctx, const pwire::v1::UpdatePseudowireClassRequest* req,
    pwire::v1::PseudowireClass* resp) {
  auto* r = ctx->DefaultReactor();
  registry_->UpdateClass(*req, ReplyTo(r, resp));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::DeletePseudowireClass(
    Ctx* ctx, const pwire::v1::DeletePseudowireClassRequest* req, google::protobuf::Empty*) {
  auto* r = ctx->DefaultReactor();
  registry_->DeleteClass(*req, ReplyEmpty(r));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::Apply(Ctx* ctx, const pwire::v1::ApplyRequest* req,
                                            pwire::v1::ApplyResponse* resp) {
  auto* r = ctx->DefaultReactor();
  registry_->Apply(*req, ReplyTo(r, resp));
  return r;
}

grpc::ServerWriteReactor<pwire::v1::WatchEvent>* PwireServiceImpl::Watch(
    Ctx* ctx, const pwire::v1::WatchRequest* req) {
  return watch_->Start(ctx, *req);
}

ServerUnaryReactor* PwireServiceImpl::ListAgents(Ctx* ctx, const pwire::v1::ListAgentsRequest* req,
                                                 pwire::v1::ListAgentsResponse* resp) {
  auto* r = ctx->DefaultReactor();
  FinishWith(r, resp, registry_->ListAgents(*req));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::GetAgent(Ctx* ctx, const pwire::v1::GetAgentRequest* req,
                                               pwire::v1::Agent* resp) {
  auto* r = ctx->DefaultReactor();
  FinishWith(r, resp, registry_->GetAgent(req->name()));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::DeleteAgent(Ctx* ctx,
                                                  const pwire::v1::DeleteAgentRequest* req,
                                                  google::protobuf::Empty*) {
  auto* r = ctx->DefaultReactor();
  registry_->DeleteAgent(*req, ReplyEmpty(r));
  return r;
}

ServerUnaryReactor* PwireServiceImpl::GetServerStatus(Ctx* ctx,
                                                      const pwire::v1::GetServerStatusRequest*,
                                                      pwire::v1::ServerStatus* resp) {
  auto* r = ctx->DefaultReactor();
  *resp = registry_->GetServerStatus();
  resp->set_version(PWIRE_VERSION);
  resp->set_watchers(watch_->watchers());
  for (const auto& l : listen_) resp->add_listen_addresses(l);
  r->Finish(grpc::Status::OK);
  return r;
}

}  // namespace pwire::server
