// ServerConnection. See server_connection.h.
#include "agent/core/server_connection.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace pwire::agent {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ServerConnection::ServerConnection(ServerConnectionOptions options, Handlers handlers,
                                   std::unique_ptr<base::Random> random)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      random_(std::move(random)),
      backoff_(options_.backoff_initial) {}

ServerConnection::~ServerConnection() { Stop(); }

absl::Status ServerConnection::Start() {
  if (options_.tls_ca.empty() && options_.tls_cert.empty()) {
    creds_ = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    for (auto [path, out] : {std::pair{&options_.tls_ca, &ssl.pem_root_certs},
                             std::pair{&options_.tls_cert, &ssl.pem_cert_chain},
                             std::pair{&options_.tls_key, &ssl.pem_private_key}}) {
      if (path->empty()) continue;
      auto text = ReadFile(*path);
      if (!text.ok())
        return absl::InvalidArgumentError(absl::StrCat("tls: ", text.status().message()));
      *out = *text;
    }
    creds_ = grpc::SslCredentials(ssl);
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void ServerConnection::Stop() {
  if (stop_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (context_) context_->TryCancel();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool ServerConnection::Send(v1::AgentMessage message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!writing_) return false;
  queue_.push_back(std::move(message));
  cv_.notify_all();
  return true;
}

std::chrono::milliseconds ServerConnection::NextBackoff() {
  // Jitter: uniformly in [backoff/2, backoff], then double up to the cap.
  auto half = backoff_.count() / 2;
  auto wait = std::chrono::milliseconds(half + static_cast<int64_t>(random_->Uniform(half + 1)));
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  return wait;
}

void ServerConnection::Run() {
  while (!stop_) {
    absl::Status status = RunStream();
    connected_ = false;
    if (stop_) break;
    if (handlers_.on_disconnected) handlers_.on_disconnected(status);
    auto wait = NextBackoff();
    spdlog::warn("server connection: {}; redialing in {} ms", status.ToString(), wait.count());
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [this] { return stop_.load(); });
  }
}

absl::Status ServerConnection::RunStream() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  auto channel = grpc::CreateCustomChannel(options_.address, creds_, args);
  auto stub = v1::AgentService::NewStub(channel);
  grpc::ClientContext ctx;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return absl::CancelledError("stopping");
    context_ = &ctx;
  }
  auto stream = stub->Connect(&ctx);
  v1::AgentMessage hello;
  *hello.mutable_hello() = handlers_.make_hello();
  std::thread writer;
  absl::Status result;
  if (!stream->Write(hello)) {
    result = absl::UnavailableError("could not send Hello");
  } else {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.clear();
      writing_ = true;
    }
    writer = std::thread([this, s = stream.get()] { WriterLoop(s); });
    v1::ServerMessage msg;
    while (stream->Read(&msg)) {
      if (msg.has_welcome()) {
        connected_ = true;
        ++connects_;
        backoff_ = options_.backoff_initial;
        if (handlers_.on_welcome) handlers_.on_welcome(msg.welcome());
      } else if (msg.has_desired_state()) {
        if (handlers_.on_desired_state) handlers_.on_desired_state(msg.desired_state());
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    queue_.clear();
    cv_.notify_all();
  }
  if (writer.joinable()) writer.join();
  grpc::Status st = stream->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    context_ = nullptr;
  }
  if (!result.ok()) return result;
  return absl::UnavailableError(
      absl::StrCat("stream ended: code ", st.error_code(), " ", st.error_message()));
}

void ServerConnection::WriterLoop(
    grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>* stream) {
  for (;;) {
    v1::AgentMessage msg;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !writing_ || !queue_.empty(); });
      if (!writing_) return;
      msg = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!stream->Write(msg)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (context_) context_->TryCancel();
      return;
    }
  }
}

}  // namespace pwire::agent
