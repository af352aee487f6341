// L2TPv3 data header codec: see userspace_codec.h.
#include "agent/dataplane/userspace_codec.h"

#include <cstring>

#include "pwire/base/bytes.h"

namespace pwire::dataplane {

using base::LoadBe16;
using base::LoadBe32;
using base::StoreBe16;
using base::StoreBe32;

void EncodeDataHeader(uint8_t* out, Encap encap, uint32_t peer_session_id,
                      std::span<const uint8_t> peer_cookie, Sublayer sublayer, bool with_seq,
                      uint32_t seq) {
  size_t at = 0;
  if (encap == Encap::kUdp) {
    StoreBe16(out, 0x0003);  // T=0 (data), Ver=3 (§4.1.2.1)
    StoreBe16(out + 2, 0);   // reserved
    at = 4;
  }
  StoreBe32(out + at, peer_session_id);
  at += 4;
  if (!peer_cookie.empty()) {
    std::memcpy(out + at, peer_cookie.data(), peer_cookie.size());
    at += peer_cookie.size();
  }
  if (sublayer == Sublayer::kDefault) {
    StoreBe32(out + at, with_seq ? (kSublayerSBit | (seq & kSeqMask)) : 0);
  }
}

RxPrefix ClassifyPacket(std::span<const uint8_t> data, Encap encap) {
  RxPrefix p;
  if (encap == Encap::kUdp) {
    if (data.size() < 2) {
      return p;
    }
    uint16_t flags = LoadBe16(data.data());
    if ((flags & 0x000F) != 3) {
      return p;  // not L2TPv3 (§4.1.2.1: Ver MUST be 3)
    }
    if ((flags & 0x8000) != 0) {
      p.kind = RxKind::kControl;
      return p;
    }
    if (data.size() < 8) {
      return p;
    }
    p.session_id = LoadBe32(data.data() + 4);
  } else {
    if (data.size() < 4) {
      return p;
    }
    p.session_id = LoadBe32(data.data());
    if (p.session_id == 0) {  // §4.1.1.2: session id 0 marks a control message over IP
      p.kind = RxKind::kControl;
      return p;
    }
  }
  p.kind = p.session_id == 0 ? RxKind::kMalformed : RxKind::kData;
  return p;
}

RxData ParseDataHeader(std::span<const uint8_t> data, Encap encap,
                       std::span<const uint8_t> expected_cookie, Sublayer sublayer) {
  RxData r;
  size_t at = encap == Encap::kUdp ? 8 : 4;
  size_t need = at + expected_cookie.size() + (sublayer == Sublayer::kDefault ? 4 : 0);
  if (data.size() < need) {
    return r;
  }
  if (!expected_cookie.empty() &&
      std::memcmp(data.data() + at, expected_cookie.data(), expected_cookie.size()) != 0) {
    r.verdict = RxVerdict::kBadCookie;
    return r;
  }
  at += expected_cookie.size();
  if (sublayer == Sublayer::kDefault) {
    uint32_t word = LoadBe32(data.data() + at);
    r.has_seq = (word & kSublayerSBit) != 0;
    r.seq = word & kSeqMask;
    at += 4;
  }
  r.payload_offset = at;
  r.verdict = RxVerdict::kOk;
  return r;
}

bool SeqWindow::Accept(uint32_t seq) {
  seq &= kSeqMask;
  if (!started_) {
    started_ = true;
    expected_ = (seq + 1) & kSeqMask;
    return true;
  }
  uint32_t ahead = (seq - expected_) & kSeqMask;
  if (ahead < (kSeqMask + 1) / 2) {
    expected_ = (seq + 1) & kSeqMask;
    return true;
  }
  return false;
}

}  // namespace pwire::dataplane
