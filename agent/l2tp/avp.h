// L2TP AVP values: the typed forms of every AVP value (RFC 3931 §5.4, RFC 2661 §4.4) and
// the Avp record a Message holds. Known IETF AVPs carry their typed value; unknown and
// vendor AVPs carry their raw bytes. The value codecs are pure and bounds checked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {

using Bytes = std::vector<uint8_t>;

// Result Code AVP 1 (RFC 3931 §5.4.2): result, optional error code, optional message.
struct ResultCode {
  uint16_t result = 0;
  std::optional<uint16_t> error = std::nullopt;
  std::string message;  // only sent if error is present
  friend bool operator==(const ResultCode&, const ResultCode&) = default;
};

// Protocol Version AVP 2 (RFC 2661 §4.4.3): version 1, revision 0 for L2TPv2.
struct ProtocolVersion {
  uint8_t version = 1;
  uint8_t revision = 0;
  friend bool operator==(const ProtocolVersion&, const ProtocolVersion&) = default;
};

// Q.931 Cause Code AVP 12 (RFC 2661 §4.4.4): cause, message, optional advisory text.
struct Q931Cause {
  uint16_t cause = 0;
  uint8_t message = 0;
  std::string advisory;
  friend bool operator==(const Q931Cause&, const Q931Cause&) = default;
};

// Call Errors AVP 34: 2 reserved bytes, then six 32-bit counters in L2TPv2 (RFC 2661
// §4.4.6) or, as Circuit Errors in L2TPv3 (RFC 3931 §5.4.5), four (no CRC and framing).
struct CallErrors {
  bool v2_format = true;  // false: the 18-byte v3 form without crc and framing
  uint32_t crc = 0;
  uint32_t framing = 0;
  uint32_t hardware_overruns = 0;
  uint32_t buffer_overruns = 0;
  uint32_t timeouts = 0;
  uint32_t alignment = 0;
  friend bool operator==(const CallErrors&, const CallErrors&) = default;
};

// ACCM AVP 35 (RFC 2661 §4.4.6): 2 reserved bytes, send ACCM, receive ACCM.
struct Accm {
  uint32_t send = 0;
  uint32_t receive = 0;
  friend bool operator==(const Accm&, const Accm&) = default;
};

// Message Digest AVP 59 (RFC 3931 §5.4.1): type 0 HMAC-MD5 (16 bytes), 1 HMAC-SHA-1 (20).
enum class DigestType : uint8_t { kHmacMd5 = 0, kHmacSha1 = 1 };
struct MessageDigest {
  DigestType type = DigestType::kHmacMd5;
  Bytes digest;
  friend bool operator==(const MessageDigest&, const MessageDigest&) = default;
};
size_t DigestLength(DigestType type);

// ATM Alarm Status AVP 88 (RFC 4454 §3.3): circuit status reason and alarm type.
struct AtmAlarmStatus {
  uint16_t reason = 0;
  uint16_t alarm_type = 0;
  friend bool operator==(const AtmAlarmStatus&, const AtmAlarmStatus&) = default;
};

// The typed value of an AVP. std::monostate is an AVP without a value (Sequencing
// Required, OAM Emulation Required).
using AvpValue = std::variant<std::monostate, uint16_t, uint32_t, uint64_t, std::string, Bytes,
                              std::vector<uint16_t>, ResultCode, ProtocolVersion, Q931Cause,
                              CallErrors, Accm, MessageDigest, AtmAlarmStatus>;

// Which alternative of AvpValue an AVP's value takes (same order as the variant).
enum class ValueKind : uint8_t {
  kEmpty,
  kU16,
  kU32,
  kU64,
  kString,
  kBytes,
  kU16List,
  kResultCode,
  kProtocolVersion,
  kQ931Cause,
  kCallErrors,
  kAccm,
  kMessageDigest,
  kAtmAlarmStatus,
};

// The ValueKind of a C++ value type: its index in AvpValue.
template <class T, class V>
struct VariantIndex;
template <class T, class... Ts>
struct VariantIndex<T, std::variant<Ts...>> {
  static constexpr size_t kValue = [] {
    size_t i = 0;
    bool found = ((std::is_same_v<T, Ts> ? true : (++i, false)) || ...);
    return found ? i : sizeof...(Ts);
  }();
};
template <class T>
constexpr ValueKind KindOf() {
  static_assert(VariantIndex<T, AvpValue>::kValue < std::variant_size_v<AvpValue>);
  return static_cast<ValueKind>(VariantIndex<T, AvpValue>::kValue);
}

// One AVP of a message. vendor_id is 0 for IETF AVPs; a vendor ID above 0xffff is carried
// in an Extended Vendor ID AVP 58 (RFC 3931 §5.1). `hidden` asks the encoder to hide the
// value (RFC 2661 §4.3) and, after decoding, says it arrived hidden.
struct Avp {
  uint32_t vendor_id = 0;
  uint16_t attribute = 0;
  bool mandatory = false;
  bool hidden = false;
  AvpValue value;
  friend bool operator==(const Avp&, const Avp&) = default;
};

// AVP framing (RFC 3931 §5.1, RFC 2661 §4.1): M and H bits, 4 reserved bits and a 10-bit
// Length, then Vendor ID and Attribute Type, then the value.
inline constexpr size_t kAvpHeaderSize = 6;
inline constexpr size_t kMaxAvpLength = 1023;
inline constexpr uint16_t kAvpFlagMandatory = 0x8000;
inline constexpr uint16_t kAvpFlagHidden = 0x4000;
inline constexpr uint16_t kAvpFlagsReserved = 0x3c00;
inline constexpr uint16_t kAvpLengthMask = 0x03ff;

// One AVP as framed on the wire, before its value is interpreted; `value` points into the
// packet.
struct RawAvp {
  bool mandatory = false;
  bool hidden = false;
  bool reserved_bits = false;
  uint16_t vendor_id = 0;
  uint16_t attribute = 0;
  std::span<const uint8_t> value;
};
// Reads the next AVP; an error if its header is truncated or its Length is below the header
// size or runs past the end.
absl::StatusOr<RawAvp> ReadRawAvp(base::Reader& r);

// Decodes the value bytes of an AVP into `kind`, checking lengths against [min, max]
// (checked for string, bytes and list kinds; fixed for the others).
absl::StatusOr<AvpValue> DecodeValue(ValueKind kind, std::span<const uint8_t> bytes,
                                     size_t min_length, size_t max_length);
// Appends the value bytes.
void EncodeValue(const AvpValue& value, std::vector<uint8_t>& out);

}  // namespace pwire::l2tp
