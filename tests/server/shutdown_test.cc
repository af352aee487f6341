// Clean shutdown of the real pwire-server binary: with Watch streams and an agent stream open
// (streams that never end by themselves), SIGTERM makes it end them with UNAVAILABLE and exit
// 0 well within its grace period, what was acknowledged before is still there after a
// restart, and its output has no sanitizer report (a report printed at exit does not change
// the exit status).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "pwire/v1/agent_service.grpc.pb.h"
#include "pwire/v1/pwire_service.grpc.pb.h"
#include "tests/server/test_util.h"

namespace pwire::server {
namespace {

using Clock = std::chrono::steady_clock;

// Starts pwire-server; its stdout and stderr are appended to `log`.
pid_t StartServer(const std::string& db, const std::string& sock, const std::string& log) {
  // Built before fork: the child of a threaded process must not allocate before exec.
  const std::string listen = "unix://" + sock;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(PWIRE_SERVER_BIN, PWIRE_SERVER_BIN, "--db", db.c_str(), "--listen", listen.c_str(),
          "--log-level", "warn", nullptr);
    _exit(127);
  }
  return pid;
}

// Waits for `pid` to exit (polling, with a deadline); kills it on timeout. Returns the wait
// status, or -1 if it had to be killed.
int WaitExit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(ShutdownTest, SigtermWithOpenWatchAndAgentStreamsExitsZero) {
  testing::TempDir dir;
  std::string db = dir.path() + "/pwire.db", sock = dir.path() + "/pwire.sock";
  std::string log = dir.path() + "/server.log";
  pid_t pid = StartServer(db, sock, log);
  auto channel = grpc::CreateChannel("unix://" + sock, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(
      channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)));
  auto stub = pwire::v1::PwireService::NewStub(channel);
  {
    grpc::ClientContext ctx;
    pwire::v1::CreatePseudowireRequest req;
    *req.mutable_pseudowire() = testing::EthernetPw("before-term");
    pwire::v1::Pseudowire resp;
    ASSERT_TRUE(stub->CreatePseudowire(&ctx, req, &resp).ok());
  }

  // Three Watch streams, each read up to its SYNC marker (so they are open server-side).
  constexpr int kWatchers = 3;
  std::vector<std::unique_ptr<grpc::ClientContext>> watch_ctx;
  std::vector<std::unique_ptr<grpc::ClientReader<pwire::v1::WatchEvent>>> watches;
  for (int i = 0; i < kWatchers; ++i) {
    watch_ctx.push_back(std::make_unique<grpc::ClientContext>());
    watches.push_back(stub->Watch(watch_ctx.back().get(), pwire::v1::WatchRequest()));
    pwire::v1::WatchEvent ev;
    do {
      ASSERT_TRUE(watches.back()->Read(&ev));
    } while (ev.type() != pwire::v1::WatchEvent::SYNC);
  }

  // One agent stream, past its Welcome.
  auto agent_stub = pwire::v1::AgentService::NewStub(channel);
  grpc::ClientContext agent_ctx;
  auto agent = agent_stub->Connect(&agent_ctx);
  pwire::v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_id("edge-a");
  hello.mutable_hello()->add_underlay_addresses("198.51.100.1");
  ASSERT_TRUE(agent->Write(hello));
  pwire::v1::ServerMessage msg;
  ASSERT_TRUE(agent->Read(&msg));
  ASSERT_TRUE(msg.has_welcome());

  // Each client reads until its stream ends. The agent then reconnects, as pwire-agent does,
  // until the server is gone: its calls keep the client's connection served, so the client
  // answers the server's graceful GOAWAY (an idle client process would answer it only at
  // gRPC's next backup poll, 5 s later, and hold the shutdown for the whole grace).
  std::atomic<bool> server_gone{false};
  std::vector<grpc::Status> ended(kWatchers + 1);
  std::vector<std::thread> readers;
  readers.reserve(kWatchers + 1);
  for (int i = 0; i < kWatchers; ++i) {
    readers.emplace_back([&, i] {
      pwire::v1::WatchEvent ev;
      while (watches[i]->Read(&ev)) {
      }
      ended[i] = watches[i]->Finish();
    });
  }
  readers.emplace_back([&] {
    pwire::v1::ServerMessage m;
    while (agent->Read(&m)) {
    }
    ended[kWatchers] = agent->Finish();
    while (!server_gone) {
      grpc::ClientContext again;
      again.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
      auto retry = agent_stub->Connect(&again);
      retry->Write(hello);
      retry->Read(&m);
      retry->WritesDone();
      retry->Finish();
    }
  });

  auto t0 = Clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = WaitExit(pid, std::chrono::seconds(10));
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  server_gone = true;
  for (auto& t : readers) t.join();
  ASSERT_NE(status, -1) << "pwire-server still running 10 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The open streams are ended first, so no one waits for kShutdownGrace (2 s) to cancel them.
  EXPECT_LT(secs, 1.5);
  std::printf("shutdown: exited %.2f s after SIGTERM\n", secs);

  // The streams were ended by the server, saying why, not left hanging or cancelled.
  for (const grpc::Status& st : ended) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
    EXPECT_EQ(st.error_message(), "server shutting down");
  }

  // The acknowledged create survived the shutdown.
  pid = StartServer(db, sock, log);
  auto channel2 = grpc::CreateChannel("unix://" + sock, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(
      channel2->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)));
  auto stub2 = pwire::v1::PwireService::NewStub(channel2);
  grpc::ClientContext ctx;
  pwire::v1::GetPseudowireRequest get;
  get.set_name("pseudowires/before-term");
  pwire::v1::Pseudowire pw;
  grpc::Status got = stub2->GetPseudowire(&ctx, get, &pw);
  EXPECT_TRUE(got.ok()) << got.error_code() << " " << got.error_message();
  kill(pid, SIGTERM);
  status = WaitExit(pid, std::chrono::seconds(10));
  EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The shutdown watchdog once took LeakSanitizer's exit-time interruption of its wait for a
  // timeout and logged through the destroyed spdlog logger (heap-use-after-free).
  std::string out = ReadText(log);
  EXPECT_EQ(out.find("Sanitizer"), std::string::npos) << out;
  EXPECT_EQ(out.find("runtime error"), std::string::npos) << out;
  EXPECT_EQ(out.find("without a clean shutdown"), std::string::npos) << out;
}

}  // namespace
}  // namespace pwire::server
