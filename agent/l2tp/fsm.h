// The L2TP state machines as declarative tables: the control connection (RFC 3931 §7.2)
// and the four call roles (§7.3.1 ICRQ sender, §7.3.2 ICRQ recipient, §7.4.1 OCRQ sender,
// §7.4.2 OCRQ recipient). Guards ("acceptable", "lose tie breaker") are resolved by the
// caller into distinct events before a lookup; the table returns actions as data and the
// new state. A received message that no row accepts is invalid in that state (§7.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace pwire::l2tp {

// ---- Control connection (§7.2) ----

enum class CcState : uint8_t { kIdle, kWaitCtlReply, kWaitCtlConn, kEstablished };

enum class CcEvent : uint8_t {
  kLocalOpen,         // local open request
  kLocalOpenNewCall,  // a new call asks for an already open connection
  kAdminClose,        // administrative control-conn close event
  kSccrqAcceptable,
  kSccrqNotAcceptable,
  kSccrqLoseTieAcceptable,
  kSccrqLoseTieNotAcceptable,
  kSccrqWinTie,
  kSccrq,  // an SCCRQ where no guard applies
  kSccrpAcceptable,
  kSccrpNotAcceptable,
  kSccrp,
  kScccnAcceptable,
  kScccnNotAcceptable,
  kScccn,
  kStopccn,
};

// Actions, combined as bits.
enum CcAction : uint16_t {
  kCcNone = 0,
  kCcSendSccrq = 1 << 0,
  kCcSendSccrp = 1 << 1,
  kCcSendScccn = 1 << 2,
  kCcSendStopccn = 1 << 3,
  kCcOpenSessions = 1 << 4,   // send control-conn open event to waiting sessions
  kCcCleanUp = 1 << 5,        // clean up this control connection
  kCcCleanUpLosing = 1 << 6,  // discard our own connection that lost the tie
  kCcStopLosing = 1 << 7,     // send StopCCN for the peer's losing connection
};

struct CcTransition {
  CcState from;
  CcEvent event;
  uint16_t actions;  // CcAction bits
  CcState to;
};

// The row for (state, event). A guarded event (kSccrpAcceptable) falls back to its plain
// form (kSccrp) when the state has no guarded row. nullopt: not allowed in this state.
std::optional<CcTransition> CcStep(CcState state, CcEvent event);
std::span<const CcTransition> CcTable();
std::string_view Name(CcState state);
std::string_view Name(CcEvent event);

// ---- Sessions (§7.3, §7.4) ----

enum class CallRole : uint8_t { kIcrqSender, kIcrqRecipient, kOcrqSender, kOcrqRecipient };

enum class CallState : uint8_t {
  kIdle,
  kWaitControlConn,
  kWaitReply,
  kWaitConnect,
  kWaitCsAnswer,
  kEstablished,
};

enum class CallEvent : uint8_t {
  kLocalOpen,        // call signal, ready to receive, or local open request
  kControlConnOpen,  // the control connection is established
  kLocalClose,       // local close request, bearer line drop, circuit down
  kCallPlaced,       // §7.4.2 call placement successful
  kCallFailed,       // §7.4.2 call placement failed
  kIcrqAcceptable,
  kIcrqNotAcceptable,
  kIcrqLoseTie,
  kIcrqWinTie,
  kIcrq,
  kIcrpAcceptable,
  kIcrpNotAcceptable,
  kIcrp,
  kIccnAcceptable,
  kIccnNotAcceptable,
  kIccn,
  kOcrqAcceptable,
  kOcrqNotAcceptable,
  kOcrqLoseTie,
  kOcrqWinTie,
  kOcrq,
  kOcrpAcceptable,
  kOcrpNotAcceptable,
  kOcrp,
  kOccn,
  kCdn,
};

enum CallAction : uint16_t {
  kCallNone = 0,
  kCallOpenControlConn = 1 << 0,  // initiate local control-conn open
  kCallSendIcrq = 1 << 1,
  kCallSendIcrp = 1 << 2,
  kCallSendIccn = 1 << 3,
  kCallSendOcrq = 1 << 4,
  kCallSendOcrp = 1 << 5,
  kCallSendOccn = 1 << 6,
  kCallSendCdn = 1 << 7,
  kCallSendCdnLosing = 1 << 8,  // CDN result 13 for the peer's losing request
  kCallCleanUp = 1 << 9,
  kCallAsRecipient = 1 << 10,  // process the request as its recipient (lost the tie)
  kCallPlace = 1 << 11,        // place the call (OCRQ recipient)
  kCallUp = 1 << 12,           // prepare for data: the session is up
};

struct CallTransition {
  CallState from;
  CallEvent event;
  uint16_t actions;  // CallAction bits
  CallState to;
};

std::optional<CallTransition> CallStep(CallRole role, CallState state, CallEvent event);
std::span<const CallTransition> CallTable(CallRole role);
std::string_view Name(CallRole role);
std::string_view Name(CallState state);
std::string_view Name(CallEvent event);

}  // namespace pwire::l2tp
