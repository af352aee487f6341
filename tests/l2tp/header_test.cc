// Tests of the L2TP header codecs against hand-written bytes from RFC 3931 §3.2, §4.1,
// §4.6 and RFC 2661 §3.1.
#include "agent/l2tp/header.h"

#include <gtest/gtest.h>

#include <vector>

namespace pwire::l2tp {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(HeaderTest, ParsesV3ControlHeaderOverUdp) {
  // T L x x S x x x x x x x Ver=3 | Length 12 | CCID 0x01020304 | Ns 5 | Nr 6
  Bytes b = {0xc8, 0x03, 0x00, 0x0c, 0x01, 0x02, 0x03, 0x04, 0x00, 0x05, 0x00, 0x06};
  auto v = ParseControlHeader(b, Transport::kUdp);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->header.version, 3);
  EXPECT_EQ(v->header.connection_id, 0x01020304u);
  EXPECT_EQ(v->header.ns, 5);
  EXPECT_EQ(v->header.nr, 6);
  EXPECT_TRUE(v->avps.empty());
  Bytes out;
  AppendControlHeader(out, v->header, 12, Transport::kUdp);
  EXPECT_EQ(out, b);
}

TEST(HeaderTest, ParsesV3ControlHeaderOverIpAfterZeroSessionId) {
  Bytes b = {0, 0, 0, 0, 0xc8, 0x03, 0x00, 0x0c, 0, 0, 0, 9, 0, 1, 0, 2};
  auto v = ParseControlHeader(b, Transport::kIp);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->header.connection_id, 9u);
  EXPECT_EQ(v->message.size(), 12u);  // Length excludes the zero session ID (§4.1.1.2)
  Bytes out;
  AppendControlHeader(out, v->header, 12, Transport::kIp);
  EXPECT_EQ(out, b);
  EXPECT_EQ(ClassifyIp(b), PacketKind::kV3Control);
}

TEST(HeaderTest, ParsesV2ControlHeader) {
  // T L S Ver=2 | Length 12 | Tunnel 0x1234 | Session 0x5678 | Ns 1 | Nr 2
  Bytes b = {0xc8, 0x02, 0x00, 0x0c, 0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x00, 0x02};
  auto v = ParseControlHeader(b, Transport::kUdp);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->header.version, 2);
  EXPECT_EQ(v->header.connection_id, 0x1234u);
  EXPECT_EQ(v->header.session_id, 0x5678);
  Bytes out;
  AppendControlHeader(out, v->header, 12, Transport::kUdp);
  EXPECT_EQ(out, b);
  EXPECT_EQ(ClassifyUdp(b), PacketKind::kV2Control);
}

TEST(HeaderTest, RejectsMalformedControlHeaders) {
  Bytes good = {0xc8, 0x03, 0x00, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0};
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseControlHeader(std::span(good).first(n), Transport::kUdp).ok()) << n;
  }
  Bytes no_s = good;
  no_s[0] = 0xc0;
  EXPECT_FALSE(ParseControlHeader(no_s, Transport::kUdp).ok());
  Bytes v1 = good;
  v1[1] = 0x01;  // L2F
  EXPECT_FALSE(ParseControlHeader(v1, Transport::kUdp).ok());
  Bytes long_length = good;
  long_length[3] = 0x0d;
  EXPECT_FALSE(ParseControlHeader(long_length, Transport::kUdp).ok());
  Bytes short_length = good;
  short_length[3] = 0x0b;
  EXPECT_FALSE(ParseControlHeader(short_length, Transport::kUdp).ok());
  Bytes v2_offset = good;
  v2_offset[0] = 0xca;  // O bit
  v2_offset[1] = 0x02;
  EXPECT_FALSE(ParseControlHeader(v2_offset, Transport::kUdp).ok());
  Bytes ip_nonzero = {0, 0, 0, 1, 0xc8, 0x03, 0x00, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_FALSE(ParseControlHeader(ip_nonzero, Transport::kIp).ok());
}

TEST(HeaderTest, ClassifiesUdpPackets) {
  EXPECT_EQ(ClassifyUdp(Bytes{0xc8, 0x03}), PacketKind::kV3Control);
  EXPECT_EQ(ClassifyUdp(Bytes{0x00, 0x03}), PacketKind::kV3Data);
  EXPECT_EQ(ClassifyUdp(Bytes{0x40, 0x02}), PacketKind::kV2Data);
  EXPECT_EQ(ClassifyUdp(Bytes{0xc8, 0x01}), PacketKind::kInvalid);
  EXPECT_EQ(ClassifyUdp(Bytes{0xc8}), PacketKind::kInvalid);
}

