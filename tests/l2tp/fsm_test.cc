// Walks the RFC 3931 §7 state tables row by row against the engine's tables: the control
// connection (§7.2) and the four call roles (§7.3.1, §7.3.2, §7.4.1, §7.4.2). Each row
// below is transcribed from the RFC text by state/event/action/new-state names.
#include "agent/l2tp/fsm.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pwire::l2tp {
namespace {

struct CcRow {
  const char* from;
  const char* event;
  uint16_t actions;
  const char* to;
};

CcState CcStateNamed(const std::string& n) {
  for (CcState s :
       {CcState::kIdle, CcState::kWaitCtlReply, CcState::kWaitCtlConn, CcState::kEstablished}) {
    if (Name(s) == n) {
      return s;
    }
  }
  ADD_FAILURE() << "no state " << n;
  return CcState::kIdle;
}

CcEvent CcEventNamed(const std::string& n) {
  for (int i = 0; i <= static_cast<int>(CcEvent::kStopccn); ++i) {
    if (Name(static_cast<CcEvent>(i)) == n) {
      return static_cast<CcEvent>(i);
    }
  }
  ADD_FAILURE() << "no event " << n;
  return CcEvent::kLocalOpen;
}

// RFC 3931 §7.2, one line per row (rows naming several events or states are expanded).
const CcRow kRfcCcRows[] = {
    {"idle", "local-open", kCcSendSccrq, "wait-ctl-reply"},
    {"idle", "sccrq-acceptable", kCcSendSccrp, "wait-ctl-conn"},
    {"idle", "sccrq-not-acceptable", kCcSendStopccn | kCcCleanUp, "idle"},
    {"idle", "sccrp", kCcSendStopccn | kCcCleanUp, "idle"},
    {"idle", "scccn", kCcSendStopccn | kCcCleanUp, "idle"},
    {"wait-ctl-reply", "sccrp-acceptable", kCcSendScccn | kCcOpenSessions, "established"},
    {"wait-ctl-reply", "sccrp-not-acceptable", kCcSendStopccn | kCcCleanUp, "idle"},
    {"wait-ctl-reply", "sccrq-lose-tie-acceptable", kCcSendSccrp | kCcCleanUpLosing,
     "wait-ctl-conn"},
    {"wait-ctl-reply", "sccrq-lose-tie-not-acceptable", kCcSendStopccn | kCcCleanUpLosing, "idle"},
    {"wait-ctl-reply", "sccrq-win-tie", kCcStopLosing, "wait-ctl-reply"},
    {"wait-ctl-reply", "scccn", kCcSendStopccn | kCcCleanUp, "idle"},
    {"wait-ctl-conn", "scccn-acceptable", kCcOpenSessions, "established"},
    {"wait-ctl-conn", "scccn-not-acceptable", kCcSendStopccn | kCcCleanUp, "idle"},
    {"wait-ctl-conn", "sccrq", kCcSendStopccn | kCcCleanUp, "idle"},
    {"wait-ctl-conn", "sccrp", kCcSendStopccn | kCcCleanUp, "idle"},
    {"established", "local-open-new-call", kCcOpenSessions, "established"},
    {"established", "admin-close", kCcSendStopccn | kCcCleanUp, "idle"},
    {"established", "sccrq", kCcSendStopccn | kCcCleanUp, "idle"},
    {"established", "sccrp", kCcSendStopccn | kCcCleanUp, "idle"},
    {"established", "scccn", kCcSendStopccn | kCcCleanUp, "idle"},
    {"idle", "stopccn", kCcCleanUp, "idle"},
    {"wait-ctl-reply", "stopccn", kCcCleanUp, "idle"},
    {"wait-ctl-conn", "stopccn", kCcCleanUp, "idle"},
    {"established", "stopccn", kCcCleanUp, "idle"},
};

TEST(FsmTest, ControlConnectionRowsOfRfc3931Section7_2) {
  for (const CcRow& row : kRfcCcRows) {
    SCOPED_TRACE(std::string(row.from) + " + " + row.event);
    auto t = CcStep(CcStateNamed(row.from), CcEventNamed(row.event));
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->actions, row.actions);
    EXPECT_EQ(Name(t->to), row.to);
  }
}

TEST(FsmTest, ControlConnectionGuardedEventFallsBackToPlainRow) {
  // An SCCRQ in wait-ctl-conn clears the connection whatever its acceptability.
  auto t = CcStep(CcState::kWaitCtlConn, CcEvent::kSccrqAcceptable);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->actions, kCcSendStopccn | kCcCleanUp);
}

TEST(FsmTest, ControlConnectionRejectsEventsWithoutRow) {
  EXPECT_FALSE(CcStep(CcState::kEstablished, CcEvent::kLocalOpen).has_value());
  EXPECT_FALSE(CcStep(CcState::kIdle, CcEvent::kLocalOpenNewCall).has_value());
  EXPECT_FALSE(CcStep(CcState::kWaitCtlConn, CcEvent::kLocalOpen).has_value());
}

