// Tables and small formatters: alignment, ages and byte counts as an engineer reads them.
#include "table.h"

#include <gtest/gtest.h>

namespace pwire::cli {
namespace {

TEST(TableTest, PadsColumnsToTheWidestCellAndTrimsTrailingSpace) {
  Table t({"NAME", "TYPE", "STATE"});
  t.AddRow({"pw-long-name", "ethernet", "up"});
  t.AddRow({"b", "ppp"});
  EXPECT_EQ(t.Render(),
            "NAME           TYPE       STATE\n"
            "pw-long-name   ethernet   up\n"
            "b              ppp\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TableTest, HeaderOnlyWhenEmpty) {
  Table t({"A", "B"});
  EXPECT_EQ(t.Render(), "A   B\n");
}

TEST(FormatAgeTest, ReadsLikeKubectl) {
  EXPECT_EQ(FormatAge(-5), "0s");
  EXPECT_EQ(FormatAge(45), "45s");
  EXPECT_EQ(FormatAge(119), "119s");
  EXPECT_EQ(FormatAge(150), "2m30s");
  EXPECT_EQ(FormatAge(600), "10m");
  EXPECT_EQ(FormatAge(4 * 3600 + 20 * 60), "4h20m");
  EXPECT_EQ(FormatAge(30 * 3600), "30h");
  EXPECT_EQ(FormatAge(3 * 86400 + 2 * 3600), "3d2h");
  EXPECT_EQ(FormatAge(40 * 86400), "40d");
  EXPECT_EQ(FormatAge(3 * 365 * 86400), "3y");
}

TEST(FormatBytesTest, BinaryUnits) {
  EXPECT_EQ(FormatBytes(512), "512B");
  EXPECT_EQ(FormatBytes(1536), "1.5KiB");
  EXPECT_EQ(FormatBytes(20ull << 20), "20.0MiB");
}

TEST(OrDashTest, EmptyBecomesDash) {
  EXPECT_EQ(OrDash(""), "-");
  EXPECT_EQ(OrDash("x"), "x");
}

}  // namespace
}  // namespace pwire::cli
