// Random sources: SystemRandom hands out the kernel's bytes a block at a time, never the same
// bytes twice, small and large requests alike; SeededRandom repeats for one seed.
#include "pwire/base/random.h"

#include <array>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace pwire::base {
namespace {

TEST(SystemRandomTest, SmallDrawsAcrossManyBlocksNeverRepeat) {
  SystemRandom r;
  std::set<uint64_t> seen;
  // 4,000 draws of 8 bytes span 125 blocks of 256: a block served twice would repeat values.
  for (int i = 0; i < 4000; ++i) EXPECT_TRUE(seen.insert(r.Next64()).second) << "draw " << i;
}

TEST(SystemRandomTest, MixedSizesFillEveryByte) {
  SystemRandom r;
  std::set<std::vector<uint8_t>> seen;
  for (size_t n : {1, 3, 8, 63, 64, 65, 200, 256, 1000, 5}) {
    std::vector<uint8_t> out(n + 2, 0xAA);
    r.Fill(std::span<uint8_t>(out).subspan(1, n));
    EXPECT_EQ(out.front(), 0xAA) << n;  // nothing written outside the span
    EXPECT_EQ(out.back(), 0xAA) << n;
    if (n >= 8) {
      std::vector<uint8_t> inner(out.begin() + 1, out.end() - 1);
      EXPECT_NE(inner, std::vector<uint8_t>(n, 0xAA)) << n;
      EXPECT_NE(inner, std::vector<uint8_t>(n, 0)) << n;
      EXPECT_TRUE(seen.insert(inner).second) << n;
    }
  }
}

TEST(SystemRandomTest, TwoInstancesDrawIndependently) {
  SystemRandom a;
  SystemRandom b;
  std::array<uint8_t, 16> x{};
  std::array<uint8_t, 16> y{};
  a.Fill(x);
  b.Fill(y);
  EXPECT_NE(x, y);
}

TEST(SeededRandomTest, SameSeedSameSequence) {
  SeededRandom a(7);
  SeededRandom b(7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Next64(), b.Next64());
}

}  // namespace
}  // namespace pwire::base
