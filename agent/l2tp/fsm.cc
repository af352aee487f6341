// The RFC 3931 §7 state tables, row for row. See fsm.h.
#include "agent/l2tp/fsm.h"

#include <array>

namespace pwire::l2tp {
namespace {

using S = CcState;
using E = CcEvent;

// §7.2, in the RFC's order. Rows naming several messages are split, one per message.
constexpr CcTransition kCc[] = {
    {S::kIdle, E::kLocalOpen, kCcSendSccrq, S::kWaitCtlReply},
    {S::kIdle, E::kSccrqAcceptable, kCcSendSccrp, S::kWaitCtlConn},
    {S::kIdle, E::kSccrqNotAcceptable, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kIdle, E::kSccrp, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kIdle, E::kScccn, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kWaitCtlReply, E::kSccrpAcceptable, kCcSendScccn | kCcOpenSessions, S::kEstablished},
    {S::kWaitCtlReply, E::kSccrpNotAcceptable, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kWaitCtlReply, E::kSccrqLoseTieAcceptable, kCcSendSccrp | kCcCleanUpLosing,
     S::kWaitCtlConn},
    {S::kWaitCtlReply, E::kSccrqLoseTieNotAcceptable, kCcSendStopccn | kCcCleanUpLosing, S::kIdle},
    {S::kWaitCtlReply, E::kSccrqWinTie, kCcStopLosing, S::kWaitCtlReply},
    {S::kWaitCtlReply, E::kScccn, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kWaitCtlConn, E::kScccnAcceptable, kCcOpenSessions, S::kEstablished},
    {S::kWaitCtlConn, E::kScccnNotAcceptable, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kWaitCtlConn, E::kSccrq, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kWaitCtlConn, E::kSccrp, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kEstablished, E::kLocalOpenNewCall, kCcOpenSessions, S::kEstablished},
    {S::kEstablished, E::kAdminClose, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kEstablished, E::kSccrq, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kEstablished, E::kSccrp, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kEstablished, E::kScccn, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kIdle, E::kStopccn, kCcCleanUp, S::kIdle},
    {S::kWaitCtlReply, E::kStopccn, kCcCleanUp, S::kIdle},
    {S::kWaitCtlConn, E::kStopccn, kCcCleanUp, S::kIdle},
    {S::kEstablished, E::kStopccn, kCcCleanUp, S::kIdle},
    // Not in the §7.2 table but implied by "established: terminated by a local condition":
    // an administrative close before establishment sends StopCCN too.
    {S::kWaitCtlReply, E::kAdminClose, kCcSendStopccn | kCcCleanUp, S::kIdle},
    {S::kWaitCtlConn, E::kAdminClose, kCcSendStopccn | kCcCleanUp, S::kIdle},
};

CcEvent Plain(CcEvent e) {
  switch (e) {
    case E::kSccrqAcceptable:
    case E::kSccrqNotAcceptable:
    case E::kSccrqLoseTieAcceptable:
    case E::kSccrqLoseTieNotAcceptable:
    case E::kSccrqWinTie:
      return E::kSccrq;
    case E::kSccrpAcceptable:
    case E::kSccrpNotAcceptable:
      return E::kSccrp;
    case E::kScccnAcceptable:
    case E::kScccnNotAcceptable:
      return E::kScccn;
    default:
      return e;
  }
}

using CS = CallState;
using CE = CallEvent;

// §7.3.1 ICRQ sender.
constexpr CallTransition kIcrqSender[] = {
    {CS::kIdle, CE::kLocalOpen, kCallOpenControlConn, CS::kWaitControlConn},
    {CS::kIdle, CE::kIccn, kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kIcrp, kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitControlConn, CE::kLocalClose, kCallCleanUp, CS::kIdle},
    {CS::kWaitControlConn, CE::kControlConnOpen, kCallSendIcrq, CS::kWaitReply},
    {CS::kWaitReply, CE::kIcrpAcceptable, kCallSendIccn | kCallUp, CS::kEstablished},
    {CS::kWaitReply, CE::kIcrpNotAcceptable, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitReply, CE::kIcrqLoseTie, kCallCleanUp | kCallAsRecipient, CS::kIdle},
    {CS::kWaitReply, CE::kIcrqWinTie, kCallSendCdnLosing, CS::kWaitReply},
    {CS::kWaitReply, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitReply, CE::kIccn, kCallCleanUp, CS::kIdle},
    {CS::kWaitReply, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kIcrq, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kIcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kIccn, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
};

// §7.3.2 ICRQ recipient.
constexpr CallTransition kIcrqRecipient[] = {
    {CS::kIdle, CE::kIcrqAcceptable, kCallSendIcrp, CS::kWaitConnect},
    {CS::kIdle, CE::kIcrqNotAcceptable, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kIcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kIccn, kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kIccnAcceptable, kCallUp, CS::kEstablished},
    {CS::kWaitConnect, CE::kIccnNotAcceptable, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kIcrq, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kIcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kIcrq, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kIcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kIccn, kCallSendCdn | kCallCleanUp, CS::kIdle},
};

// §7.4.1 OCRQ sender.
constexpr CallTransition kOcrqSender[] = {
    {CS::kIdle, CE::kLocalOpen, kCallOpenControlConn, CS::kWaitControlConn},
    {CS::kIdle, CE::kOccn, kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kOcrp, kCallCleanUp, CS::kIdle},
    {CS::kWaitControlConn, CE::kControlConnOpen, kCallSendOcrq, CS::kWaitReply},
    {CS::kWaitReply, CE::kOcrpAcceptable, kCallNone, CS::kWaitConnect},
    {CS::kWaitReply, CE::kOcrpNotAcceptable, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitReply, CE::kOccn, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitReply, CE::kOcrqLoseTie, kCallCleanUp | kCallAsRecipient, CS::kIdle},
    {CS::kWaitReply, CE::kOcrqWinTie, kCallSendCdnLosing, CS::kWaitReply},
    {CS::kWaitConnect, CE::kOccn, kCallUp, CS::kEstablished},
    {CS::kWaitConnect, CE::kOcrq, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kOcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitReply, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kOcrq, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kOcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kOccn, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitReply, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitConnect, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitControlConn, CE::kLocalClose, kCallCleanUp, CS::kIdle},
};

// §7.4.2 OCRQ recipient (LAC).
constexpr CallTransition kOcrqRecipient[] = {
    {CS::kIdle, CE::kOcrqAcceptable, kCallSendOcrp | kCallPlace, CS::kWaitCsAnswer},
    {CS::kIdle, CE::kOcrqNotAcceptable, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kOcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kOccn, kCallCleanUp, CS::kIdle},
    {CS::kIdle, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitCsAnswer, CE::kCallPlaced, kCallSendOccn | kCallUp, CS::kEstablished},
    {CS::kWaitCsAnswer, CE::kCallFailed, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitCsAnswer, CE::kOcrq, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitCsAnswer, CE::kOcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitCsAnswer, CE::kOccn, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kOcrq, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kOcrp, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kOccn, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kWaitCsAnswer, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kCdn, kCallCleanUp, CS::kIdle},
    {CS::kWaitCsAnswer, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
    {CS::kEstablished, CE::kLocalClose, kCallSendCdn | kCallCleanUp, CS::kIdle},
};

CallEvent Plain(CallEvent e) {
  switch (e) {
    case CE::kIcrqAcceptable:
    case CE::kIcrqNotAcceptable:
    case CE::kIcrqLoseTie:
    case CE::kIcrqWinTie:
      return CE::kIcrq;
    case CE::kIcrpAcceptable:
    case CE::kIcrpNotAcceptable:
      return CE::kIcrp;
    case CE::kIccnAcceptable:
    case CE::kIccnNotAcceptable:
      return CE::kIccn;
    case CE::kOcrqAcceptable:
    case CE::kOcrqNotAcceptable:
    case CE::kOcrqLoseTie:
    case CE::kOcrqWinTie:
      return CE::kOcrq;
    case CE::kOcrpAcceptable:
    case CE::kOcrpNotAcceptable:
      return CE::kOcrp;
    default:
      return e;
  }
}

template <class Row, class State, class Event>
std::optional<Row> Find(std::span<const Row> table, State s, Event e, Event plain) {
  for (const Row& r : table) {
    if (r.from == s && r.event == e) {
      return r;
    }
  }
  if (plain == e) {
    return std::nullopt;
  }
  for (const Row& r : table) {
    if (r.from == s && r.event == plain) {
      return r;
    }
  }
  return std::nullopt;
}

}  // namespace

std::span<const CcTransition> CcTable() { return kCc; }

std::optional<CcTransition> CcStep(CcState state, CcEvent event) {
  return Find<CcTransition>(CcTable(), state, event, Plain(event));
}

std::span<const CallTransition> CallTable(CallRole role) {
  switch (role) {
    case CallRole::kIcrqSender:
      return kIcrqSender;
    case CallRole::kIcrqRecipient:
      return kIcrqRecipient;
    case CallRole::kOcrqSender:
      return kOcrqSender;
    case CallRole::kOcrqRecipient:
      return kOcrqRecipient;
  }
  return {};
}

std::optional<CallTransition> CallStep(CallRole role, CallState state, CallEvent event) {
  return Find<CallTransition>(CallTable(role), state, event, Plain(event));
}

std::string_view Name(CcState s) {
  static constexpr std::array<std::string_view, 4> kNames = {"idle", "wait-ctl-reply",
                                                             "wait-ctl-conn", "established"};
  return kNames[static_cast<size_t>(s)];
}

std::string_view Name(CcEvent e) {
  static constexpr std::array<std::string_view, 16> kNames = {"local-open",
                                                              "local-open-new-call",
                                                              "admin-close",
                                                              "sccrq-acceptable",
                                                              "sccrq-not-acceptable",
                                                              "sccrq-lose-tie-acceptable",
                                                              "sccrq-lose-tie-not-acceptable",
                                                              "sccrq-win-tie",
                                                              "sccrq",
                                                              "sccrp-acceptable",
                                                              "sccrp-not-acceptable",
                                                              "sccrp",
                                                              "scccn-acceptable",
                                                              "scccn-not-acceptable",
                                                              "scccn",
                                                              "stopccn"};
  return kNames[static_cast<size_t>(e)];
}

std::string_view Name(CallRole r) {
  static constexpr std::array<std::string_view, 4> kNames = {"icrq-sender", "icrq-recipient",
                                                             "ocrq-sender", "ocrq-recipient"};
  return kNames[static_cast<size_t>(r)];
}

std::string_view Name(CallState s) {
  static constexpr std::array<std::string_view, 6> kNames = {
      "idle", "wait-control-conn", "wait-reply", "wait-connect", "wait-cs-answer", "established"};
  return kNames[static_cast<size_t>(s)];
}

std::string_view Name(CallEvent e) {
  static constexpr std::array<std::string_view, 26> kNames = {"local-open",
                                                              "control-conn-open",
                                                              "local-close",
                                                              "call-placed",
                                                              "call-failed",
                                                              "icrq-acceptable",
                                                              "icrq-not-acceptable",
                                                              "icrq-lose-tie",
                                                              "icrq-win-tie",
                                                              "icrq",
                                                              "icrp-acceptable",
                                                              "icrp-not-acceptable",
                                                              "icrp",
                                                              "iccn-acceptable",
                                                              "iccn-not-acceptable",
                                                              "iccn",
                                                              "ocrq-acceptable",
                                                              "ocrq-not-acceptable",
                                                              "ocrq-lose-tie",
                                                              "ocrq-win-tie",
                                                              "ocrq",
                                                              "ocrp-acceptable",
                                                              "ocrp-not-acceptable",
                                                              "ocrp",
                                                              "occn",
                                                              "cdn"};
  return kNames[static_cast<size_t>(e)];
}

}  // namespace pwire::l2tp
