// Control message encoding and decoding: see message.h.
#include "agent/l2tp/message.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/l2tp/hidden.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

using base::Reader;

// Decodes the AVPs after the Message Type AVP into `packet`.
class AvpDecoder {
 public:
  AvpDecoder(ControlPacket& packet, const DecodeOptions& options)
      : packet_(packet), options_(options) {}

  void Decode(const RawAvp& raw) {
    // RFC 2661 §4.1: a v2 AVP with a reserved bit set is treated as unrecognized.
    if (raw.reserved_bits && packet_.header.version == 2) {
      return Problem(raw, AvpProblem::Kind::kUnknownAvp, 8, "reserved bits set");
    }
    std::span<const uint8_t> value = raw.value;
    Bytes unhidden;
    if (raw.hidden) {
      if (options_.secret.empty() || random_vector_.empty()) {
        return Problem(raw, AvpProblem::Kind::kUnreadableHidden, 8,
                       options_.secret.empty() ? "hidden, no secret" : "no Random Vector");
      }
      absl::StatusOr<Bytes> plain =
          UnhideValue(raw.attribute, raw.value, options_.secret, random_vector_);
      if (!plain.ok()) {
        return Problem(raw, AvpProblem::Kind::kMalformedAvp, 2, plain.status().message());
      }
      unhidden = *std::move(plain);
      value = unhidden;
    }
    if (raw.vendor_id == 0 && raw.attribute == kExtendedVendorIdAttr) {
      return DecodeExtendedVendor(raw, value);
    }
    if (raw.vendor_id != 0) {
      return KeepVendor(raw, raw.vendor_id, raw.attribute, value);
    }
    const AvpInfo* info = FindAvpInfo(raw.attribute);
    if (info == nullptr || info->attr == Attr::kMessageType) {
      return Problem(raw, AvpProblem::Kind::kUnknownAvp, 8, "unknown attribute");
    }
    absl::StatusOr<AvpValue> decoded =
        DecodeValue(info->kind, value, info->min_length, info->max_length);
    if (decoded.ok() && info->attr == Attr::kAssignedCookie && value.size() != 4 &&
        value.size() != 8) {  // RFC 3931 §5.4.4: a cookie is 4 or 8 bytes
      decoded = absl::InvalidArgumentError("Assigned Cookie must be 4 or 8 bytes");
    }
    if (!decoded.ok()) {
      uint16_t error = absl::IsOutOfRange(decoded.status()) ? 3 : 2;
      return Problem(raw, AvpProblem::Kind::kMalformedAvp, error,
                     absl::StrCat(info->name, ": ", decoded.status().message()));
    }
    if (info->attr == Attr::kRandomVector) {
      random_vector_.assign(value.begin(), value.end());
    }
    packet_.message.mutable_avps().push_back(Avp{.vendor_id = 0,
                                                 .attribute = raw.attribute,
                                                 .mandatory = raw.mandatory,
                                                 .hidden = raw.hidden,
                                                 .value = *std::move(decoded)});
  }

 private:
  // RFC 3931 §5.1, Figure 5.2: 32-bit Vendor ID, Attribute Type, value.
  void DecodeExtendedVendor(const RawAvp& raw, std::span<const uint8_t> value) {
    if (value.size() < 6) {
      return Problem(raw, AvpProblem::Kind::kMalformedAvp, 2, "Extended Vendor ID too short");
    }
    uint32_t vendor = base::LoadBe32(value.data());
    if (vendor == 0) {  // vendor 0 is the IETF: it has no business inside AVP 58
      return Problem(raw, AvpProblem::Kind::kMalformedAvp, 3, "Extended Vendor ID of 0");
    }
    KeepVendor(raw, vendor, base::LoadBe16(value.data() + 4), value.subspan(6));
  }

  // Vendor AVPs are kept (as bytes) for callers who know them; with M set we cannot go on.
  void KeepVendor(const RawAvp& raw, uint32_t vendor, uint16_t attribute,
                  std::span<const uint8_t> value) {
    if (raw.mandatory) {
      SetFatal(AvpProblem{AvpProblem::Kind::kUnknownAvp, vendor, attribute, true, 8,
                          "unknown mandatory vendor AVP"});
    }
    packet_.message.mutable_avps().push_back(Avp{.vendor_id = vendor,
                                                 .attribute = attribute,
                                                 .mandatory = raw.mandatory,
                                                 .hidden = raw.hidden,
                                                 .value = Bytes(value.begin(), value.end())});
  }

  void Problem(const RawAvp& raw, AvpProblem::Kind kind, uint16_t error, absl::string_view why) {
    AvpProblem p{kind, raw.vendor_id, raw.attribute, raw.mandatory, error, std::string(why)};
    // RFC 3931 §5.2, §7.1: without M the AVP is ignored; with M the session or control
    // connection must be shut down.
    if (raw.mandatory) {
      return SetFatal(std::move(p));
    }
    packet_.ignored.push_back(std::move(p));
  }

  void SetFatal(AvpProblem p) {
    if (!packet_.fatal) {
      packet_.fatal = std::move(p);
    }
  }

  ControlPacket& packet_;
  const DecodeOptions& options_;
  Bytes random_vector_;  // the latest Random Vector AVP (RFC 2661 §4.3)
};

}  // namespace