TEST(FsmTest, EveryControlConnectionTableRowIsInTheRfcOrMarkedLocal) {
  size_t local = 0;
  for (const CcTransition& t : CcTable()) {
    bool in_rfc = false;
    for (const CcRow& row : kRfcCcRows) {
      in_rfc |= CcStateNamed(row.from) == t.from && CcEventNamed(row.event) == t.event;
    }
    if (!in_rfc) {
      ++local;
      EXPECT_EQ(t.event, CcEvent::kAdminClose) << Name(t.from);
    }
  }
  EXPECT_EQ(local, 2u);
}

struct CallRow {
  CallRole role;
  const char* from;
  const char* event;
  uint16_t actions;
  const char* to;
};

CallState CallStateNamed(const std::string& n) {
  for (int i = 0; i <= static_cast<int>(CallState::kEstablished); ++i) {
    if (Name(static_cast<CallState>(i)) == n) {
      return static_cast<CallState>(i);
    }
  }
  ADD_FAILURE() << "no state " << n;
  return CallState::kIdle;
}

CallEvent CallEventNamed(const std::string& n) {
  for (int i = 0; i <= static_cast<int>(CallEvent::kCdn); ++i) {
    if (Name(static_cast<CallEvent>(i)) == n) {
      return static_cast<CallEvent>(i);
    }
  }
  ADD_FAILURE() << "no event " << n;
  return CallEvent::kLocalOpen;
}

constexpr CallRole kIs = CallRole::kIcrqSender;
constexpr CallRole kIr = CallRole::kIcrqRecipient;
constexpr CallRole kOs = CallRole::kOcrqSender;
constexpr CallRole kOr = CallRole::kOcrqRecipient;
constexpr uint16_t kCdnUp = kCallSendCdn | kCallCleanUp;

