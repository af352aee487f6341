// AVP value codecs: see avp.h.
#include "agent/l2tp/avp.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

using base::Reader;
using base::Writer;

absl::Status BadLength(absl::string_view what, size_t length) {
  return absl::InvalidArgumentError(absl::StrCat(what, " value of ", length, " bytes"));
}

std::string ToString(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }

absl::StatusOr<AvpValue> DecodeResultCode(std::span<const uint8_t> bytes) {
  // RFC 3931 §5.4.2: Length 8 (result only), 10 (with error) or more (with message).
  if (bytes.size() != 2 && bytes.size() < 4) {
    return BadLength("Result Code", bytes.size());
  }
  ResultCode rc;
  rc.result = base::LoadBe16(bytes.data());
  if (bytes.size() >= 4) {
    rc.error = base::LoadBe16(bytes.data() + 2);
    rc.message = ToString(bytes.subspan(4));
  }
  return rc;
}

absl::StatusOr<AvpValue> DecodeCallErrors(std::span<const uint8_t> bytes) {
  // RFC 2661 §4.4.6: 26 bytes; RFC 3931 §5.4.5 Circuit Errors: 18 bytes.
  if (bytes.size() != 26 && bytes.size() != 18) {
    return BadLength("Call Errors", bytes.size());
  }
  Reader r(bytes.subspan(2));
  CallErrors e;
  e.v2_format = bytes.size() == 26;
  if (e.v2_format) {
    r.ReadU32(e.crc), r.ReadU32(e.framing);
  }
  r.ReadU32(e.hardware_overruns);
  r.ReadU32(e.buffer_overruns);
  r.ReadU32(e.timeouts);
  r.ReadU32(e.alignment);
  return e;
}

absl::StatusOr<AvpValue> DecodeFixedStruct(ValueKind kind, std::span<const uint8_t> bytes) {
  switch (kind) {
    case ValueKind::kProtocolVersion:
      if (bytes.size() != 2) {
        return BadLength("Protocol Version", bytes.size());
      }
      return ProtocolVersion{bytes[0], bytes[1]};
    case ValueKind::kAccm:
      if (bytes.size() != 10) {
        return BadLength("ACCM", bytes.size());
      }
      return Accm{base::LoadBe32(bytes.data() + 2), base::LoadBe32(bytes.data() + 6)};
    case ValueKind::kAtmAlarmStatus:
      if (bytes.size() != 4) {
        return BadLength("ATM Alarm Status", bytes.size());
      }
      return AtmAlarmStatus{base::LoadBe16(bytes.data()), base::LoadBe16(bytes.data() + 2)};
    case ValueKind::kQ931Cause:
      // RFC 2661 §4.4.4 / RFC 3931 §5.4.2: cause (2), message (1), optional advisory.
      if (bytes.size() < 3) {
        return BadLength("Q.931 Cause Code", bytes.size());
      }
      return Q931Cause{base::LoadBe16(bytes.data()), bytes[2], ToString(bytes.subspan(3))};
    case ValueKind::kMessageDigest: {
      if (bytes.empty()) {
        return BadLength("Message Digest", 0);
      }
      MessageDigest d{static_cast<DigestType>(bytes[0]), Bytes(bytes.begin() + 1, bytes.end())};
      if (bytes[0] > 1) {
        return absl::InvalidArgumentError(absl::StrCat("unknown digest type ", bytes[0]));
      }
      if (d.digest.size() != DigestLength(d.type)) {
        return BadLength("Message Digest", bytes.size());
      }
      return d;
    }
    case ValueKind::kResultCode:
      return DecodeResultCode(bytes);
    case ValueKind::kCallErrors:
      return DecodeCallErrors(bytes);
    default:
      return absl::InternalError("not a struct kind");
  }
}

}  // namespace

