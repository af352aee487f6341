// Userspace offloads: checksums against RFC 1071 examples, TSO segmentation into valid
// segments, and coalescing back into one GSO frame (and refusing what must not merge).
#include "agent/dataplane/userspace_offload.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "pwire/base/bytes.h"

namespace pwire::dataplane {
namespace {

using base::LoadBe16;
using base::LoadBe32;
using base::StoreBe16;
using base::StoreBe32;

// An Ethernet + IPv4 + TCP (with 12 bytes of options) frame with `payload` bytes, checksummed.
std::vector<uint8_t> TcpV4Frame(size_t payload, uint32_t seq, uint8_t flags = 0x10,
                                bool fill_lengths = true) {
  std::vector<uint8_t> f(14 + 20 + 32 + payload);
  std::memset(f.data(), 0x11, 6);
  std::memset(f.data() + 6, 0x22, 6);
  StoreBe16(&f[12], 0x0800);
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  StoreBe16(ip + 2, static_cast<uint16_t>(fill_lengths ? 20 + 32 + payload : 0));
  StoreBe16(ip + 4, 1000);
  StoreBe16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 6;
  StoreBe32(ip + 12, 0x0A000001);
  StoreBe32(ip + 16, 0x0A000002);
  uint8_t* tcp = ip + 20;
  StoreBe16(tcp, 5001);
  StoreBe16(tcp + 2, 40000);
  StoreBe32(tcp + 4, seq);
  StoreBe32(tcp + 8, 555);
  tcp[12] = 8 << 4;
  tcp[13] = flags;
  StoreBe16(tcp + 14, 512);
  tcp[20] = 1;
  tcp[21] = 1;
  tcp[22] = 8;
  tcp[23] = 10;  // timestamps option
  for (size_t i = 0; i < payload; ++i) {
    f[66 + i] = static_cast<uint8_t>(i * 7 + seq);
  }
  return f;
}

// The pseudo-header + TCP checksum verifies (sums to 0xFFFF), and so does the IP header.
bool ChecksumsValid(const uint8_t* f, size_t len) {
  const uint8_t* ip = f + 14;
  if (FoldChecksum(ChecksumAdd(ip, 20, 0)) != 0xFFFF) {
    return false;
  }
  uint64_t sum = ChecksumAdd(ip + 12, 8, 0) + htons(6) + htons(static_cast<uint16_t>(len - 34));
  return FoldChecksum(ChecksumAdd(ip + 20, len - 34, sum)) == 0xFFFF;
}

void FillChecksums(std::vector<uint8_t>& f) {
  uint8_t* ip = &f[14];
  ip[10] = ip[11] = 0;
  uint16_t c = ~FoldChecksum(ChecksumAdd(ip, 20, 0));
  std::memcpy(ip + 10, &c, 2);
  uint8_t* tcp = ip + 20;
  tcp[16] = tcp[17] = 0;
  uint64_t sum =
      ChecksumAdd(ip + 12, 8, 0) + htons(6) + htons(static_cast<uint16_t>(f.size() - 34));
  c = ~FoldChecksum(ChecksumAdd(tcp, f.size() - 34, sum));
  std::memcpy(tcp + 16, &c, 2);
}

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (in network order).
  std::vector<uint8_t> b = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  uint16_t s = FoldChecksum(ChecksumAdd(b.data(), b.size(), 0));
  uint8_t out[2];
  std::memcpy(out, &s, 2);
  EXPECT_EQ(LoadBe16(out), 0xddf2);
}

TEST(ChecksumTest, OddLengthsAndLongBuffersAgreeWithBytewiseSum) {
  std::vector<uint8_t> b(4194304 + 41);  // past 32768 64-byte blocks: lanes are flushed
  uint32_t x = 12345;
  for (uint8_t& v : b) {
    x = x * 1103515245 + 12345;  // all byte values, so that lanes fill up
    v = static_cast<uint8_t>(x >> 23) | 0xC0;
  }
  for (size_t len : {0u, 1u, 2u, 3u, 31u, 33u, 64u, 65u, 127u, 1001u, 65539u, 4194304u + 41u}) {
    uint64_t ref = 0;
    for (size_t i = 0; i < len; i += 2) {
      ref += (uint32_t{b[i]} << 8) | (i + 1 < len ? b[i + 1] : 0);
    }
    while ((ref >> 16) != 0) {
      ref = (ref & 0xFFFF) + (ref >> 16);
    }
    uint16_t s = FoldChecksum(ChecksumAdd(b.data(), len, 0));
    uint8_t out[2];
    std::memcpy(out, &s, 2);
    EXPECT_EQ(LoadBe16(out), ref) << "len " << len;
  }
}

TEST(ParseTcpFrameTest, FindsOffsetsAndRejectsOthers) {
  auto f = TcpV4Frame(100, 1);
  auto t = ParseTcpFrame(f, true);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->l3, 14u);
  EXPECT_EQ(t->l4, 34u);
  EXPECT_EQ(t->header_len, 66u);
  f[14 + 9] = 17;  // UDP
  EXPECT_FALSE(ParseTcpFrame(f, true).has_value());
  auto g = TcpV4Frame(100, 1);
  StoreBe16(&g[14 + 6], 0x2000);  // more fragments
  EXPECT_FALSE(ParseTcpFrame(g, true).has_value());
  EXPECT_FALSE(ParseTcpFrame(std::vector<uint8_t>(20), true).has_value());
}

