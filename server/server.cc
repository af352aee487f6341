#include "server/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/sqlite_store.h"
#include "spdlog/spdlog.h"

namespace pwire::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(const ServerOptions& o) {
  if (o.tls_cert.empty() || o.tls_key.empty() || o.tls_ca.empty()) {
    return absl::InvalidArgumentError(
        "listening on TCP needs mutual TLS: give --tls-cert, --tls-key and --tls-ca "
        "(deploy/make-dev-ca.sh makes a development set)");
  }
  auto cert = ReadFile(o.tls_cert, "--tls-cert");
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(o.tls_key, "--tls-key");
  if (!key.ok()) return key.status();
  auto ca = ReadFile(o.tls_ca, "--tls-ca");
  if (!ca.ok()) return ca.status();
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = *ca;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(ssl);
}

// Prepares a unix socket path: its directory exists, a stale socket file is gone.
absl::Status PrepareUnix(const std::string& address) {
  std::string path = address.substr(std::string("unix://").size());
  if (absl::StartsWith(address, "unix:") && !absl::StartsWith(address, "unix://")) {
    path = address.substr(5);
  }
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", dir.string(), " for ", address, ": ", ec.message()));
  }
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path.c_str());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PwireServer>> PwireServer::Start(ServerOptions options,
                                                                std::unique_ptr<Store> store) {
  std::unique_ptr<PwireServer> s(new PwireServer());
  if (store == nullptr) {
    auto sqlite = SqliteStore::Open(options.db_path);
    if (!sqlite.ok()) return sqlite.status();
    store = std::move(*sqlite);
  }
  s->store_ = std::move(store);
  s->registry_ = std::make_unique<Registry>(s->store_.get());
  if (auto st = s->registry_->Load(); !st.ok()) return st;
  s->watch_ = std::make_unique<WatchHub>(s->registry_.get());
  s->agents_ = std::make_unique<AgentHub>(s->registry_.get(), options.agents);
  s->pwire_service_ = std::make_unique<PwireServiceImpl>(s->registry_.get(), s->watch_.get(),
                                                         s->agents_.get(), options.listen);
  s->agent_service_ = std::make_unique<AgentServiceImpl>(s->agents_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  bool want_port = false;
  for (const std::string& address : options.listen) {
    if (absl::StartsWith(address, "unix:")) {
      if (auto st = PrepareUnix(address); !st.ok()) return st;
      builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    } else {
      auto creds = TlsCredentials(options);
      if (!creds.ok()) return creds.status();
      builder.AddListeningPort(address, *creds, want_port ? nullptr : &s->tcp_port_);
      want_port = true;
    }
  }
  builder.RegisterService(s->pwire_service_.get());
  builder.RegisterService(s->agent_service_.get());
  builder.SetMaxReceiveMessageSize(64 << 20);
  // Agents send HTTP/2 keepalive pings every 10 s on their long-lived stream (so a dead link is
  // noticed); gRPC's server default (one ping per 5 min) answers them with GOAWAY
  // "too_many_pings" and cuts every agent off about once a minute. Accept one every 5 s.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ",
                                               absl::StrJoin(options.listen, ", "),
                                               " (address in use, or no permission?)"));
  }
  for (const auto& a : options.listen) spdlog::info("pwire-server listening on {}", a);
  return s;
}

PwireServer::~PwireServer() { Shutdown(); }

void PwireServer::Wait() {
  if (server_) server_->Wait();
}

void PwireServer::Shutdown() {
  if (server_) {
    // Watch and agent streams never end by themselves: end them first (agents reconnect to
    // the next server), then refuse new calls and wait for the rest; calls still open at the
    // deadline are cancelled, and their reactors finish.
    const grpc::Status going(grpc::StatusCode::UNAVAILABLE, "server shutting down");
    int watches = watch_ ? watch_->CloseAll(going) : 0;
    int agents = agents_ ? agents_->CloseAll(going) : 0;
    spdlog::info("shutdown: ended {} Watch and {} agent streams", watches, agents);
    server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
    server_->Wait();
    server_.reset();
  }
  // Every batch submitted so far is written and its callback has run before the registry
  // and hubs go away (an empty batch completes after all earlier ones, in order).
  if (store_) {
    if (auto s = store_->CommitSync({}); !s.ok()) {
      spdlog::error("store: final flush failed: {}", std::string(s.message()));
    }
  }
}

std::shared_ptr<grpc::Channel> PwireServer::InProcessChannel() {
  return server_->InProcessChannel(grpc::ChannelArguments());
}

}  // namespace pwire::server
