// L2TP header codecs: see header.h.
#include "agent/l2tp/header.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

using base::Reader;
using base::Writer;

uint8_t VersionOf(uint16_t flags) { return static_cast<uint8_t>(flags & kVersionMask); }

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed L2TP header: ", what));
}

}  // namespace

PacketKind ClassifyUdp(std::span<const uint8_t> packet) {
  if (packet.size() < 2) {
    return PacketKind::kInvalid;
  }
  uint16_t flags = base::LoadBe16(packet.data());
  bool control = (flags & kFlagT) != 0;
  switch (VersionOf(flags)) {
    case 3:
      return control ? PacketKind::kV3Control : PacketKind::kV3Data;
    case 2:
      return control ? PacketKind::kV2Control : PacketKind::kV2Data;
    default:  // RFC 2661 §3.1: an unknown Ver MUST be discarded (1 is L2F).
      return PacketKind::kInvalid;
  }
}

PacketKind ClassifyIp(std::span<const uint8_t> packet) {
  if (packet.size() < 4) {
    return PacketKind::kInvalid;
  }
  return base::LoadBe32(packet.data()) == 0 ? PacketKind::kV3Control : PacketKind::kV3Data;
}

absl::StatusOr<ControlHeaderView> ParseControlHeader(std::span<const uint8_t> packet,
                                                     Transport transport) {
  if (transport == Transport::kIp) {
    if (packet.size() < kIpControlPrefixSize || base::LoadBe32(packet.data()) != 0) {
      return Malformed("over IP a control message starts with a zero session ID");
    }
    packet = packet.subspan(kIpControlPrefixSize);
  }
  Reader r(packet);
  uint16_t flags = 0, length = 0;
  if (!r.ReadU16(flags) || !r.ReadU16(length)) {
    return Malformed("shorter than the header");
  }
  ControlHeaderView view;
  ControlHeader& h = view.header;
  h.version = VersionOf(flags);
  if (h.version != 3 && h.version != 2) {
    return Malformed(absl::StrCat("version ", h.version));
  }
  if (transport == Transport::kIp && h.version != 3) {
    return Malformed("v2 over IP");
  }
  // RFC 3931 §3.2.1 / RFC 2661 §3.1: T, L and S MUST be 1 on control messages.
  if ((flags & (kFlagT | kFlagL | kFlagS)) != (kFlagT | kFlagL | kFlagS)) {
    return Malformed("T, L and S must be set on a control message");
  }
  // RFC 2661 §3.1: O and P MUST be 0 on control messages (reserved bits in v3: ignored).
  if (h.version == 2 && (flags & (kFlagO | kFlagP)) != 0) {
    return Malformed("O and P must be clear on a v2 control message");
  }
  if (h.version == 3) {
    if (!r.ReadU32(h.connection_id)) {
      return Malformed("shorter than the header");
    }
  } else {
    uint16_t tunnel = 0;
    if (!r.ReadU16(tunnel) || !r.ReadU16(h.session_id)) {
      return Malformed("too short");
    }
    h.connection_id = tunnel;
  }
  if (!r.ReadU16(h.ns) || !r.ReadU16(h.nr)) {
    return Malformed("shorter than the header");
  }
  if (length < kControlHeaderSize) {
    return Malformed(absl::StrCat("Length ", length));
  }
  if (length > packet.size()) {
    return Malformed(absl::StrCat("Length ", length, " beyond the ", packet.size(), " bytes"));
  }
  view.message = packet.first(length);
  view.avps = view.message.subspan(kControlHeaderSize);
  return view;
}

void AppendControlHeader(std::vector<uint8_t>& out, const ControlHeader& header,
                         uint16_t message_length, Transport transport) {
  Writer w(out);
  if (transport == Transport::kIp) {
    w.U32(0);
  }
  w.U16(static_cast<uint16_t>(kFlagT | kFlagL | kFlagS | (header.version & kVersionMask)));
  w.U16(message_length);
  if (header.version == 2) {
    w.U16(static_cast<uint16_t>(header.connection_id));
    w.U16(header.session_id);
  } else {
    w.U32(header.connection_id);
  }
  w.U16(header.ns);
  w.U16(header.nr);
}

uint32_t EncodeDefaultSublayer(const DefaultSublayer& sublayer) {
  // RFC 3931 §4.6: |x|S|x|x|x|x|x|x| 24-bit Sequence Number |
  return (sublayer.sequenced ? 0x40000000u : 0u) | (sublayer.sequence & 0x00ffffffu);
}

DefaultSublayer DecodeDefaultSublayer(uint32_t word) {
  return DefaultSublayer{.sequenced = (word & 0x40000000u) != 0, .sequence = word & 0x00ffffff};
}

