#include "server/store.h"

#include <future>

#include "spdlog/spdlog.h"

namespace pwire::server {

absl::Status Store::CommitSync(std::vector<Mutation> batch) {
  std::promise<absl::Status> p;
  auto f = p.get_future();
  Commit(std::move(batch), [&p](absl::Status s) { p.set_value(std::move(s)); });
  return f.get();
}

void QueuedStore::Commit(std::vector<Mutation> batch, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Pending{std::move(batch), std::move(done)});
  }
  cv_.notify_one();
}

uint64_t QueuedStore::groups() const {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_;
}

void QueuedStore::Start() {
  writer_ = std::thread([this] { WriterLoop(); });
}

void QueuedStore::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void QueuedStore::WriterLoop() {
  for (;;) {
    std::deque<Pending> group;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      group.swap(queue_);
      ++groups_;
    }
    absl::Status s = WriteGroup(group);
    if (!s.ok()) {
      spdlog::error("store: commit of {} batches failed: {}", group.size(),
                    std::string(s.message()));
    }
    for (Pending& p : group) p.done(s);
  }
}

absl::StatusOr<std::vector<Record>> MemoryStore::LoadAll() {
  std::lock_guard<std::mutex> lock(records_mu_);
  std::vector<Record> out;
  for (const auto& [k, v] : records_) out.push_back(Record{k.first, k.second, v});
  return out;
}

absl::Status MemoryStore::WriteGroup(const std::deque<Pending>& group) {
  std::lock_guard<std::mutex> lock(records_mu_);
  for (const Pending& p : group) {
    for (const Mutation& m : p.batch) {
      if (m.value) {
        records_[{m.kind, m.key}] = *m.value;
      } else {
        records_.erase({m.kind, m.key});
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace pwire::server
