// kill -9 durability: a real pwire-server process gets a stream of creates from several
// concurrent clients, is killed with SIGKILL mid-stream, restarted on the same database,
// and every create that was acknowledged must be there.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "pwire/v1/pwire_service.grpc.pb.h"
#include "tests/server/test_util.h"

namespace pwire::server {
namespace {

pid_t StartServer(const std::string& db, const std::string& sock) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(PWIRE_SERVER_BIN, PWIRE_SERVER_BIN, "--db", db.c_str(), "--listen",
          ("unix://" + sock).c_str(), "--log-level", "warn", nullptr);
    _exit(127);
  }
  return pid;
}

bool WaitReady(const std::shared_ptr<grpc::Channel>& ch) {
  return ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

TEST(DurabilityTest, KillNineLosesNoAcknowledgedCreate) {
  testing::TempDir dir;
  std::string db = dir.path() + "/pwire.db", sock = dir.path() + "/pwire.sock";
  pid_t pid = StartServer(db, sock);
  auto channel = grpc::CreateChannel("unix://" + sock, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(WaitReady(channel));
  auto stub = pwire::v1::PwireService::NewStub(channel);

  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  clients.reserve(8);
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        int i = next++;
        std::string id = "pw-" + std::to_string(i);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        pwire::v1::CreatePseudowireRequest req;
        *req.mutable_pseudowire() =
            testing::EthernetPw(id, "edge-a", "edge-b", "e" + std::to_string(i));
        pwire::v1::Pseudowire resp;
        if (stub->CreatePseudowire(&ctx, req, &resp).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(id);
        } else if (!stop) {
          return;  // the server died under us
        }
      }
    });
  }
  // Kill once a good number of creates were acknowledged (poll, no fixed sleep).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (acked.size() >= 300) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "creates too slow";
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  stop = true;
  for (auto& t : clients) t.join();
  std::set<std::string> acked_copy;
  {
    std::lock_guard<std::mutex> lock(mu);
    acked_copy = acked;
  }
  ASSERT_GE(acked_copy.size(), 300u);

  pid = StartServer(db, sock);
  auto channel2 = grpc::CreateChannel("unix://" + sock, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(WaitReady(channel2));
  auto stub2 = pwire::v1::PwireService::NewStub(channel2);
  std::set<std::string> present;
  pwire::v1::ListPseudowiresRequest req;
  req.set_page_size(1000);
  for (;;) {
    grpc::ClientContext ctx;
    pwire::v1::ListPseudowiresResponse resp;
    ASSERT_TRUE(stub2->ListPseudowires(&ctx, req, &resp).ok());
    for (const auto& pw : resp.pseudowires()) present.insert(pw.name().substr(12));
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);
  size_t missing = 0;
  for (const auto& id : acked_copy) missing += present.contains(id) ? 0 : 1;
  std::printf("durability: %zu creates acknowledged before kill -9, %zu present after restart\n",
              acked_copy.size(), present.size());
  EXPECT_EQ(missing, 0u) << "of " << acked_copy.size() << " acknowledged creates";
  EXPECT_GE(present.size(), acked_copy.size());
}

}  // namespace
}  // namespace pwire::server
