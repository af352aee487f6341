// The one table of L2TP AVPs: attribute number, name, value type, default M bit for v3 and
// v2 senders, and whether hiding is allowed (RFC 3931 §5.4, RFC 2661 §4.4, RFC 4591, 4454,
// 4667, 4623; IANA "L2TP parameters"). From it come the Attr enum, the typed traits
// avp::Name { kAttr, Type } used by Message::Get<>/Builder::Add<>, and the lookup table.
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/l2tp/avp.h"

namespace pwire::l2tp {

// The pseudowire AVPs 85-95 follow their IANA names and RFC 4591, 4454, 4667 and 4623 as
// far as known here (those texts are not in the repository): 2-octet values, OAM Emulation
// Required without a value, ATM Alarm Status as reason + alarm type, Attachment Group and
// Local End Identifiers as opaque bytes.
// X(Name, attribute, C++ value type, M bit v3, M bit v2, may be hidden, min length, max
// length). Lengths bound the value (before hiding) for string, bytes and list types; the
// other types have fixed or self-described lengths and use 0, 0.
// clang-format off
#define PWIRE_L2TP_AVPS(X)                                                                   \
  X(MessageType, 0, uint16_t, true, true, false, 0, 0)                                       \
  X(ResultCode, 1, l2tp::ResultCode, true, true, false, 0, 0)                                      \
  X(ProtocolVersion, 2, l2tp::ProtocolVersion, true, true, false, 0, 0)                            \
  X(FramingCapabilities, 3, uint32_t, true, true, true, 0, 0)                                \
  X(BearerCapabilities, 4, uint32_t, true, true, true, 0, 0)                                 \
  X(TieBreaker, 5, uint64_t, true, false, false, 0, 0)                                       \
  X(FirmwareRevision, 6, uint16_t, false, false, true, 0, 0)                                 \
  X(HostName, 7, std::string, true, true, false, 1, 1017)                                    \
  X(VendorName, 8, std::string, false, false, true, 0, 1017)                                 \
  X(AssignedTunnelId, 9, uint16_t, true, true, true, 0, 0)                                   \
  X(ReceiveWindowSize, 10, uint16_t, true, true, false, 0, 0)                                \
  X(Challenge, 11, Bytes, true, true, true, 1, 1017)                                         \
  X(Q931CauseCode, 12, Q931Cause, true, true, false, 0, 0)                                   \
  X(ChallengeResponse, 13, Bytes, true, true, true, 16, 16)                                  \
  X(AssignedSessionId, 14, uint16_t, true, true, true, 0, 0)                                 \
  X(CallSerialNumber, 15, uint32_t, false, true, true, 0, 0)                                 \
  X(MinimumBps, 16, uint32_t, true, true, true, 0, 0)                                        \
  X(MaximumBps, 17, uint32_t, true, true, true, 0, 0)                                        \
  X(BearerType, 18, uint32_t, true, true, true, 0, 0)                                        \
  X(FramingType, 19, uint32_t, true, true, true, 0, 0)                                       \
  X(CalledNumber, 21, std::string, true, true, true, 0, 1017)                                \
  X(CallingNumber, 22, std::string, true, true, true, 0, 1017)                               \
  X(SubAddress, 23, std::string, true, true, true, 0, 1017)                                  \
  X(TxConnectSpeedBps, 24, uint32_t, true, true, true, 0, 0)                                 \
  X(PhysicalChannelId, 25, uint32_t, false, false, true, 0, 0)                               \
  X(InitialReceivedLcpConfreq, 26, Bytes, false, false, true, 0, 1017)                       \
  X(LastSentLcpConfreq, 27, Bytes, false, false, true, 0, 1017)                              \
  X(LastReceivedLcpConfreq, 28, Bytes, false, false, true, 0, 1017)                          \
  X(ProxyAuthenType, 29, uint16_t, false, false, true, 0, 0)                                 \
  X(ProxyAuthenName, 30, std::string, false, false, true, 0, 1017)                           \
  X(ProxyAuthenChallenge, 31, Bytes, false, false, true, 0, 1017)                            \
  X(ProxyAuthenId, 32, uint16_t, false, false, true, 0, 0)                                   \
  X(ProxyAuthenResponse, 33, Bytes, false, false, true, 0, 1017)                             \
  X(CallErrors, 34, l2tp::CallErrors, false, true, true, 0, 0)                                     \
  X(Accm, 35, l2tp::Accm, true, true, true, 0, 0)                                                  \
  X(RandomVector, 36, Bytes, true, true, false, 1, 1017)                                     \
  X(PrivateGroupId, 37, Bytes, false, false, true, 0, 1017)                                  \
  X(RxConnectSpeedBps, 38, uint32_t, false, false, true, 0, 0)                               \
  X(SequencingRequired, 39, std::monostate, true, true, false, 0, 0)                         \
  X(MessageDigest, 59, l2tp::MessageDigest, true, true, false, 0, 0)                               \
  X(RouterId, 60, uint32_t, true, true, false, 0, 0)                                         \
  X(AssignedControlConnectionId, 61, uint32_t, true, true, true, 0, 0)                       \
  X(PwCapabilitiesList, 62, std::vector<uint16_t>, true, true, true, 0, 1016)                \
  X(LocalSessionId, 63, uint32_t, true, true, true, 0, 0)                                    \
  X(RemoteSessionId, 64, uint32_t, true, true, true, 0, 0)                                   \
  X(AssignedCookie, 65, Bytes, true, true, true, 4, 8)                                       \
  X(RemoteEndId, 66, Bytes, true, true, true, 1, 1017)                                       \
  X(PwType, 68, uint16_t, true, true, true, 0, 0)                                            \
  X(L2SpecificSublayer, 69, uint16_t, true, true, true, 0, 0)                                \
  X(DataSequencing, 70, uint16_t, true, true, true, 0, 0)                                    \
  X(CircuitStatus, 71, uint16_t, true, true, true, 0, 0)                                     \
  X(PreferredLanguage, 72, std::string, false, false, true, 0, 1017)                         \
  X(ControlMessageAuthNonce, 73, Bytes, true, true, false, 1, 1017)                          \
  X(TxConnectSpeed, 74, uint64_t, false, false, true, 0, 0)                                  \
  X(RxConnectSpeed, 75, uint64_t, false, false, true, 0, 0)                                  \
  X(FrHeaderLength, 85, uint16_t, true, true, true, 0, 0)                                    \
  X(AtmMaxConcatenatedCells, 86, uint16_t, true, true, true, 0, 0)                           \
  X(OamEmulationRequired, 87, std::monostate, true, true, true, 0, 0)                        \
  X(AtmAlarmStatus, 88, l2tp::AtmAlarmStatus, true, true, true, 0, 0)                              \
  X(AttachmentGroupId, 89, Bytes, true, true, true, 0, 1017)                                 \
  X(LocalEndId, 90, Bytes, true, true, true, 0, 1017)                                        \
  X(InterfaceMtu, 91, uint16_t, false, false, true, 0, 0)                                    \
  X(Mru, 94, uint16_t, true, true, true, 0, 0)                                               \
  X(Mrru, 95, uint16_t, true, true, true, 0, 0)
// clang-format on

// IETF attribute numbers (Vendor ID 0).
enum class Attr : uint16_t {
#define PWIRE_L2TP_ATTR_ENUM(name, num, type, m3, m2, hide, min, max) k##name = (num),
  PWIRE_L2TP_AVPS(PWIRE_L2TP_ATTR_ENUM)
#undef PWIRE_L2TP_ATTR_ENUM
};

// Extended Vendor ID AVP 58 (RFC 3931 §5.1) is handled by the AVP codec, not the table.
inline constexpr uint16_t kExtendedVendorIdAttr = 58;

// Typed traits, one per AVP: avp::HostName::kAttr, avp::HostName::Type.
namespace avp {
#define PWIRE_L2TP_ATTR_TRAIT(name, num, type, m3, m2, hide, min, max) \
  struct name {                                                        \
    static constexpr Attr kAttr = Attr::k##name;                       \
    using Type = type;                                                 \
  };
PWIRE_L2TP_AVPS(PWIRE_L2TP_ATTR_TRAIT)
#undef PWIRE_L2TP_ATTR_TRAIT
}  // namespace avp

// Circuit Status AVP 71 bits (RFC 3931 §5.4.5 A and N; RFC 5641 §3 the fault bits).
namespace circuit_status {
inline constexpr uint16_t kActive = 0x0001;            // A: pseudowire has no faults
inline constexpr uint16_t kNew = 0x0002;               // N: new circuit (use deprecated)
inline constexpr uint16_t kAcReceiveFault = 0x0004;    // R: local attachment circuit ingress
inline constexpr uint16_t kAcTransmitFault = 0x0008;   // T: local attachment circuit egress
inline constexpr uint16_t kPsnReceiveFault = 0x0010;   // I: local PSN-facing PW ingress
inline constexpr uint16_t kPsnTransmitFault = 0x0020;  // E: local PSN-facing PW egress
inline constexpr uint16_t kStandby = 0x0040;           // S: pseudowire in standby
}  // namespace circuit_status

// One row of the table.
struct AvpInfo {
  Attr attr;
  absl::string_view name;
  ValueKind kind;
  bool mandatory_v3;  // default M bit when we send it in L2TPv3
  bool mandatory_v2;  // default M bit when we send it in L2TPv2
  bool may_hide;
  uint16_t min_length;
  uint16_t max_length;
};

// The row of an IETF AVP, or nullptr if the attribute is not one we know.
const AvpInfo* FindAvpInfo(uint16_t attribute);
const AvpInfo& GetAvpInfo(Attr attr);  // for a known Attr: never fails
absl::string_view AvpName(Attr attr);

}  // namespace pwire::l2tp
