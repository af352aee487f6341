// API benchmark client (run by tests/bench/api.sh against a real pwire-server):
//   api_bench SERVER CREATES CONCURRENCY WATCHERS
// Prints "api_creates_per_s: N creates/s" for CREATES durable creates kept CONCURRENCY in
// flight, then "watch_fanout_1000_s: T s": the time from one create until all WATCHERS
// Watch streams have received it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "grpcpp/create_channel.h"
#include "pwire/v1/pwire_service.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using pwire::v1::Pseudowire;

Pseudowire MakePw(int i, const std::string& label) {
  Pseudowire pw;
  pw.set_name("pseudowires/bench-" + std::to_string(i));
  auto* spec = pw.mutable_spec();
  spec->set_type(pwire::v1::PseudowireSpec::ETHERNET);
  (*spec->mutable_labels())["bench"] = label;
  for (const char* agent : {"bench-a", "bench-b"}) {
    auto* e = spec->add_endpoints()->mutable_agent();
    e->set_agent(agent);
    e->set_pre_provision(true);
    e->mutable_circuit()->set_interface("e" + std::to_string(i));
  }
  return pw;
}

// Keeps `concurrency` creates in flight until `total` are done.
class Creator {
 public:
  Creator(pwire::v1::PwireService::Stub* stub, int total, int concurrency)
      : stub_(stub), total_(total), concurrency_(concurrency) {}

  int Run() {
    for (int i = 0; i < concurrency_; ++i) StartOne();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_ == total_; });
    return failed_;
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    pwire::v1::CreatePseudowireRequest req;
    Pseudowire resp;
  };

  void StartOne() {
    int i = next_++;
    if (i >= total_) return;
    auto* call = new Call;
    *call->req.mutable_pseudowire() = MakePw(i, "load");
    stub_->async()->CreatePseudowire(
        &call->ctx, &call->req, &call->resp, [this, call](grpc::Status s) {
          if (!s.ok()) {
            std::fprintf(stderr, "create: %s\n", s.error_message().c_str());
          }
          delete call;
          Done(s.ok());
        });
  }

  void Done(bool ok) {
    StartOne();
    std::lock_guard<std::mutex> lock(mu_);
    failed_ += ok ? 0 : 1;
    if (++finished_ == total_) cv_.notify_all();
  }

  pwire::v1::PwireService::Stub* const stub_;
  const int total_, concurrency_;
  std::atomic<int> next_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int finished_ = 0, failed_ = 0;
};

// Counts watchers that are synced and that have seen the target pseudowire.
struct FanoutState {
  std::mutex mu;
  std::condition_variable cv;
  int synced = 0, seen = 0;
  Clock::time_point last_seen;
  std::string target;
};

class Watcher : public grpc::ClientReadReactor<pwire::v1::WatchEvent> {
 public:
  Watcher(pwire::v1::PwireService::Stub* stub, FanoutState* state) : state_(state) {
    (*req_.mutable_labels())["bench"] = "fanout";
    req_.add_kinds(pwire::v1::PSEUDOWIRE);
    stub->async()->Watch(&ctx_, &req_, this);
    StartRead(&ev_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (ev_.type() == pwire::v1::WatchEvent::SYNC) {
        ++state_->synced;
        state_->cv.notify_all();
      } else if (ev_.name() == state_->target && !seen_) {
        seen_ = true;
        ++state_->seen;
        state_->last_seen = Clock::now();
        state_->cv.notify_all();
      }
    }
    StartRead(&ev_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_ = true;
    done_cv_.notify_all();
  }
  void WaitDone() {
    std::unique_lock<std::mutex> lock(done_mu_);
    done_cv_.wait(lock, [this] { return done_; });
  }

 private:
  FanoutState* const state_;
  grpc::ClientContext ctx_;
  pwire::v1::WatchRequest req_;
  pwire::v1::WatchEvent ev_;
  bool seen_ = false;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: api_bench SERVER CREATES CONCURRENCY WATCHERS\n");
    return 2;
  }
  std::string server = argv[1];
  int creates = std::atoi(argv[2]), concurrency = std::atoi(argv[3]), watchers = std::atoi(argv[4]);
  auto channel = grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
    std::fprintf(stderr, "api_bench: cannot connect to %s\n", server.c_str());
    return 1;
  }
  auto stub = pwire::v1::PwireService::NewStub(channel);

  auto t0 = Clock::now();
  int failed = Creator(stub.get(), creates, concurrency).Run();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failed > 0) {
    std::fprintf(stderr, "api_bench: %d creates failed\n", failed);
    return 1;
  }
  std::printf("api_creates_per_s: %.0f creates/s\n", creates / secs);
  std::fflush(stdout);

  FanoutState state;
  state.target = "pseudowires/bench-" + std::to_string(creates);
  std::vector<std::unique_ptr<Watcher>> ws;
  ws.reserve(watchers);
  for (int i = 0; i < watchers; ++i) ws.push_back(std::make_unique<Watcher>(stub.get(), &state));
  {
    std::unique_lock<std::mutex> lock(state.mu);
    if (!state.cv.wait_for(lock, std::chrono::seconds(60),
                           [&] { return state.synced == watchers; })) {
      std::fprintf(stderr, "api_bench: only %d of %d watchers synced\n", state.synced, watchers);
      return 1;
    }
  }
  grpc::ClientContext ctx;
  pwire::v1::CreatePseudowireRequest req;
  *req.mutable_pseudowire() = MakePw(creates, "fanout");
  Pseudowire resp;
  auto start = Clock::now();
  grpc::Status s = stub->CreatePseudowire(&ctx, req, &resp);
  if (!s.ok()) {
    std::fprintf(stderr, "api_bench: fanout create: %s\n", s.error_message().c_str());
    return 1;
  }
  {
    std::unique_lock<std::mutex> lock(state.mu);
    if (!state.cv.wait_for(lock, std::chrono::seconds(60),
                           [&] { return state.seen == watchers; })) {
      std::fprintf(stderr, "api_bench: only %d of %d watchers saw the change\n", state.seen,
                   watchers);
      return 1;
    }
    std::printf("watch_fanout_%d_s: %.3f s\n", watchers,
                std::chrono::duration<double>(state.last_seen - start).count());
  }
  std::fflush(stdout);
  for (auto& w : ws) w->Cancel();
  for (auto& w : ws) w->WaitDone();
  return 0;
}