const CallRow kRfcCallRows[] = {
    // §7.3.1 ICRQ sender
    {kIs, "idle", "local-open", kCallOpenControlConn, "wait-control-conn"},
    {kIs, "idle", "iccn", kCallCleanUp, "idle"},
    {kIs, "idle", "icrp", kCallCleanUp, "idle"},
    {kIs, "idle", "cdn", kCallCleanUp, "idle"},
    {kIs, "wait-control-conn", "local-close", kCallCleanUp, "idle"},
    {kIs, "wait-control-conn", "control-conn-open", kCallSendIcrq, "wait-reply"},
    {kIs, "wait-reply", "icrp-acceptable", kCallSendIccn | kCallUp, "established"},
    {kIs, "wait-reply", "icrp-not-acceptable", kCdnUp, "idle"},
    {kIs, "wait-reply", "icrq-lose-tie", kCallCleanUp | kCallAsRecipient, "idle"},
    {kIs, "wait-reply", "icrq-win-tie", kCallSendCdnLosing, "wait-reply"},
    {kIs, "wait-reply", "cdn", kCallCleanUp, "idle"},
    {kIs, "wait-reply", "iccn", kCallCleanUp, "idle"},
    {kIs, "wait-reply", "local-close", kCdnUp, "idle"},
    {kIs, "established", "cdn", kCallCleanUp, "idle"},
    {kIs, "established", "icrq", kCdnUp, "idle"},
    {kIs, "established", "icrp", kCdnUp, "idle"},
    {kIs, "established", "iccn", kCdnUp, "idle"},
    {kIs, "established", "local-close", kCdnUp, "idle"},
    // §7.3.2 ICRQ recipient
    {kIr, "idle", "icrq-acceptable", kCallSendIcrp, "wait-connect"},
    {kIr, "idle", "icrq-not-acceptable", kCdnUp, "idle"},
    {kIr, "idle", "icrp", kCdnUp, "idle"},
    {kIr, "idle", "iccn", kCallCleanUp, "idle"},
    {kIr, "wait-connect", "iccn-acceptable", kCallUp, "established"},
    {kIr, "wait-connect", "iccn-not-acceptable", kCdnUp, "idle"},
    {kIr, "wait-connect", "icrq", kCdnUp, "idle"},
    {kIr, "wait-connect", "icrp", kCdnUp, "idle"},
    {kIr, "idle", "cdn", kCallCleanUp, "idle"},
    {kIr, "wait-connect", "cdn", kCallCleanUp, "idle"},
    {kIr, "established", "cdn", kCallCleanUp, "idle"},
    {kIr, "wait-connect", "local-close", kCdnUp, "idle"},
    {kIr, "established", "local-close", kCdnUp, "idle"},
    {kIr, "established", "icrq", kCdnUp, "idle"},
    {kIr, "established", "icrp", kCdnUp, "idle"},
    {kIr, "established", "iccn", kCdnUp, "idle"},
    // §7.4.1 OCRQ sender
    {kOs, "idle", "local-open", kCallOpenControlConn, "wait-control-conn"},
    {kOs, "idle", "occn", kCallCleanUp, "idle"},
    {kOs, "idle", "ocrp", kCallCleanUp, "idle"},
    {kOs, "wait-control-conn", "control-conn-open", kCallSendOcrq, "wait-reply"},
    {kOs, "wait-reply", "ocrp-acceptable", kCallNone, "wait-connect"},
    {kOs, "wait-reply", "ocrp-not-acceptable", kCdnUp, "idle"},
    {kOs, "wait-reply", "occn", kCdnUp, "idle"},
    {kOs, "wait-reply", "ocrq-lose-tie", kCallCleanUp | kCallAsRecipient, "idle"},
    {kOs, "wait-reply", "ocrq-win-tie", kCallSendCdnLosing, "wait-reply"},
    {kOs, "wait-connect", "occn", kCallUp, "established"},
    {kOs, "wait-connect", "ocrq", kCdnUp, "idle"},
    {kOs, "wait-connect", "ocrp", kCdnUp, "idle"},
    {kOs, "idle", "cdn", kCallCleanUp, "idle"},
    {kOs, "wait-reply", "cdn", kCallCleanUp, "idle"},
    {kOs, "wait-connect", "cdn", kCallCleanUp, "idle"},
    {kOs, "established", "cdn", kCallCleanUp, "idle"},
    {kOs, "established", "ocrq", kCdnUp, "idle"},
    {kOs, "established", "ocrp", kCdnUp, "idle"},
    {kOs, "established", "occn", kCdnUp, "idle"},
    {kOs, "wait-reply", "local-close", kCdnUp, "idle"},
    {kOs, "wait-connect", "local-close", kCdnUp, "idle"},
    {kOs, "established", "local-close", kCdnUp, "idle"},
    {kOs, "wait-control-conn", "local-close", kCallCleanUp, "idle"},
    // §7.4.2 OCRQ recipient (LAC)
    {kOr, "idle", "ocrq-acceptable", kCallSendOcrp | kCallPlace, "wait-cs-answer"},
    {kOr, "idle", "ocrq-not-acceptable", kCdnUp, "idle"},
    {kOr, "idle", "ocrp", kCdnUp, "idle"},
    {kOr, "idle", "occn", kCallCleanUp, "idle"},
    {kOr, "idle", "cdn", kCallCleanUp, "idle"},
    {kOr, "wait-cs-answer", "call-placed", kCallSendOccn | kCallUp, "established"},
    {kOr, "wait-cs-answer", "call-failed", kCdnUp, "idle"},
    {kOr, "wait-cs-answer", "ocrq", kCdnUp, "idle"},
    {kOr, "wait-cs-answer", "ocrp", kCdnUp, "idle"},
    {kOr, "wait-cs-answer", "occn", kCdnUp, "idle"},
    {kOr, "established", "ocrq", kCdnUp, "idle"},
    {kOr, "established", "ocrp", kCdnUp, "idle"},
    {kOr, "established", "occn", kCdnUp, "idle"},
    {kOr, "wait-cs-answer", "cdn", kCallCleanUp, "idle"},
    {kOr, "established", "cdn", kCallCleanUp, "idle"},
    {kOr, "wait-cs-answer", "local-close", kCdnUp, "idle"},
    {kOr, "established", "local-close", kCdnUp, "idle"},
};

TEST(FsmTest, CallRowsOfRfc3931Sections7_3And7_4) {
  for (const CallRow& row : kRfcCallRows) {
    SCOPED_TRACE(std::string(Name(row.role)) + ": " + row.from + " + " + row.event);
    auto t = CallStep(row.role, CallStateNamed(row.from), CallEventNamed(row.event));
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->actions, row.actions);
    EXPECT_EQ(Name(t->to), row.to);
  }
}

TEST(FsmTest, EveryCallTableRowComesFromTheRfc) {
  for (CallRole role : {kIs, kIr, kOs, kOr}) {
    for (const CallTransition& t : CallTable(role)) {
      bool found = false;
      for (const CallRow& row : kRfcCallRows) {
        found |= row.role == role && CallStateNamed(row.from) == t.from &&
                 CallEventNamed(row.event) == t.event;
      }
      EXPECT_TRUE(found) << Name(role) << " " << Name(t.from) << " " << Name(t.event);
    }
  }
}

TEST(FsmTest, CallGuardedEventsFallBackAndUnknownPairsAreRejected) {
  // An acceptable ICCN in established is still an ICCN in the wrong state.
  auto t = CallStep(kIr, CallState::kEstablished, CallEvent::kIccnAcceptable);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->actions, kCdnUp);
  EXPECT_FALSE(CallStep(kIr, CallState::kWaitConnect, CallEvent::kOccn).has_value());
  EXPECT_FALSE(CallStep(kOr, CallState::kIdle, CallEvent::kCallPlaced).has_value());
  EXPECT_FALSE(CallStep(kIs, CallState::kWaitReply, CallEvent::kControlConnOpen).has_value());
}

}  // namespace
}  // namespace pwire::l2tp