absl::StatusOr<RawAvp> ReadRawAvp(Reader& r) {
  uint16_t flags_length = 0;
  RawAvp avp;
  if (!r.ReadU16(flags_length) || !r.ReadU16(avp.vendor_id) || !r.ReadU16(avp.attribute)) {
    return absl::InvalidArgumentError("truncated AVP header");
  }
  const size_t length = flags_length & kAvpLengthMask;
  if (length < kAvpHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("AVP ", avp.attribute, " Length ", length));
  }
  if (!r.ReadBytes(length - kAvpHeaderSize, avp.value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AVP ", avp.attribute, " Length ", length, " runs past the message"));
  }
  avp.mandatory = (flags_length & kAvpFlagMandatory) != 0;
  avp.hidden = (flags_length & kAvpFlagHidden) != 0;
  avp.reserved_bits = (flags_length & kAvpFlagsReserved) != 0;
  return avp;
}

size_t DigestLength(DigestType type) { return type == DigestType::kHmacSha1 ? 20 : 16; }

absl::StatusOr<AvpValue> DecodeValue(ValueKind kind, std::span<const uint8_t> bytes,
                                     size_t min_length, size_t max_length) {
  auto fixed = [&](size_t n) { return bytes.size() == n; };
  switch (kind) {
    case ValueKind::kEmpty:
      if (!fixed(0)) {
        return BadLength("empty", bytes.size());
      }
      return std::monostate{};
    case ValueKind::kU16:
      if (!fixed(2)) {
        return BadLength("16-bit", bytes.size());
      }
      return base::LoadBe16(bytes.data());
    case ValueKind::kU32:
      if (!fixed(4)) {
        return BadLength("32-bit", bytes.size());
      }
      return base::LoadBe32(bytes.data());
    case ValueKind::kU64:
      if (!fixed(8)) {
        return BadLength("64-bit", bytes.size());
      }
      return base::LoadBe64(bytes.data());
    case ValueKind::kString:
    case ValueKind::kBytes:
    case ValueKind::kU16List:
      if (bytes.size() < min_length || bytes.size() > max_length) {
        return BadLength("out-of-range", bytes.size());
      }
      break;
    default:
      return DecodeFixedStruct(kind, bytes);
  }
  if (kind == ValueKind::kString) {
    return ToString(bytes);
  }
  if (kind == ValueKind::kBytes) {
    return Bytes(bytes.begin(), bytes.end());
  }
  if (bytes.size() % 2 != 0) {
    return BadLength("16-bit list", bytes.size());
  }
  std::vector<uint16_t> list(bytes.size() / 2);
  for (size_t i = 0; i < list.size(); ++i) {
    list[i] = base::LoadBe16(bytes.data() + 2 * i);
  }
  return list;
}

namespace {

struct ValueEncoder {
  Writer& w;
  void operator()(const std::monostate&) {}
  void operator()(uint16_t v) { w.U16(v); }
  void operator()(uint32_t v) { w.U32(v); }
  void operator()(uint64_t v) { w.U64(v); }
  void operator()(const std::string& v) {
    w.Bytes({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
  }
  void operator()(const Bytes& v) { w.Bytes(v); }
  void operator()(const std::vector<uint16_t>& v) {
    for (uint16_t x : v) {
      w.U16(x);
    }
  }
  void operator()(const ResultCode& v) {
    w.U16(v.result);
    if (!v.error) {
      return;
    }
    w.U16(*v.error);
    (*this)(v.message);
  }
  void operator()(const ProtocolVersion& v) {
    w.U8(v.version);
    w.U8(v.revision);
  }
  void operator()(const Q931Cause& v) {
    w.U16(v.cause);
    w.U8(v.message);
    (*this)(v.advisory);
  }
  void operator()(const CallErrors& v) {
    w.U16(0);
    if (v.v2_format) {
      w.U32(v.crc), w.U32(v.framing);
    }
    w.U32(v.hardware_overruns);
    w.U32(v.buffer_overruns);
    w.U32(v.timeouts);
    w.U32(v.alignment);
  }
  void operator()(const Accm& v) {
    w.U16(0);
    w.U32(v.send);
    w.U32(v.receive);
  }
  void operator()(const MessageDigest& v) {
    w.U8(static_cast<uint8_t>(v.type));
    w.Bytes(v.digest);
  }
  void operator()(const AtmAlarmStatus& v) {
    w.U16(v.reason);
    w.U16(v.alarm_type);
  }
};

}  // namespace

void EncodeValue(const AvpValue& value, std::vector<uint8_t>& out) {
  Writer w(out);
  std::visit(ValueEncoder{w}, value);
}

}  // namespace pwire::l2tp
