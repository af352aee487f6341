// L2TP packet headers: the L2TPv3 control and data headers over UDP and over IP (RFC 3931
// §3.2, §4.1.1, §4.1.2), the default L2-specific sublayer (§4.6) and the L2TPv2 header
// (RFC 2661 §3.1). Pure functions on byte spans: parsers never read out of bounds and
// return an error status for anything malformed (§7.1: a malformed header is discarded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace pwire::l2tp {

// How L2TP is carried: over UDP (port 1701) or directly over IP (protocol 115, v3 only).
enum class Transport : uint8_t { kUdp, kIp };

inline constexpr uint16_t kUdpPort = 1701;
inline constexpr uint8_t kIpProtocol = 115;

// The first bits of an L2TP header (RFC 3931 §3.2.1, RFC 2661 §3.1).
inline constexpr uint16_t kFlagT = 0x8000;  // control message
inline constexpr uint16_t kFlagL = 0x4000;  // length present
inline constexpr uint16_t kFlagS = 0x0800;  // Ns/Nr present
inline constexpr uint16_t kFlagO = 0x0200;  // v2 only: offset size present
inline constexpr uint16_t kFlagP = 0x0100;  // v2 only: priority
inline constexpr uint16_t kVersionMask = 0x000f;

// Size of the control header of both versions (the 4 zero bytes over IP come in front).
inline constexpr size_t kControlHeaderSize = 12;
inline constexpr size_t kIpControlPrefixSize = 4;

// What a received datagram is, from its first bytes only.
enum class PacketKind : uint8_t { kInvalid, kV3Control, kV3Data, kV2Control, kV2Data };

// Over UDP the T bit and Ver field decide (RFC 3931 §4.1.2.1: inspect Ver first).
PacketKind ClassifyUdp(std::span<const uint8_t> packet);
// Over IP a zero session ID marks a control message (RFC 3931 §4.1.1.2).
PacketKind ClassifyIp(std::span<const uint8_t> packet);

// The control message header of either version. For v3, connection_id is the 32-bit
// Control Connection ID and session_id is unused; for v2 they are the 16-bit Tunnel ID and
// Session ID. The IDs are those of the recipient.
struct ControlHeader {
  uint8_t version = 3;
  uint32_t connection_id = 0;
  uint16_t session_id = 0;
  uint16_t ns = 0;
  uint16_t nr = 0;
  friend bool operator==(const ControlHeader&, const ControlHeader&) = default;
};

// A parsed control header and the AVP bytes that follow it (bounded by the Length field).
struct ControlHeaderView {
  ControlHeader header;
  std::span<const uint8_t> message = {};  // the control message, from the T bit to Length
  std::span<const uint8_t> avps = {};     // message minus the 12-byte header
};

// Parses a control header: over IP the packet starts with the 4 zero bytes. Rejects a wrong
// version, T/L/S not set, v2 O/P bits set, a Length below 12 or beyond the packet. Bytes
// after Length (padding) are ignored.
absl::StatusOr<ControlHeaderView> ParseControlHeader(std::span<const uint8_t> packet,
                                                     Transport transport);

// Appends a control header (with the 4 zero bytes first over IP) for a message of
// `message_length` bytes, header included. v2 requires connection_id <= 0xffff.
void AppendControlHeader(std::vector<uint8_t>& out, const ControlHeader& header,
                         uint16_t message_length, Transport transport);

// Offset of the Length field from the start of the packet, to patch it after encoding.
inline size_t LengthFieldOffset(Transport transport) {
  return (transport == Transport::kIp ? kIpControlPrefixSize : 0) + 2;
}

// L2TPv3 data: session header (RFC 3931 §4.1.1.1, §4.1.2.1), optional cookie of 0, 4 or
// 8 bytes, optional default L2-specific sublayer (§4.6).
struct DefaultSublayer {
  bool sequenced = false;  // the S bit
  uint32_t sequence = 0;   // 24 bits
  friend bool operator==(const DefaultSublayer&, const DefaultSublayer&) = default;
};
uint32_t EncodeDefaultSublayer(const DefaultSublayer& sublayer);
DefaultSublayer DecodeDefaultSublayer(uint32_t word);

struct V3DataView {
  uint32_t session_id = 0;
  std::span<const uint8_t> cookie = {};
  std::optional<DefaultSublayer> sublayer = std::nullopt;
  std::span<const uint8_t> payload = {};
};

// Reads only the session ID of a v3 data packet, to find the session (and so the cookie
// length and sublayer) before parsing the rest.
absl::StatusOr<uint32_t> PeekV3SessionId(std::span<const uint8_t> packet, Transport transport);

// Parses a v3 data packet whose session uses a cookie of `cookie_length` bytes (0, 4 or 8)
// and, if `has_default_sublayer`, the default L2-specific sublayer.
absl::StatusOr<V3DataView> ParseV3Data(std::span<const uint8_t> packet, Transport transport,
                                       size_t cookie_length, bool has_default_sublayer);

// Appends a v3 data header: over UDP the T=0/Ver=3 word first, then session ID, cookie and
// the sublayer word if given.
void AppendV3DataHeader(std::vector<uint8_t>& out, Transport transport, uint32_t session_id,
                        std::span<const uint8_t> cookie,
                        std::optional<DefaultSublayer> sublayer = std::nullopt);

// L2TPv2 data header (RFC 2661 §3.1) with its optional fields.
struct V2DataHeader {
  uint16_t tunnel_id = 0;
  uint16_t session_id = 0;
  bool has_length = false;
  std::optional<uint16_t> ns = std::nullopt;  // S bit: Ns and Nr present (Nr is reserved in data)
  uint16_t nr = 0;
  bool priority = false;                          // P bit
  std::optional<uint16_t> offset = std::nullopt;  // O bit: Offset Size, then that many pad bytes
  friend bool operator==(const V2DataHeader&, const V2DataHeader&) = default;
};

struct V2DataView {
  V2DataHeader header;
  std::span<const uint8_t> payload = {};
};

absl::StatusOr<V2DataView> ParseV2Data(std::span<const uint8_t> packet);
// Appends the header (the Length field, if present, covers header + payload_length) and
// zero offset padding.
void AppendV2DataHeader(std::vector<uint8_t>& out, const V2DataHeader& header,
                        size_t payload_length);

}  // namespace pwire::l2tp
