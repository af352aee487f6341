// ServerConnection against an in-process AgentService on a unix socket: it opens each stream
// with a fresh Hello, redials with jittered exponential backoff while the server refuses it
// (waits of at least half of 100, 200, 400 ms: the jitter's floor), delivers Welcome and
// DesiredState once accepted, reports the disconnection when the stream ends, and starts
// again from the initial backoff after a successful connection.
#include "agent/core/server_connection.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "gtest/gtest.h"

namespace pwire::agent {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Refuses the first `refuse` streams (UNAVAILABLE, no Welcome); then welcomes, sends one
// desired state, and ends the stream when told to.
class FakeAgentService final : public v1::AgentService::Service {
 public:
  explicit FakeAgentService(int refuse) : refuse_(refuse) {}

  grpc::Status Connect(
      grpc::ServerContext* /*ctx*/,
      grpc::ServerReaderWriter<v1::ServerMessage, v1::AgentMessage>* stream) override {
    v1::AgentMessage hello;
    if (!stream->Read(&hello) || !hello.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Hello first");
    }
    int n;
    {
      std::lock_guard lock(mu_);
      dials_.push_back(Clock::now());
      hellos_.push_back(hello.hello().applied_version());
      n = static_cast<int>(dials_.size());
      cv_.notify_all();
    }
    if (n <= refuse_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not yet");
    v1::ServerMessage w;
    w.mutable_welcome()->set_agent("agents/t");
    stream->Write(w);
    v1::ServerMessage d;
    d.mutable_desired_state()->set_version(7);
    stream->Write(d);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return end_streams_ || released_; });
    end_streams_ = false;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server going away");
  }

  // Waits (with a deadline) until `n` streams were opened.
  bool WaitDials(size_t n, milliseconds limit = milliseconds(10000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return dials_.size() >= n; });
  }
  void EndStream() {
    std::lock_guard lock(mu_);
    end_streams_ = true;
    cv_.notify_all();
  }
  // Every stream ends from now on (before the server shuts down).
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<Clock::time_point> dials() {
    std::lock_guard lock(mu_);
    return dials_;
  }
  std::vector<uint64_t> hellos() {
    std::lock_guard lock(mu_);
    return hellos_;
  }

 private:
  const int refuse_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Clock::time_point> dials_;
  std::vector<uint64_t> hellos_;
  bool end_streams_ = false;
  bool released_ = false;
};

// What the connection's handlers saw (they run on its thread).
struct Seen {
  std::mutex mu;
  std::condition_variable cv;
  int welcomes = 0;
  int disconnects = 0;
  uint64_t desired_version = 0;
  template <typename F>
  bool Wait(F done, milliseconds limit = milliseconds(10000)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, done);
  }
};

TEST(ServerConnectionTest, RedialsWithGrowingJitteredBackoffThenResyncsAfterReconnect) {
  const std::string path = "/tmp/pwire-server-connection-test-" + std::to_string(getpid());
  unlink(path.c_str());
  FakeAgentService service(/*refuse=*/3);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  Seen seen;
  std::atomic<uint64_t> applied{41};
  ServerConnectionOptions options;
  options.address = "unix://" + path;
  options.backoff_initial = milliseconds(100);
  options.backoff_max = milliseconds(400);
  ServerConnection conn(options,
                        {.make_hello =
                             [&] {
                               v1::Hello h;
                               h.set_agent_id("t");
                               h.set_applied_version(++applied);  // a new one per dial
                               return h;
                             },
                         .on_welcome =
                             [&](const v1::Welcome&) {
                               std::lock_guard lock(seen.mu);
                               ++seen.welcomes;
                               seen.cv.notify_all();
                             },
                         .on_desired_state =
                             [&](const v1::DesiredState& d) {
                               std::lock_guard lock(seen.mu);
                               seen.desired_version = d.version();
                               seen.cv.notify_all();
                             },
                         .on_disconnected =
                             [&](const absl::Status&) {
                               std::lock_guard lock(seen.mu);
                               ++seen.disconnects;
                               seen.cv.notify_all();
                             }},
                        std::make_unique<base::SeededRandom>(1));
  ASSERT_TRUE(conn.Start().ok());

  // Three refusals, then the fourth dial is welcomed.
  ASSERT_TRUE(service.WaitDials(4));
  ASSERT_TRUE(seen.Wait([&] { return seen.welcomes == 1 && seen.desired_version == 7; }));
  EXPECT_TRUE(conn.connected());
  EXPECT_EQ(conn.connects(), 1u);
  auto d = service.dials();
  // Waits are jittered in [b/2, b] with b = 100, 200, 400 ms: at least 50, 100, 200 ms.
  EXPECT_GE(d[1] - d[0], milliseconds(50));
  EXPECT_GE(d[2] - d[1], milliseconds(100));
  EXPECT_GE(d[3] - d[2], milliseconds(200));
  {
    std::lock_guard lock(seen.mu);
    EXPECT_EQ(seen.disconnects, 3);
  }
  EXPECT_TRUE(conn.Send(v1::AgentMessage{}));  // a stream is up: messages are queued

  // The server ends the stream: the agent hears of it, and redials from the initial
  // backoff (a successful connection reset it), with a fresh Hello.
  service.EndStream();
  ASSERT_TRUE(seen.Wait([&] { return seen.disconnects == 4; }));
  ASSERT_TRUE(service.WaitDials(5));
  ASSERT_TRUE(seen.Wait([&] { return seen.welcomes == 2; }));
  EXPECT_EQ(conn.connects(), 2u);
  auto hellos = service.hellos();
  ASSERT_EQ(hellos.size(), 5u);
  for (size_t i = 1; i < hellos.size(); ++i) EXPECT_GT(hellos[i], hellos[i - 1]);

  conn.Stop();
  EXPECT_FALSE(conn.connected());
  EXPECT_FALSE(conn.Send(v1::AgentMessage{}));  // stopped: dropped
  service.Release();
  server->Shutdown();
  unlink(path.c_str());
}

}  // namespace
}  // namespace pwire::agent
