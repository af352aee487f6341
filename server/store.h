// The store: where the server keeps its configuration durably. The server holds the whole
// state in memory and uses the store as its log: Load at start, then atomic batches of puts
// and deletes. Behind an interface: SQLite now (sqlite_store.h), etcd for replicas later.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pwire::server {

enum class RecordKind : int {
  kClass = 1,
  kPseudowire = 2,
  kAgent = 3,
  kMeta = 4,  // server bookkeeping: epoch, allocation secret
};

struct Record {
  RecordKind kind;
  std::string key;    // resource id (or meta key)
  std::string value;  // serialized protobuf (or meta value)
};

struct Mutation {
  RecordKind kind;
  std::string key;
  std::optional<std::string> value;  // nullopt: delete
};

class Store {
 public:
  using Done = std::function<void(absl::Status)>;
  virtual ~Store() = default;

  // Every record, for start-up.
  virtual absl::StatusOr<std::vector<Record>> LoadAll() = 0;
  // Applies the batch atomically. `done` runs once the batch is durable (or failed), on the
  // store's thread, in submission order. May be called from any thread.
  virtual void Commit(std::vector<Mutation> batch, Done done) = 0;
  // Commit and wait.
  absl::Status CommitSync(std::vector<Mutation> batch);
  // E.g. "sqlite:/var/lib/pwire/pwire.db".
  virtual std::string Describe() const = 0;
};

// A store that commits from its own thread: batches queued while the previous write ran are
// written together (group commit) and their `done` callbacks run in order afterwards.
class QueuedStore : public Store {
 public:
  void Commit(std::vector<Mutation> batch, Done done) final;
  // Write groups used so far (group commit makes this smaller than the batches committed).
  uint64_t groups() const;

 protected:
  struct Pending {
    std::vector<Mutation> batch;
    Done done;
  };
  // Derived classes call Start() when ready and Stop() first thing in their destructor.
  void Start();
  void Stop();
  virtual absl::Status WriteGroup(const std::deque<Pending>& group) = 0;

 private:
  void WriterLoop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  uint64_t groups_ = 0;
  std::thread writer_;
};

// In memory, durable for nothing: for tests of the layers above.
class MemoryStore final : public QueuedStore {
 public:
  MemoryStore() { Start(); }
  ~MemoryStore() override { Stop(); }
  absl::StatusOr<std::vector<Record>> LoadAll() override;
  std::string Describe() const override { return "memory"; }

 protected:
  absl::Status WriteGroup(const std::deque<Pending>& group) override;

 private:
  std::mutex records_mu_;
  std::map<std::pair<RecordKind, std::string>, std::string> records_;
};

}  // namespace pwire::server
