// Every control message type of both versions against hand-written bytes: the encoder
// must produce them, the decoder must read them back into the same typed message, and
// encode(decode(bytes)) must give the bytes again.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/escaping.h"
#include "tests/l2tp/golden_messages.h"

namespace pwire::l2tp::testing {
namespace {

std::string ToHex(const Bytes& b) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

class GoldenTest : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenTest, EncodesToTheHandWrittenBytes) {
  const Golden& g = GetParam();
  auto wire = EncodeControl(g.header, g.message, Transport::kUdp);
  ASSERT_TRUE(wire.ok()) << wire.status();
  EXPECT_EQ(ToHex(*wire), ToHex(FromHex(g.hex)));
}

TEST_P(GoldenTest, DecodesTheHandWrittenBytes) {
  const Golden& g = GetParam();
  Bytes bytes = FromHex(g.hex);
  auto p = DecodeControl(bytes, Transport::kUdp);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->fatal.has_value()) << p->fatal->detail;
  EXPECT_TRUE(p->ignored.empty());
  EXPECT_EQ(p->header, g.header);
  EXPECT_EQ(p->message, g.message);
  auto again = EncodeControl(p->header, p->message, Transport::kUdp);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, bytes);
}

TEST_P(GoldenTest, EveryTruncationIsRejectedOrShorter) {
  // Cutting the packet anywhere must give an error (the Length field no longer fits), never a
  // crash or an out-of-bounds read (ASan watches).
  Bytes bytes = FromHex(GetParam().hex);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeControl(std::span(bytes).first(n), Transport::kUdp).ok()) << n;
  }
}

// L2TPv3 only: L2TPv2 has no IP form (RFC 2661 runs over UDP), so the v2 goldens are not
// instantiated here at all.
class GoldenV3Test : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenV3Test, RoundTripsOverIp) {
  const Golden& g = GetParam();
  ASSERT_EQ(g.header.version, 3);
  auto wire = EncodeControl(g.header, g.message, Transport::kIp);
  ASSERT_TRUE(wire.ok());
  Bytes expected = FromHex("00000000" + g.hex);
  EXPECT_EQ(*wire, expected);
  auto p = DecodeControl(*wire, Transport::kIp);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->message, g.message);
}

std::vector<Golden> All() {
  std::vector<Golden> all = GoldenV3Messages();
  for (Golden& g : GoldenV2Messages()) {
    all.push_back(std::move(g));
  }
  return all;
}

std::string TestName(const ::testing::TestParamInfo<Golden>& param_info) {
  std::string name = param_info.param.name;
  for (char& c : name) {
    if (c == ' ') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllMessageTypes, GoldenTest, ::testing::ValuesIn(All()), TestName);
INSTANTIATE_TEST_SUITE_P(V3MessageTypes, GoldenV3Test, ::testing::ValuesIn(GoldenV3Messages()),
                         TestName);

TEST(GoldenCoverageTest, EveryKnownMessageTypeHasAGoldenInEachVersion) {
  for (uint8_t version : {2, 3}) {
    std::set<MessageType> seen;
    for (const Golden& g : All()) {
      if (g.header.version == version) {
        seen.insert(g.message.type());
      }
    }
    for (int t = 1; t <= 20; ++t) {
      auto type = static_cast<MessageType>(t);
      if (!IsKnownMessageType(type) || (version == 2 && type == MessageType::kAck)) {
        continue;
      }
      EXPECT_TRUE(seen.count(type)) << int{version} << " " << MessageTypeName(type);
    }
    EXPECT_TRUE(seen.count(MessageType::kZlb));
  }
}

}  // namespace
}  // namespace pwire::l2tp::testing