TEST(SegmentTcpTest, CutsASuperFrameIntoValidSegments) {
  const size_t mss = 1000;
  auto f = TcpV4Frame(2500, 5000, 0x18 /* ACK|PSH */, /*fill_lengths=*/false);
  auto t = ParseTcpFrame(f, false);
  ASSERT_TRUE(t.has_value());
  constexpr size_t kStride = 160, kPrefix = 8;
  std::vector<uint8_t> storage(4 * kStride);
  Segment segs[4];
  size_t n = SegmentTcp(f, *t, mss, storage.data(), kStride, kPrefix, segs, 4);
  ASSERT_EQ(n, 3u);
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint8_t> seg(segs[i].header, segs[i].header + t->header_len);
    seg.insert(seg.end(), segs[i].payload, segs[i].payload + segs[i].payload_len);
    EXPECT_EQ(segs[i].header, storage.data() + i * kStride + kPrefix);
    EXPECT_EQ(segs[i].payload_len, i < 2 ? 1000u : 500u);
    EXPECT_EQ(LoadBe16(&seg[16]), seg.size() - 14);   // IP total length
    EXPECT_EQ(LoadBe32(&seg[38]), 5000u + i * mss);   // TCP sequence
    EXPECT_EQ(seg[47] & 0x08, i == 2 ? 0x08 : 0x00);  // PSH on the last only
    EXPECT_TRUE(ChecksumsValid(seg.data(), seg.size())) << "segment " << i;
  }
  EXPECT_EQ(SegmentTcp(f, *t, mss, storage.data(), kStride, kPrefix, segs, 2), 0u);
}

struct Written {
  std::vector<uint8_t> vnet;
  std::vector<uint8_t> frame;
  int frames;
};

class CoalescerTest : public ::testing::Test {
 protected:
  CoalescerTest()
      : co_([this](void* target, const iovec* iov, int n, int frames) {
          Written w;
          w.vnet.assign(static_cast<uint8_t*>(iov[0].iov_base),
                        static_cast<uint8_t*>(iov[0].iov_base) + iov[0].iov_len);
          for (int i = 1; i < n; ++i) {
            auto* p = static_cast<uint8_t*>(iov[i].iov_base);
            w.frame.insert(w.frame.end(), p, p + iov[i].iov_len);
          }
          w.frames = frames;
          targets_.push_back(target);
          out_.push_back(std::move(w));
        }) {}
  std::vector<Written> out_;
  std::vector<void*> targets_;
  TcpCoalescer co_;
  int a_ = 0, b_ = 0;
};

