// The L2TPv3 data header as the userspace data plane writes and reads it (RFC 3931 §4.1,
// RFC 4719 §3): byte-exact encodings, cookie checks, spoofed and malformed input, sequencing.
#include "agent/dataplane/userspace_codec.h"

#include <gtest/gtest.h>

#include <vector>

namespace pwire::dataplane {
namespace {

std::vector<uint8_t> Encode(Encap e, uint32_t sid, std::vector<uint8_t> cookie, Sublayer sl,
                            bool seq, uint32_t n) {
  HeaderShape shape{e, cookie.size(), sl};
  std::vector<uint8_t> out(shape.Length());
  EncodeDataHeader(out.data(), e, sid, cookie, sl, seq, n);
  return out;
}

TEST(DataHeaderTest, UdpWithCookieAndSequencedSublayerMatchesLinuxBytes) {
  auto h =
      Encode(Encap::kUdp, 0x01020304, {0xAA, 0xBB, 0xCC, 0xDD}, Sublayer::kDefault, true, 0x123456);
  std::vector<uint8_t> want = {0x00, 0x03, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
                               0xAA, 0xBB, 0xCC, 0xDD, 0x40, 0x12, 0x34, 0x56};
  EXPECT_EQ(h, want);
}

TEST(DataHeaderTest, IpEncapIsSessionIdThenCookieAndNoSublayerWhenNone) {
  auto h = Encode(Encap::kIp, 7, {1, 2, 3, 4, 5, 6, 7, 8}, Sublayer::kNone, false, 0);
  std::vector<uint8_t> want = {0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(h, want);
}

TEST(DataHeaderTest, SublayerWithoutSequencingIsAllZero) {
  auto h = Encode(Encap::kIp, 7, {}, Sublayer::kDefault, false, 99);
  std::vector<uint8_t> want = {0, 0, 0, 7, 0, 0, 0, 0};
  EXPECT_EQ(h, want);
}

TEST(DataHeaderTest, SequenceNumberWrapsAt24Bits) {
  auto h = Encode(Encap::kIp, 1, {}, Sublayer::kDefault, true, 0x01000001);
  EXPECT_EQ(h[4], 0x40);
  EXPECT_EQ(h[7], 0x01);
  EXPECT_EQ(h[5], 0x00);
}

TEST(ClassifyTest, UdpControlDataAndVersion) {
  std::vector<uint8_t> control = {0xC8, 0x03, 0, 12};
  EXPECT_EQ(ClassifyPacket(control, Encap::kUdp).kind, RxKind::kControl);
  auto data = Encode(Encap::kUdp, 42, {}, Sublayer::kNone, false, 0);
  RxPrefix p = ClassifyPacket(data, Encap::kUdp);
  EXPECT_EQ(p.kind, RxKind::kData);
  EXPECT_EQ(p.session_id, 42u);
  std::vector<uint8_t> v2 = {0x00, 0x02, 0, 0, 0, 0, 0, 42};
  EXPECT_EQ(ClassifyPacket(v2, Encap::kUdp).kind, RxKind::kMalformed);
  std::vector<uint8_t> short_data = {0x00, 0x03, 0, 0, 0};
  EXPECT_EQ(ClassifyPacket(short_data, Encap::kUdp).kind, RxKind::kMalformed);
  std::vector<uint8_t> zero_session = {0x00, 0x03, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(ClassifyPacket(zero_session, Encap::kUdp).kind, RxKind::kMalformed);
}

TEST(ClassifyTest, IpSessionZeroIsControl) {
  std::vector<uint8_t> control = {0, 0, 0, 0, 0xC8, 0x03};
  EXPECT_EQ(ClassifyPacket(control, Encap::kIp).kind, RxKind::kControl);
  std::vector<uint8_t> data = {0, 0, 1, 0};
  EXPECT_EQ(ClassifyPacket(data, Encap::kIp).session_id, 256u);
  EXPECT_EQ(ClassifyPacket(std::vector<uint8_t>{0, 0}, Encap::kIp).kind, RxKind::kMalformed);
}

TEST(ParseTest, RoundTripGivesPayloadOffsetAndSequence) {
  std::vector<uint8_t> cookie = {9, 8, 7, 6, 5, 4, 3, 2};
  auto h = Encode(Encap::kUdp, 5, cookie, Sublayer::kDefault, true, 77);
  h.push_back(0xEE);  // first payload byte
  RxData d = ParseDataHeader(h, Encap::kUdp, cookie, Sublayer::kDefault);
  ASSERT_EQ(d.verdict, RxVerdict::kOk);
  EXPECT_TRUE(d.has_seq);
  EXPECT_EQ(d.seq, 77u);
  EXPECT_EQ(d.payload_offset, 20u);
  EXPECT_EQ(h[d.payload_offset], 0xEE);
}

TEST(ParseTest, WrongCookieIsReportedAsSuch) {
  auto h = Encode(Encap::kIp, 5, {1, 2, 3, 4}, Sublayer::kNone, false, 0);
  std::vector<uint8_t> expected = {1, 2, 3, 5};
  EXPECT_EQ(ParseDataHeader(h, Encap::kIp, expected, Sublayer::kNone).verdict,
            RxVerdict::kBadCookie);
}

TEST(ParseTest, TooShortForCookieAndSublayerIsMalformed) {
  auto h = Encode(Encap::kIp, 5, {1, 2, 3, 4}, Sublayer::kNone, false, 0);
  std::vector<uint8_t> expected = {1, 2, 3, 4, 0, 0, 0, 0};
  EXPECT_EQ(ParseDataHeader(h, Encap::kIp, expected, Sublayer::kDefault).verdict,
            RxVerdict::kMalformed);
}

TEST(SeqWindowTest, AcceptsInOrderAndGapsDropsOldAndDuplicates) {
  SeqWindow w;
  EXPECT_TRUE(w.Accept(10));
  EXPECT_TRUE(w.Accept(11));
  EXPECT_FALSE(w.Accept(11));  // duplicate
  EXPECT_TRUE(w.Accept(15));   // a loss
  EXPECT_FALSE(w.Accept(12));  // late
  EXPECT_EQ(w.expected(), 16u);
}

TEST(SeqWindowTest, WrapsAround24Bits) {
  SeqWindow w;
  EXPECT_TRUE(w.Accept(kSeqMask));
  EXPECT_TRUE(w.Accept(0));
  EXPECT_FALSE(w.Accept(kSeqMask));
}

}  // namespace
}  // namespace pwire::dataplane