absl::StatusOr<uint32_t> PeekV3SessionId(std::span<const uint8_t> packet, Transport transport) {
  Reader r(packet);
  if (transport == Transport::kUdp) {
    uint16_t flags = 0;
    if (!r.ReadU16(flags) || !r.Skip(2)) {
      return Malformed("v3 data header too short");
    }
    if ((flags & kFlagT) != 0 || VersionOf(flags) != 3) {
      return Malformed("not v3 data");
    }
  }
  uint32_t session_id = 0;
  if (!r.ReadU32(session_id)) {
    return Malformed("v3 data header too short");
  }
  if (session_id == 0) {
    return Malformed("session ID 0 is reserved for control messages");
  }
  return session_id;
}

absl::StatusOr<V3DataView> ParseV3Data(std::span<const uint8_t> packet, Transport transport,
                                       size_t cookie_length, bool has_default_sublayer) {
  if (cookie_length != 0 && cookie_length != 4 && cookie_length != 8) {
    return absl::InvalidArgumentError("cookie length must be 0, 4 or 8");
  }
  absl::StatusOr<uint32_t> session_id = PeekV3SessionId(packet, transport);
  if (!session_id.ok()) {
    return session_id.status();
  }
  Reader r(packet);
  r.Skip(transport == Transport::kUdp ? 8 : 4);
  V3DataView view;
  view.session_id = *session_id;
  if (!r.ReadBytes(cookie_length, view.cookie)) {
    return Malformed("shorter than its cookie");
  }
  if (has_default_sublayer) {
    uint32_t word = 0;
    if (!r.ReadU32(word)) {
      return Malformed("shorter than its L2-specific sublayer");
    }
    view.sublayer = DecodeDefaultSublayer(word);
  }
  r.ReadBytes(r.remaining(), view.payload);
  return view;
}

void AppendV3DataHeader(std::vector<uint8_t>& out, Transport transport, uint32_t session_id,
                        std::span<const uint8_t> cookie, std::optional<DefaultSublayer> sublayer) {
  Writer w(out);
  if (transport == Transport::kUdp) {
    w.U16(3);  // T=0, reserved bits 0, Ver=3 (§4.1.2.1)
    w.U16(0);  // Reserved
  }
  w.U32(session_id);
  w.Bytes(cookie);
  if (sublayer) {
    w.U32(EncodeDefaultSublayer(*sublayer));
  }
}

absl::StatusOr<V2DataView> ParseV2Data(std::span<const uint8_t> packet) {
  Reader r(packet);
  uint16_t flags = 0;
  if (!r.ReadU16(flags)) {
    return Malformed("v2 data header too short");
  }
  if ((flags & kFlagT) != 0 || VersionOf(flags) != 2) {
    return Malformed("not v2 data");
  }
  V2DataView view;
  V2DataHeader& h = view.header;
  uint16_t length = static_cast<uint16_t>(packet.size());
  h.has_length = (flags & kFlagL) != 0;
  if (h.has_length && !r.ReadU16(length)) {
    return Malformed("v2 data header too short");
  }
  if (!r.ReadU16(h.tunnel_id) || !r.ReadU16(h.session_id)) {
    return Malformed("too short");
  }
  if ((flags & kFlagS) != 0) {
    uint16_t ns = 0;
    if (!r.ReadU16(ns) || !r.ReadU16(h.nr)) {
      return Malformed("v2 data header too short");
    }
    h.ns = ns;
  }
  h.priority = (flags & kFlagP) != 0;
  if ((flags & kFlagO) != 0) {
    uint16_t offset = 0;
    if (!r.ReadU16(offset) || !r.Skip(offset)) {
      return Malformed("offset beyond the packet");
    }
    h.offset = offset;
  }
  if (length > packet.size() || length < r.position()) {
    return Malformed(absl::StrCat("v2 Length ", length, " for ", packet.size(), " bytes"));
  }
  view.payload = packet.subspan(r.position(), length - r.position());
  return view;
}

void AppendV2DataHeader(std::vector<uint8_t>& out, const V2DataHeader& h, size_t payload_length) {
  uint16_t flags = 2;
  size_t header_length = 6;
  if (h.has_length) {
    flags |= kFlagL, header_length += 2;
  }
  if (h.ns) {
    flags |= kFlagS, header_length += 4;
  }
  if (h.offset) {
    flags |= kFlagO, header_length += 2 + *h.offset;
  }
  if (h.priority) {
    flags |= kFlagP;
  }
  Writer w(out);
  w.U16(flags);
  if (h.has_length) {
    w.U16(static_cast<uint16_t>(header_length + payload_length));
  }
  w.U16(h.tunnel_id);
  w.U16(h.session_id);
  if (h.ns) {
    w.U16(*h.ns);
    w.U16(h.nr);
  }
  if (h.offset) {
    w.U16(*h.offset);
    out.insert(out.end(), *h.offset, 0);
  }
}

}  // namespace pwire::l2tp
