// L2TP control messages (RFC 3931 §3.1, §5, §6; RFC 2661 §3.2, §4, §6) as typed values,
// and their encoding to and decoding from whole packets, for both versions.
//
// Usage (the state machines only need this header):
//
//   // Build and encode.
//   Message sccrq = Message::Builder(MessageType::kSccrq)
//                       .Add<avp::HostName>("lcce-a")
//                       .Add<avp::RouterId>(0x0a000001)
//                       .Add<avp::AssignedControlConnectionId>(42)
//                       .Add<avp::PwCapabilitiesList>({5, 4})
//                       .Build();
//   ControlHeader h{.version = 3, .connection_id = 0, .ns = 0, .nr = 0};
//   absl::StatusOr<Bytes> wire = EncodeControl(h, sccrq, Transport::kUdp);
//
//   // Decode and read.
//   absl::StatusOr<ControlPacket> p = DecodeControl(bytes, Transport::kUdp, {.secret = s});
//   if (!p.ok()) { /* malformed header or AVP framing: discard (§7.1), count, log */ }
//   if (p->fatal) { Rejection r = RejectionFor(*p); /* StopCCN or CDN with r.result */ }
//   if (p->message.is_zlb()) { /* ZLB ack: only header.nr matters */ }
//   std::optional<uint32_t> ccid = p->message.Get<avp::AssignedControlConnectionId>();
//
// The M bit defaults to the table (avp_table.h) for the message's version; AvpFlags
// overrides it. Unknown AVPs without M are dropped (listed in `ignored`), with M they set
// `fatal` (RFC 3931 §5.2, §7.1). Message Digest AVPs are placed right after the Message
// Type; digest.h fills them in. Hidden AVPs need the secret and a Random source.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/l2tp/avp.h"
#include "agent/l2tp/avp_table.h"
#include "agent/l2tp/header.h"
#include "pwire/base/random.h"

namespace pwire::l2tp {

// Message Type AVP values (RFC 3931 §3.1, RFC 2661 §3.2). kZlb (0, reserved on the wire)
// stands for a message with no AVPs at all: the Zero-Length Body acknowledgement.
enum class MessageType : uint16_t {
  kZlb = 0,
  kSccrq = 1,
  kSccrp = 2,
  kScccn = 3,
  kStopccn = 4,
  kHello = 6,
  kOcrq = 7,
  kOcrp = 8,
  kOccn = 9,
  kIcrq = 10,
  kIcrp = 11,
  kIccn = 12,
  kCdn = 14,
  kWen = 15,
  kSli = 16,
  kAck = 20,  // L2TPv3 only: explicit acknowledgement
};

// What a decoded message of type 0 or of a vendor-specific type reads as.
inline constexpr auto kUnknownMessageType = static_cast<MessageType>(0xffff);

bool IsKnownMessageType(MessageType type);
absl::string_view MessageTypeName(MessageType type);  // "SCCRQ", ..., "unknown"

// Which object a message belongs to: errors in it tear down that object (RFC 3931 §5.2).
enum class MessageScope : uint8_t { kControlConnection, kSession };
MessageScope ScopeOf(MessageType type);

// Overrides for one AVP when building: M bit (default from the table) and hiding.
struct AvpFlags {
  std::optional<bool> mandatory = std::nullopt;
  bool hidden = false;
};

class Message {
 public:
  class Builder;

  Message() = default;  // a ZLB
  explicit Message(MessageType type) : type_(type) {}

  MessageType type() const { return type_; }
  bool is_zlb() const { return type_ == MessageType::kZlb && avps_.empty(); }
  // M bit of the Message Type AVP as received (RFC 3931 §5.4.1).
  bool type_mandatory() const { return type_mandatory_; }
  void set_type_mandatory(bool m) { type_mandatory_ = m; }

  const std::vector<Avp>& avps() const { return avps_; }
  std::vector<Avp>& mutable_avps() { return avps_; }

  // The first IETF AVP of that kind, typed. nullptr / nullopt if absent.
  template <class A>
  const typename A::Type* Find() const {
    const Avp* avp = FindAvp(A::kAttr);
    return avp == nullptr ? nullptr : std::get_if<typename A::Type>(&avp->value);
  }
  template <class A>
  std::optional<typename A::Type> Get() const {
    const typename A::Type* v = Find<A>();
    return v == nullptr ? std::nullopt : std::optional<typename A::Type>(*v);
  }
  // Every IETF AVP of that kind, in order (Message Digest may appear twice).
  template <class A>
  std::vector<typename A::Type> GetAll() const {
    std::vector<typename A::Type> out;
    for (const Avp& avp : avps_) {
      if (avp.vendor_id != 0 || avp.attribute != static_cast<uint16_t>(A::kAttr)) {
        continue;
      }
      if (const auto* v = std::get_if<typename A::Type>(&avp.value)) {
        out.push_back(*v);
      }
    }
    return out;
  }
  bool Has(Attr attr) const { return FindAvp(attr) != nullptr; }
  const Avp* FindAvp(Attr attr) const;
  // A vendor AVP (value as raw Bytes), e.g. FindVendorAvp(9, 1) for Cisco's attribute 1.
  const Avp* FindVendorAvp(uint32_t vendor_id, uint16_t attribute) const;

