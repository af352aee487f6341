// The L2TPv3 data message header, as the userspace data plane writes and reads it on the wire:
// RFC 3931 §4.1.2.1 (over UDP: T=0, Ver=3, reserved, Session ID), §4.1.1.1 (over IP: Session
// ID, 0 meaning a control message), the cookie (§4.1), and the default L2-specific sublayer
// (§4.6, RFC 4719 §3: S bit and 24-bit sequence number). Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {

inline constexpr uint32_t kSublayerSBit = 0x40000000;  // RFC 4719 §3
inline constexpr uint32_t kSeqMask = 0x00FFFFFF;       // 24-bit sequence number space
inline constexpr size_t kMaxDataHeader = 8 + 8 + 4;    // UDP header words + cookie + sublayer

// The shape of one session's data header in one direction.
struct HeaderShape {
  Encap encap = Encap::kUdp;
  size_t cookie_len = 0;
  Sublayer sublayer = Sublayer::kDefault;
  size_t Length() const {
    return (encap == Encap::kUdp ? 8 : 4) + cookie_len + (sublayer == Sublayer::kDefault ? 4 : 0);
  }
};

// Writes the header for a packet to `peer_session_id` into out[0, shape.Length()). With the
// default sublayer, `seq` (masked to 24 bits) is written with the S bit when `with_seq`.
void EncodeDataHeader(uint8_t* out, Encap encap, uint32_t peer_session_id,
                      std::span<const uint8_t> peer_cookie, Sublayer sublayer, bool with_seq,
                      uint32_t seq);

// First step of receiving: what kind of message starts at `data` and, for data, its session.
enum class RxKind : uint8_t { kData, kControl, kMalformed };
struct RxPrefix {
  RxKind kind = RxKind::kMalformed;
  uint32_t session_id = 0;
};
RxPrefix ClassifyPacket(std::span<const uint8_t> data, Encap encap);

// Second step, once the session (and so its cookie and sublayer) is known.
enum class RxVerdict : uint8_t { kOk, kMalformed, kBadCookie };
struct RxData {
  RxVerdict verdict = RxVerdict::kMalformed;
  bool has_seq = false;
  uint32_t seq = 0;
  size_t payload_offset = 0;  // the customer's frame starts here
};
RxData ParseDataHeader(std::span<const uint8_t> data, Encap encap,
                       std::span<const uint8_t> expected_cookie, Sublayer sublayer);

// RFC 3931 §4.6 receive-side sequencing for one session, without a reorder queue: a packet
// whose number is the expected one or ahead of it (less than half the space ahead: a loss) is
// accepted and the expectation moves past it; a packet behind it (a duplicate or a late one)
// is discarded. Single-threaded: one receive worker owns a session's receive side.
class SeqWindow {
 public:
  // Returns true to accept the packet numbered `seq`.
  bool Accept(uint32_t seq);
  uint32_t expected() const { return expected_; }

 private:
  bool started_ = false;
  uint32_t expected_ = 0;
};

}  // namespace pwire::dataplane
