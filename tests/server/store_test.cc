#include <atomic>
#include <future>

#include "gtest/gtest.h"
#include "server/sqlite_store.h"
#include "tests/server/test_util.h"

namespace pwire::server {
namespace {

TEST(SqliteStoreTest, CommitsSurviveReopen) {
  testing::TempDir dir;
  std::string path = dir.path() + "/sub/pwire.db";
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(
        (*store)
            ->CommitSync({{RecordKind::kPseudowire, "a", "1"}, {RecordKind::kClass, "a", "2"}})
            .ok());
    ASSERT_TRUE((*store)
                    ->CommitSync({{RecordKind::kPseudowire, "a", std::nullopt},
                                  {RecordKind::kPseudowire, "b", "3"}})
                    .ok());
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto records = (*store)->LoadAll();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].kind, RecordKind::kClass);
  EXPECT_EQ((*records)[1].key, "b");
  EXPECT_EQ((*records)[1].value, "3");
}

TEST(SqliteStoreTest, ConcurrentCommitsAreGroupedAndAllDurable) {
  testing::TempDir dir;
  auto store = SqliteStore::Open(dir.path() + "/pwire.db");
  ASSERT_TRUE(store.ok());
  constexpr int kN = 500;
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < kN; ++i) {
    (*store)->Commit({{RecordKind::kPseudowire, "k" + std::to_string(i), "v"}},
                     [&](absl::Status s) {
                       EXPECT_TRUE(s.ok());
                       if (++done == kN) all.set_value();
                     });
  }
  all.get_future().wait();
  EXPECT_LT((*store)->groups(), static_cast<uint64_t>(kN));
  EXPECT_EQ((*store)->LoadAll()->size(), static_cast<size_t>(kN));
}

TEST(SqliteStoreTest, RefusesNewerSchema) {
  testing::TempDir dir;
  std::string path = dir.path() + "/pwire.db";
  { ASSERT_TRUE(SqliteStore::Open(path).ok()); }
  std::string cmd = "sqlite3 " + path + " 'PRAGMA user_version=99' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "sqlite3 CLI not installed";
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pwire::server