  friend bool operator==(const Message&, const Message&) = default;

 private:
  MessageType type_ = MessageType::kZlb;
  bool type_mandatory_ = true;
  std::vector<Avp> avps_;
};

class Message::Builder {
 public:
  // `version` (3 or 2) selects the default M bits of the table.
  explicit Builder(MessageType type, uint8_t version = 3) : message_(type), version_(version) {}

  template <class A>
  Builder& Add(typename A::Type value, AvpFlags flags = {}) {
    static_assert(A::kAttr != Attr::kMessageType, "the Message Type AVP comes from the type");
    const AvpInfo& info = GetAvpInfo(A::kAttr);
    bool m = flags.mandatory.value_or(version_ == 2 ? info.mandatory_v2 : info.mandatory_v3);
    message_.mutable_avps().push_back(Avp{.vendor_id = 0,
                                          .attribute = static_cast<uint16_t>(A::kAttr),
                                          .mandatory = m,
                                          .hidden = flags.hidden,
                                          .value = std::move(value)});
    return *this;
  }
  // A vendor-specific AVP; vendor IDs above 0xffff go into Extended Vendor ID AVP 58.
  Builder& AddVendor(uint32_t vendor_id, uint16_t attribute, Bytes value, bool mandatory = false);
  // Any AVP as is (for tests and unusual peers).
  Builder& AddRaw(Avp avp);
  Message Build() { return std::move(message_); }

 private:
  Message message_;
  uint8_t version_;
};

// --- Decoding ---------------------------------------------------------------------------

struct DecodeOptions {
  std::span<const uint8_t> secret = {};  // the tunnel secret, to read hidden AVPs
};

// An AVP the decoder could not use.
struct AvpProblem {
  enum class Kind : uint8_t {
    kUnknownAvp,        // not in the table, or a vendor AVP
    kMalformedAvp,      // known, but its value has the wrong length or an invalid value
    kUnreadableHidden,  // hidden, and no secret or no Random Vector before it
    kUnknownType,       // Message Type AVP with M set and a type we do not know
  };
  Kind kind = Kind::kUnknownAvp;
  uint32_t vendor_id = 0;
  uint16_t attribute = 0;
  bool mandatory = false;
  uint16_t error_code = 8;  // General Error Code to answer with (RFC 3931 §5.4.2)
  std::string detail;
};

struct ControlPacket {
  ControlHeader header;
  Message message;  // is_zlb() for a ZLB; the type may be an unknown one (see below)
  // Set: the message must not be used; answer per RejectionFor() and tear down (§5.2,
  // §7.1). Unset with !IsKnownMessageType(message.type()): an unknown type without the M
  // bit, which may be ignored (acknowledge it for reliable delivery, nothing more).
  std::optional<AvpProblem> fatal;
  std::vector<AvpProblem> ignored;  // AVPs without M that were skipped: count and log
};

// Decodes a whole control packet (over IP starting at the zero session ID). An error status
// means a malformed header or AVP framing: discard the packet (RFC 3931 §7.1).
absl::StatusOr<ControlPacket> DecodeControl(std::span<const uint8_t> packet, Transport transport,
                                            const DecodeOptions& options = {});
// Second half of DecodeControl, for a header already parsed (e.g. to look up the secret).
absl::StatusOr<ControlPacket> DecodeControl(const ControlHeaderView& view,
                                            const DecodeOptions& options = {});

// The answer RFC 3931 §5.2 (RFC 2661 §4.2) requires for a packet with `fatal` set: a
// StopCCN for a control-connection message, a CDN for a session message, with Result Code
// 2 (general error) and the problem's error code (8: unknown mandatory AVP).
struct Rejection {
  MessageScope scope = MessageScope::kControlConnection;
  ResultCode result;
};
Rejection RejectionFor(const ControlPacket& packet);

// --- Encoding ---------------------------------------------------------------------------

struct EncodeOptions {
  std::span<const uint8_t> secret = {};  // to hide AVPs marked hidden
  base::Random* random = nullptr;        // for the Random Vector the hidden AVPs need
};

// Encodes header + message (Message Type AVP first, then Message Digest AVPs, then the rest
// in order). The header's Length is computed. Fails on a value of the wrong type for its
// attribute, an AVP over 1023 bytes, a message over 65535 bytes, or hidden AVPs without
// secret and random source.
absl::StatusOr<Bytes> EncodeControl(const ControlHeader& header, const Message& message,
                                    Transport transport, const EncodeOptions& options = {});

}  // namespace pwire::l2tp
