#include "server/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace pwire::server {
namespace {

absl::Status SqlError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("sqlite: ", what, ": ", sqlite3_errmsg(db)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create directory ", parent.string(), ": ", ec.message()));
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::FailedPreconditionError(
        absl::StrCat("cannot open database ", path, ": ", sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, db));
  if (auto s = store->Migrate(); !s.ok()) return s;
  if (auto s = store->Prepare(); !s.ok()) return s;
  store->Start();
  return store;
}

SqliteStore::SqliteStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

SqliteStore::~SqliteStore() {
  Stop();
  sqlite3_finalize(put_);
  sqlite3_finalize(del_);
  sqlite3_close(db_);
}

absl::Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat("sqlite: ", sql, ": ", err ? err : "?"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::Migrate() {
  // WAL + synchronous=FULL: every commit syncs the WAL before returning (durable on return).
  if (auto s = Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
  if (auto s = Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
  if (auto s = Exec("PRAGMA foreign_keys=ON"); !s.ok()) return s;
  sqlite3_busy_timeout(db_, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st, nullptr) != SQLITE_OK) {
    return SqlError(db_, "user_version");
  }
  int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path_, " has schema version ", version,
                     " but this server "
                     "knows up to ",
                     kSchemaVersion, "; run a newer pwire-server"));
  }
  if (version == 0) {
    auto s = Exec(
        "BEGIN;"
        "CREATE TABLE records (kind INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
        " PRIMARY KEY (kind, key)) WITHOUT ROWID;"
        "PRAGMA user_version = 1;"
        "COMMIT;");
    if (!s.ok()) return s;
    spdlog::info("store: created schema version {} in {}", kSchemaVersion, path_);
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::Prepare() {
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO records (kind, key, value) VALUES (?,?,?)",
                         -1, &put_, nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare put");
  }
  if (sqlite3_prepare_v2(db_, "DELETE FROM records WHERE kind = ? AND key = ?", -1, &del_,
                         nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare delete");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Record>> SqliteStore::LoadAll() {
  // Called at start-up, before any Commit: the writer thread is idle.
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT kind, key, value FROM records ORDER BY kind, key", -1, &st,
                         nullptr) != SQLITE_OK) {
    return SqlError(db_, "load");
  }
  std::vector<Record> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const void* blob = sqlite3_column_blob(st, 2);
    int n = sqlite3_column_bytes(st, 2);
    out.push_back(Record{static_cast<RecordKind>(sqlite3_column_int(st, 0)),
                         reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                         std::string(static_cast<const char*>(blob), static_cast<size_t>(n))});
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return SqlError(db_, "load");
  return out;
}

absl::Status SqliteStore::WriteGroup(const std::deque<Pending>& group) {
  if (auto s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  for (const Pending& p : group) {
    for (const Mutation& m : p.batch) {
      sqlite3_stmt* st = m.value ? put_ : del_;
      sqlite3_reset(st);
      sqlite3_bind_int(st, 1, static_cast<int>(m.kind));
      sqlite3_bind_text(st, 2, m.key.data(), static_cast<int>(m.key.size()), SQLITE_STATIC);
      if (m.value) {
        sqlite3_bind_blob(st, 3, m.value->data(), static_cast<int>(m.value->size()), SQLITE_STATIC);
      }
      if (sqlite3_step(st) != SQLITE_DONE) {
        absl::Status s = SqlError(db_, "write");
        sqlite3_reset(st);
        (void)Exec("ROLLBACK");
        return s;
      }
      sqlite3_reset(st);
    }
  }
  return Exec("COMMIT");
}

}  // namespace pwire::server