TEST_F(CoalescerTest, MergesInOrderSegmentsIntoOneGsoFrame) {
  std::vector<std::vector<uint8_t>> segs;
  for (uint32_t i = 0; i < 3; ++i) {
    segs.push_back(TcpV4Frame(1000, 100 + i * 1000));
    FillChecksums(segs.back());
  }
  for (auto& s : segs) {
    co_.Add(&a_, s.data(), s.size());
  }
  co_.Flush();
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].frames, 3);
  VnetHeader vh;
  std::memcpy(&vh, out_[0].vnet.data(), sizeof vh);
  EXPECT_EQ(vh.gso_type, kVnetGsoTcpV4);
  EXPECT_EQ(vh.gso_size, 1000);
  EXPECT_EQ(vh.hdr_len, 66);
  EXPECT_EQ(vh.csum_start, 34);
  EXPECT_EQ(out_[0].frame.size(), 66u + 3000u);
  EXPECT_EQ(LoadBe16(&out_[0].frame[16]), 20u + 32u + 3000u);
  EXPECT_EQ(FoldChecksum(ChecksumAdd(&out_[0].frame[14], 20, 0)), 0xFFFF);
}

TEST_F(CoalescerTest, GapOtherTargetAndBadChecksumAreNotMerged) {
  auto s1 = TcpV4Frame(1000, 100);
  auto s2 = TcpV4Frame(1000, 3100);  // a gap
  auto s3 = TcpV4Frame(1000, 4100);
  auto s4 = TcpV4Frame(1000, 5100);
  for (auto* s : {&s1, &s2, &s3, &s4}) {
    FillChecksums(*s);
  }
  s4[70] ^= 0xFF;  // corrupt payload
  co_.Add(&a_, s1.data(), s1.size());
  co_.Add(&a_, s2.data(), s2.size());
  co_.Add(&b_, s3.data(), s3.size());
  co_.Add(&b_, s4.data(), s4.size());
  co_.Flush();
  ASSERT_EQ(out_.size(), 4u);
  for (const Written& w : out_) {
    EXPECT_EQ(w.frames, 1);
  }
  EXPECT_EQ(co_.bad_checksums(), 1u);
  EXPECT_EQ(targets_[2], &b_);
}

TEST_F(CoalescerTest, AVerifiedOuterChecksumSkipsTheTcpChecksum) {
  auto s1 = TcpV4Frame(1000, 100);
  auto s2 = TcpV4Frame(1000, 1100);
  FillChecksums(s1);  // s2's TCP checksum stays wrong: only summing it would notice
  co_.Add(&a_, s1.data(), s1.size(), /*checksum_verified=*/true);
  co_.Add(&a_, s2.data(), s2.size(), /*checksum_verified=*/true);
  co_.Flush();
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].frames, 2);
  EXPECT_EQ(co_.bad_checksums(), 0u);
  co_.Add(&a_, s2.data(), s2.size());
  co_.Flush();
  EXPECT_EQ(co_.bad_checksums(), 1u);
}

TEST_F(CoalescerTest, NonTcpAndSynPassThroughInOrder) {
  auto seg = TcpV4Frame(1000, 100);
  FillChecksums(seg);
  auto syn = TcpV4Frame(0, 99, 0x02);
  std::vector<uint8_t> arp(60, 0);
  StoreBe16(&arp[12], 0x0806);
  co_.Add(&a_, seg.data(), seg.size());
  co_.Add(&a_, arp.data(), arp.size());
  co_.Add(&a_, syn.data(), syn.size());
  co_.Flush();
  ASSERT_EQ(out_.size(), 3u);
  EXPECT_EQ(out_[0].frame.size(), seg.size());
  EXPECT_EQ(out_[1].frame.size(), arp.size());
  EXPECT_EQ(out_[2].frame.size(), syn.size());
}

}  // namespace
}  // namespace pwire::dataplane
