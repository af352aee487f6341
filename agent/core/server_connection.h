// The agent's connection to pwire-server: one AgentService.Connect stream, held by its own
// thread. It opens with Hello, delivers Welcome and DesiredState to the agent through
// handlers (the agent posts them onto its event loop), writes acks, nacks and reports from a
// queue, and redials with jittered exponential backoff when the stream ends. The agent keeps
// forwarding while the server is away; after a reconnect it re-syncs (Hello carries the
// applied version, then a full status report).
#pragma once

#include <grpcpp/security/credentials.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "pwire/base/random.h"
#include "pwire/v1/agent_service.grpc.pb.h"

namespace grpc {
class ClientContext;
}

namespace pwire::agent {

struct ServerConnectionOptions {
  std::string address;                    // host:port, or unix:///path
  std::string tls_ca, tls_cert, tls_key;  // PEM file paths; all empty: insecure
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{10000};
};

class ServerConnection {
 public:
  struct Handlers {
    std::function<v1::Hello()> make_hello;  // called before each dial
    std::function<void(const v1::Welcome&)> on_welcome;
    std::function<void(const v1::DesiredState&)> on_desired_state;
    std::function<void(const absl::Status&)> on_disconnected;
  };

  ServerConnection(ServerConnectionOptions options, Handlers handlers,
                   std::unique_ptr<base::Random> random);
  ~ServerConnection();  // Stops.

  // Loads TLS material (fails if unreadable) and starts the connection thread.
  absl::Status Start();
  void Stop();

  // Thread-safe. Queues a message for the current stream; false (dropped) if not connected.
  bool Send(v1::AgentMessage message);
  bool connected() const { return connected_; }
  uint64_t connects() const { return connects_; }

 private:
  void Run();
  absl::Status RunStream();
  void WriterLoop(grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>* stream);
  std::chrono::milliseconds NextBackoff();

  ServerConnectionOptions options_;
  Handlers handlers_;
  std::unique_ptr<base::Random> random_;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> connects_{0};
  std::chrono::milliseconds backoff_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::AgentMessage> queue_;
  bool writing_ = false;  // a stream's writer is accepting messages
  grpc::ClientContext* context_ = nullptr;
};

}  // namespace pwire::agent
