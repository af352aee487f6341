// Userspace checksums, TSO segmentation and GRO-like coalescing: see userspace_offload.h.
#include "agent/dataplane/userspace_offload.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "pwire/base/bytes.h"

namespace pwire::dataplane {
namespace {

using base::LoadBe16;
using base::LoadBe32;
using base::StoreBe16;
using base::StoreBe32;

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpCwr = 0x80;
constexpr size_t kMaxMerged = 65000;  // IP length fields are 16 bits

// The TCP pseudo-header sum (RFC 793 §3.1, RFC 8200 §8.1) for a segment of `tcp_len` bytes.
uint64_t PseudoHeaderSum(const uint8_t* ip, bool v6, size_t tcp_len) {
  uint64_t sum = v6 ? ChecksumAdd(ip + 8, 32, 0) : ChecksumAdd(ip + 12, 8, 0);
  sum += htons(IPPROTO_TCP);
  sum += htons(static_cast<uint16_t>(tcp_len));
  return sum;
}

void StoreChecksum(uint8_t* at, uint16_t folded_complemented) {
  std::memcpy(at, &folded_complemented, 2);
}

}  // namespace

// Built twice, for AVX2 and for baseline x86-64, the loader picking one (GCC target_clones):
// with AVX2 a 32-byte vector is one register, else two SSE2 halves.
__attribute__((target_clones("avx2", "default"))) uint64_t ChecksumAdd(const uint8_t* p, size_t len,
                                                                       uint64_t sum) {
  // 16-bit words summed into 32-bit vector lanes (RFC 1071 §2: order and grouping do not
  // matter), the low and high halves of each 32-bit word apart so that no lane overflows:
  // a lane takes at most 2 * 0xFFFF per 64-byte block, and blocks are flushed every 32768.
  using V = uint32_t __attribute__((vector_size(32)));
  V lo = {};
  V hi = {};
  uint64_t total = sum;
  size_t blocks = 0;
  auto flush = [&] {
    for (int i = 0; i < 8; ++i) {
      total += uint64_t{lo[i]} + hi[i];
    }
    lo = V{};
    hi = V{};
    blocks = 0;
  };
  while (len >= 64) {
    V a;
    V b;
    std::memcpy(&a, p, 32);
    std::memcpy(&b, p + 32, 32);
    lo += (a & 0xFFFF) + (b & 0xFFFF);
    hi += (a >> 16) + (b >> 16);
    p += 64;
    len -= 64;
    if (++blocks == 32768) {
      flush();
    }
  }
  flush();
  while (len >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    total += w;
    p += 4;
    len -= 4;
  }
  uint32_t tail = 0;
  std::memcpy(&tail, p, len);  // zero padded: an odd last byte is the first of its word
  return total + tail;
}

uint16_t FoldChecksum(uint64_t sum) {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

bool CompletePartialChecksum(std::span<uint8_t> frame, size_t csum_start, size_t csum_offset) {
  if (csum_start >= frame.size() || csum_offset + 2 > frame.size() - csum_start) {
    return false;
  }
  uint16_t c = ~FoldChecksum(ChecksumAdd(&frame[csum_start], frame.size() - csum_start, 0));
  StoreChecksum(&frame[csum_start + csum_offset], c);
  return true;
}

std::optional<TcpFrame> ParseTcpFrame(std::span<const uint8_t> frame, bool check_ip_length) {
  const uint8_t* f = frame.data();
  size_t len = frame.size();
  if (len < 14) {
    return std::nullopt;
  }
  TcpFrame t;
  uint16_t type = LoadBe16(f + 12);
  t.l3 = 14;
  if (type == 0x8100 || type == 0x88A8) {
    if (len < 18) {
      return std::nullopt;
    }
    type = LoadBe16(f + 16);
    t.l3 = 18;
  }
  const uint8_t* ip = f + t.l3;
  if (type == 0x0800) {
    if (len < t.l3 + 20 || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP) {
      return std::nullopt;
    }
    size_t ihl = size_t{ip[0] & 15u} * 4;
    if (ihl < 20 || (LoadBe16(ip + 6) & 0x3FFF) != 0) {
      return std::nullopt;  // options too short, or a fragment
    }
    t.l4 = t.l3 + ihl;
    if (check_ip_length && LoadBe16(ip + 2) != len - t.l3) {
      return std::nullopt;
    }
  } else if (type == 0x86DD) {
    if (len < t.l3 + 40 || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_TCP) {
      return std::nullopt;  // extension headers are not handled here
    }
    t.v6 = true;
    t.l4 = t.l3 + 40;
    if (check_ip_length && LoadBe16(ip + 4) != len - t.l4) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (len < t.l4 + 20) {
    return std::nullopt;
  }
  size_t doff = size_t{static_cast<uint8_t>(f[t.l4 + 12] >> 4)} * 4;
  if (doff < 20 || t.l4 + doff > len || t.l4 + doff > kMaxInnerHeader) {
    return std::nullopt;
  }
  t.header_len = t.l4 + doff;
  return t;
}

size_t SegmentTcp(std::span<const uint8_t> frame, const TcpFrame& t, size_t mss, uint8_t* storage,
                  size_t stride, size_t prefix, Segment* out, size_t max_segments) {
  size_t hl = t.header_len;
  if (mss == 0 || frame.size() <= hl || prefix + hl > stride) {
    return 0;
  }
  size_t payload = frame.size() - hl;
  size_t n = (payload + mss - 1) / mss;
  if (n > max_segments) {
    return 0;
  }
  const uint8_t* f = frame.data();
  uint32_t seq0 = LoadBe32(f + t.l4 + 4);
  uint16_t id0 = t.v6 ? 0 : LoadBe16(f + t.l3 + 4);
  uint8_t flags = f[t.l4 + 13];
  size_t ihl = t.l4 - t.l3;
  for (size_t i = 0; i < n; ++i) {
    size_t len_i = std::min(mss, payload - i * mss);
    const uint8_t* data = f + hl + i * mss;
    uint8_t* h = storage + i * stride + prefix;
    std::memcpy(h, f, hl);
    uint8_t* ip = h + t.l3;
    uint8_t* tcp = h + t.l4;
    size_t tcp_len = hl - t.l4 + len_i;
    if (t.v6) {
      StoreBe16(ip + 4, static_cast<uint16_t>(tcp_len));
    } else {
      StoreBe16(ip + 2, static_cast<uint16_t>(ihl + tcp_len));
      StoreBe16(ip + 4, static_cast<uint16_t>(id0 + i));
      ip[10] = ip[11] = 0;
      StoreChecksum(ip + 10, ~FoldChecksum(ChecksumAdd(ip, ihl, 0)));
    }
    StoreBe32(tcp + 4, static_cast<uint32_t>(seq0 + i * mss));
    uint8_t fl = flags;
    if (i > 0) {
      fl &= ~kTcpCwr;
    }
    if (i + 1 < n) {
      fl &= ~(kTcpFin | kTcpPsh);
    }
    tcp[13] = fl;
    tcp[16] = tcp[17] = 0;
    uint64_t sum = PseudoHeaderSum(ip, t.v6, tcp_len);
    sum = ChecksumAdd(tcp, hl - t.l4, sum);
    sum = ChecksumAdd(data, len_i, sum);
    StoreChecksum(tcp + 16, ~FoldChecksum(sum));
    out[i] = Segment{h, data, len_i};
  }
  return n;
}

bool TcpCoalescer::ChecksumOk(const uint8_t* frame, const TcpFrame& t, size_t len) const {
  uint64_t sum = PseudoHeaderSum(frame + t.l3, t.v6, len - t.l4);
  sum = ChecksumAdd(frame + t.l4, len - t.l4, sum);
  return FoldChecksum(sum) == 0xFFFF;
}

bool TcpCoalescer::CanAppend(const uint8_t* f, const TcpFrame& t, size_t payload,
                             uint32_t seq) const {
  const uint8_t* g = first_;
  if (ended_ || t.v6 != flow_.v6 || t.l3 != flow_.l3 || t.l4 != flow_.l4 ||
      t.header_len != flow_.header_len || seq != next_seq_ || payload > mss_ ||
      flow_.header_len + total_payload_ + payload > kMaxMerged || iovcnt_ >= kMaxIov) {
    return false;
  }
  if (std::memcmp(f, g, t.l3) != 0) {
    return false;  // Ethernet header (and VLAN tag)
  }
  const uint8_t* ip = f + t.l3;
  const uint8_t* gip = g + t.l3;
  if (t.v6) {
    if (std::memcmp(ip, gip, 4) != 0 || ip[7] != gip[7] || std::memcmp(ip + 8, gip + 8, 32) != 0) {
      return false;
    }
  } else if (ip[1] != gip[1] || ip[8] != gip[8] || std::memcmp(ip + 12, gip + 12, 8) != 0 ||
             std::memcmp(ip + 20, gip + 20, t.l4 - t.l3 - 20) != 0) {
    return false;
  }
  const uint8_t* tcp = f + t.l4;
  const uint8_t* gtcp = g + t.l4;
  return std::memcmp(tcp, gtcp, 4) == 0 &&            // ports
         std::memcmp(tcp + 8, gtcp + 8, 5) == 0 &&    // ack number, data offset
         std::memcmp(tcp + 14, gtcp + 14, 2) == 0 &&  // window
         std::memcmp(tcp + 20, gtcp + 20, t.header_len - t.l4 - 20) == 0;  // options
}

void TcpCoalescer::Start(void* target, uint8_t* frame, const TcpFrame& t, size_t len) {
  target_ = target;
  first_ = frame;
  flow_ = t;
  count_ = 1;
  mss_ = len - t.header_len;
  total_payload_ = mss_;
  next_seq_ = LoadBe32(frame + t.l4 + 4) + static_cast<uint32_t>(mss_);
  ended_ = (frame[t.l4 + 13] & kTcpPsh) != 0;
  iovcnt_ = 2;  // [0] virtio-net header, [1] headers
  iov_[iovcnt_++] = iovec{frame + t.header_len, mss_};
}

void TcpCoalescer::PassThrough(void* target, uint8_t* frame, size_t len) {
  Flush();
  static const VnetHeader kNone{};
  iovec iov[2] = {{const_cast<VnetHeader*>(&kNone), sizeof kNone}, {frame, len}};
  writer_(target, iov, 2, 1);
}

void TcpCoalescer::Add(void* target, uint8_t* frame, size_t len, bool checksum_verified) {
  std::optional<TcpFrame> t = ParseTcpFrame({frame, len}, /*check_ip_length=*/true);
  if (!t) {
    PassThrough(target, frame, len);
    return;
  }
  size_t payload = len - t->header_len;
  uint8_t flags = frame[t->l4 + 13];
  if (payload == 0 || (flags & ~kTcpPsh) != kTcpAck) {
    PassThrough(target, frame, len);
    return;
  }
  if (verify_ && !checksum_verified && !ChecksumOk(frame, *t, len)) {
    ++bad_checksums_;
    PassThrough(target, frame, len);  // the kernel counts and drops it
    return;
  }
  uint32_t seq = LoadBe32(frame + t->l4 + 4);
  if (count_ > 0 && target == target_ && CanAppend(frame, *t, payload, seq)) {
    iov_[iovcnt_++] = iovec{frame + t->header_len, payload};
    total_payload_ += payload;
    next_seq_ = seq + static_cast<uint32_t>(payload);
    ++count_;
    if ((flags & kTcpPsh) != 0 || payload < mss_) {
      ended_ = true;
      if ((flags & kTcpPsh) != 0) {
        first_[flow_.l4 + 13] |= kTcpPsh;  // carried into the merged header at Flush
      }
    }
    return;
  }
  Flush();
  Start(target, frame, *t, len);
}

void TcpCoalescer::Flush() {
  if (count_ == 0) {
    return;
  }
  if (count_ == 1) {
    static const VnetHeader kNone{};
    iovec iov[2] = {{const_cast<VnetHeader*>(&kNone), sizeof kNone},
                    {first_, flow_.header_len + total_payload_}};
    writer_(target_, iov, 2, 1);
    count_ = 0;
    return;
  }
  size_t hl = flow_.header_len;
  std::memcpy(header_, first_, hl);
  uint8_t* ip = header_ + flow_.l3;
  uint8_t* tcp = header_ + flow_.l4;
  size_t tcp_len = hl - flow_.l4 + total_payload_;
  if (flow_.v6) {
    StoreBe16(ip + 4, static_cast<uint16_t>(tcp_len));
  } else {
    size_t ihl = flow_.l4 - flow_.l3;
    StoreBe16(ip + 2, static_cast<uint16_t>(ihl + tcp_len));
    ip[10] = ip[11] = 0;
    StoreChecksum(ip + 10, ~FoldChecksum(ChecksumAdd(ip, ihl, 0)));
  }
  tcp[16] = tcp[17] = 0;
  StoreChecksum(tcp + 16, FoldChecksum(PseudoHeaderSum(ip, flow_.v6, tcp_len)));
  vnet_ = VnetHeader{};
  vnet_.flags = kVnetNeedsCsum;
  vnet_.gso_type = flow_.v6 ? kVnetGsoTcpV6 : kVnetGsoTcpV4;
  vnet_.hdr_len = static_cast<uint16_t>(hl);
  vnet_.gso_size = static_cast<uint16_t>(mss_);
  vnet_.csum_start = static_cast<uint16_t>(flow_.l4);
  vnet_.csum_offset = 16;
  iov_[0] = iovec{&vnet_, sizeof vnet_};
  iov_[1] = iovec{header_, hl};
  writer_(target_, iov_, iovcnt_, count_);
  merged_ += count_;
  count_ = 0;
}

}  // namespace pwire::dataplane