bool IsKnownMessageType(MessageType type) {
  switch (type) {
    case MessageType::kSccrq:
    case MessageType::kSccrp:
    case MessageType::kScccn:
    case MessageType::kStopccn:
    case MessageType::kHello:
    case MessageType::kOcrq:
    case MessageType::kOcrp:
    case MessageType::kOccn:
    case MessageType::kIcrq:
    case MessageType::kIcrp:
    case MessageType::kIccn:
    case MessageType::kCdn:
    case MessageType::kWen:
    case MessageType::kSli:
    case MessageType::kAck:
      return true;
    default:
      return false;
  }
}

absl::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kZlb:
      return "ZLB";
    case MessageType::kSccrq:
      return "SCCRQ";
    case MessageType::kSccrp:
      return "SCCRP";
    case MessageType::kScccn:
      return "SCCCN";
    case MessageType::kStopccn:
      return "StopCCN";
    case MessageType::kHello:
      return "HELLO";
    case MessageType::kOcrq:
      return "OCRQ";
    case MessageType::kOcrp:
      return "OCRP";
    case MessageType::kOccn:
      return "OCCN";
    case MessageType::kIcrq:
      return "ICRQ";
    case MessageType::kIcrp:
      return "ICRP";
    case MessageType::kIccn:
      return "ICCN";
    case MessageType::kCdn:
      return "CDN";
    case MessageType::kWen:
      return "WEN";
    case MessageType::kSli:
      return "SLI";
    case MessageType::kAck:
      return "ACK";
  }
  return "unknown";
}

MessageScope ScopeOf(MessageType type) {
  uint16_t t = static_cast<uint16_t>(type);
  // RFC 3931 §3.1: call management (7-14) and link status (15-16) concern a session.
  return (t >= 7 && t <= 16) ? MessageScope::kSession : MessageScope::kControlConnection;
}

const Avp* Message::FindAvp(Attr attr) const {
  for (const Avp& avp : avps_) {
    if (avp.vendor_id == 0 && avp.attribute == static_cast<uint16_t>(attr)) {
      return &avp;
    }
  }
  return nullptr;
}

const Avp* Message::FindVendorAvp(uint32_t vendor_id, uint16_t attribute) const {
  for (const Avp& avp : avps_) {
    if (avp.vendor_id == vendor_id && avp.attribute == attribute) {
      return &avp;
    }
  }
  return nullptr;
}

Message::Builder& Message::Builder::AddVendor(uint32_t vendor_id, uint16_t attribute, Bytes value,
                                              bool mandatory) {
  return AddRaw(Avp{.vendor_id = vendor_id,
                    .attribute = attribute,
                    .mandatory = mandatory,
                    .hidden = false,
                    .value = std::move(value)});
}

Message::Builder& Message::Builder::AddRaw(Avp avp) {
  message_.mutable_avps().push_back(std::move(avp));
  return *this;
}

absl::StatusOr<ControlPacket> DecodeControl(std::span<const uint8_t> packet, Transport transport,
                                            const DecodeOptions& options) {
  absl::StatusOr<ControlHeaderView> view = ParseControlHeader(packet, transport);
  if (!view.ok()) {
    return view.status();
  }
  return DecodeControl(*view, options);
}

absl::StatusOr<ControlPacket> DecodeControl(const ControlHeaderView& view,
                                            const DecodeOptions& options) {
  ControlPacket packet;
  packet.header = view.header;
  if (view.avps.empty()) {
    return packet;  // ZLB (RFC 3931 §4.2)
  }
  Reader r(view.avps);
  absl::StatusOr<RawAvp> first = ReadRawAvp(r);
  if (!first.ok()) {
    return first.status();
  }
  // RFC 3931 §5.4.1: the Message Type AVP MUST be first, not hidden, Length 8.
  if (first->attribute != 0 || first->hidden || first->value.size() != 2) {
    return absl::InvalidArgumentError("the first AVP is not a valid Message Type AVP");
  }
  auto type = static_cast<MessageType>(base::LoadBe16(first->value.data()));
  // Reserved type 0 and vendor-specific types are unknown to us (and never a ZLB).
  if (first->vendor_id != 0 || type == MessageType::kZlb) {
    type = kUnknownMessageType;
  }
  packet.message = Message(type);
  packet.message.set_type_mandatory(first->mandatory);
  if (!IsKnownMessageType(type)) {
    if (first->mandatory) {
      packet.fatal = AvpProblem{AvpProblem::Kind::kUnknownType,
                                first->vendor_id,
                                0,
                                true,
                                8,
                                absl::StrCat("unknown message type ", static_cast<int>(type))};
    }
    return packet;  // nothing more can be understood in it
  }
  AvpDecoder decoder(packet, options);
  while (r.remaining() > 0) {
    absl::StatusOr<RawAvp> raw = ReadRawAvp(r);
    if (!raw.ok()) {
      return raw.status();
    }
    decoder.Decode(*raw);
  }
  return packet;
}

Rejection RejectionFor(const ControlPacket& packet) {
  Rejection r;
  r.scope = ScopeOf(packet.message.type());
  r.result.result = 2;  // General error, Error Code indicates the problem (§5.4.2)
  if (packet.fatal) {
    const AvpProblem& p = *packet.fatal;
    r.result.error = p.error_code;
    r.result.message = p.kind == AvpProblem::Kind::kUnknownType
                           ? p.detail
                           : absl::StrCat("AVP ", p.vendor_id, ":", p.attribute, " ", p.detail);
  }
  return r;
}

}  // namespace pwire::l2tp
