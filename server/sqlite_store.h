// The SQLite store: one file, WAL journal, synchronous=FULL, so a batch is on disk before its
// `done` runs (kill -9 loses nothing acknowledged). Group commit: one writer thread takes
// every batch queued while the previous transaction synced and commits them in one
// transaction, so many concurrent writes share one fsync. Schema version in user_version.
#pragma once

#include <memory>
#include <string>

#include "server/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace pwire::server {

class SqliteStore final : public QueuedStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if needed, with its parent directory) and migrates the database.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  absl::StatusOr<std::vector<Record>> LoadAll() override;
  std::string Describe() const override { return "sqlite:" + path_; }

 protected:
  absl::Status WriteGroup(const std::deque<Pending>& group) override;

 private:
  SqliteStore(std::string path, sqlite3* db);
  absl::Status Migrate();
  absl::Status Exec(const char* sql);
  absl::Status Prepare();

  const std::string path_;
  sqlite3* db_;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
};

}  // namespace pwire::server