TEST(HeaderTest, V3DataOverUdpWithCookieAndSublayer) {
  // T=0 Ver=3 | Reserved | Session 0xdeadbeef | Cookie 4 bytes | x S seq=0x000102 | payload
  Bytes b = {0x00, 0x03, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 1,
             2,    3,    4,    0x40, 0x00, 0x01, 0x02, 0xaa, 0xbb};
  auto id = PeekV3SessionId(b, Transport::kUdp);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0xdeadbeefu);
  auto v = ParseV3Data(b, Transport::kUdp, 4, true);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(Bytes(v->cookie.begin(), v->cookie.end()), (Bytes{1, 2, 3, 4}));
  ASSERT_TRUE(v->sublayer.has_value());
  EXPECT_EQ(*v->sublayer, (DefaultSublayer{.sequenced = true, .sequence = 0x102}));
  EXPECT_EQ(Bytes(v->payload.begin(), v->payload.end()), (Bytes{0xaa, 0xbb}));
  Bytes out;
  AppendV3DataHeader(out, Transport::kUdp, 0xdeadbeef, Bytes{1, 2, 3, 4},
                     DefaultSublayer{.sequenced = true, .sequence = 0x102});
  out.insert(out.end(), {0xaa, 0xbb});
  EXPECT_EQ(out, b);
}

TEST(HeaderTest, V3DataOverIpWithEightByteCookie) {
  Bytes b = {0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0x55};
  EXPECT_EQ(ClassifyIp(b), PacketKind::kV3Data);
  auto v = ParseV3Data(b, Transport::kIp, 8, false);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->session_id, 7u);
  EXPECT_FALSE(v->sublayer.has_value());
  EXPECT_EQ(v->payload.size(), 1u);
  EXPECT_FALSE(ParseV3Data(std::span(b).first(11), Transport::kIp, 8, false).ok());
  EXPECT_FALSE(ParseV3Data(std::span(b).first(12), Transport::kIp, 8, true).ok());
  EXPECT_FALSE(ParseV3Data(b, Transport::kIp, 5, false).ok());
}

TEST(HeaderTest, DefaultSublayerIgnoresReservedBits) {
  EXPECT_EQ(DecodeDefaultSublayer(0xbfffffff),
            (DefaultSublayer{.sequenced = false, .sequence = 0xffffff}));
  EXPECT_EQ(EncodeDefaultSublayer({.sequenced = true, .sequence = 0x1ffffff}), 0x40ffffffu);
}

TEST(HeaderTest, V2DataWithAllOptionalFields) {
  // T=0 L=1 S=1 O=1 P=1 Ver=2 | Length | Tunnel | Session | Ns | Nr | Offset 2 | pad | data
  Bytes b = {0x4b, 0x02, 0x00, 0x13, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03,
             0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0xff, 0x03, 0xc0};
  auto v = ParseV2Data(b);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->header.tunnel_id, 1);
  EXPECT_EQ(v->header.session_id, 2);
  EXPECT_EQ(v->header.ns, 3);
  EXPECT_TRUE(v->header.priority);
  EXPECT_EQ(v->header.offset, 2);
  EXPECT_EQ(Bytes(v->payload.begin(), v->payload.end()), (Bytes{0xff, 0x03, 0xc0}));
  Bytes out;
  AppendV2DataHeader(out, v->header, 3);
  out.insert(out.end(), {0xff, 0x03, 0xc0});
  EXPECT_EQ(out, b);
}

TEST(HeaderTest, V2DataMinimalAndMalformed) {
  Bytes minimal = {0x00, 0x02, 0x00, 0x05, 0x00, 0x06, 0x21};
  auto v = ParseV2Data(minimal);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->header.has_length);
  EXPECT_FALSE(v->header.ns.has_value());
  EXPECT_EQ(v->payload.size(), 1u);
  Bytes offset_past_end = {0x02, 0x02, 0x00, 0x01, 0x00, 0x01, 0x00, 0x09};
  EXPECT_FALSE(ParseV2Data(offset_past_end).ok());
  Bytes length_past_end = {0x40, 0x02, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01};
  EXPECT_FALSE(ParseV2Data(length_past_end).ok());
  Bytes length_inside_header = {0x40, 0x02, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01};
  EXPECT_FALSE(ParseV2Data(length_inside_header).ok());
}

}  // namespace
}  // namespace pwire::l2tp
