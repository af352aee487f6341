// Tests of the one AVP table (avp_table.h): every row of RFC 2661, RFC 3931 and the
// pseudowire RFCs is found, has the right default M bits, and carries its value through the
// codec as its typed form, in the clear and hidden (RFC 2661 §4.3, RFC 3931 §5.3).
#include "agent/l2tp/avp_table.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/l2tp/message.h"
#include "pwire/base/random.h"

namespace pwire::l2tp {
namespace {

// A valid value of the row's kind, sized within the row's length bounds (8 bytes: also a
// valid Assigned Cookie).
AvpValue SampleValue(const AvpInfo& info) {
  const size_t n = std::clamp<size_t>(8, info.min_length, info.max_length);
  switch (info.kind) {
    case ValueKind::kEmpty:
      return std::monostate{};
    case ValueKind::kU16:
      return uint16_t{0x1234};
    case ValueKind::kU32:
      return uint32_t{0x12345678};
    case ValueKind::kU64:
      return uint64_t{0x0102030405060708};
    case ValueKind::kString:
      return std::string(n, 'x');
    case ValueKind::kBytes:
      return Bytes(n, 0xab);
    case ValueKind::kU16List:
      return std::vector<uint16_t>{5, 4};
    case ValueKind::kResultCode:
      return ResultCode{.result = 2, .error = 8, .message = "why"};
    case ValueKind::kProtocolVersion:
      return ProtocolVersion{1, 0};
    case ValueKind::kQ931Cause:
      return Q931Cause{.cause = 16, .message = 1, .advisory = "adv"};
    case ValueKind::kCallErrors:
      return CallErrors{.v2_format = false, .hardware_overruns = 1, .timeouts = 3};
    case ValueKind::kAccm:
      return Accm{0xffffffff, 0x0000ffff};
    case ValueKind::kMessageDigest:
      return MessageDigest{DigestType::kHmacSha1, Bytes(20, 7)};
    case ValueKind::kAtmAlarmStatus:
      return AtmAlarmStatus{1, 2};
  }
  return std::monostate{};
}

// Every row but Message Type, which the codec writes from Message::type().
std::vector<const AvpInfo*> Rows() {
  std::vector<const AvpInfo*> rows;
  for (uint16_t attr = 1; attr < 200; ++attr) {
    if (const AvpInfo* info = FindAvpInfo(attr)) {
      rows.push_back(info);
    }
  }
  return rows;
}

TEST(AvpTableTest, EveryRowIsFoundByItsAttributeAndHasAName) {
  int rows = 0;
  for (uint16_t attr = 0; attr < 200; ++attr) {
    const AvpInfo* info = FindAvpInfo(attr);
    if (info == nullptr) {
      continue;
    }
    ++rows;
    EXPECT_EQ(static_cast<uint16_t>(info->attr), attr);
    EXPECT_FALSE(info->name.empty());
    EXPECT_LE(info->min_length, info->max_length);
  }
  // RFC 2661 (0-39 without 20), RFC 3931 (59-75 without 67), pseudowire AVPs 85-91, 94, 95.
  EXPECT_EQ(rows, 39 + 16 + 9);
  EXPECT_EQ(FindAvpInfo(20), nullptr);
  EXPECT_EQ(FindAvpInfo(58), nullptr);  // Extended Vendor ID: handled by the codec
  EXPECT_EQ(AvpName(Attr::kAssignedControlConnectionId), "AssignedControlConnectionId");
}

TEST(AvpTableTest, DefaultMandatoryBitsFollowEachVersion) {
  // RFC 2661 §4.4.2: Tie Breaker M=0, Call Serial Number M=1; RFC 3931 §5.4.3, §5.4.4:
  // Control Connection Tie Breaker SHOULD be 1, Serial Number SHOULD be 0.
  Message v2 = Message::Builder(MessageType::kIcrq, 2)
                   .Add<avp::TieBreaker>(1)
                   .Add<avp::CallSerialNumber>(1)
                   .Build();
  Message v3 = Message::Builder(MessageType::kIcrq, 3)
                   .Add<avp::TieBreaker>(1)
                   .Add<avp::CallSerialNumber>(1)
                   .Build();
  EXPECT_FALSE(v2.avps()[0].mandatory);
  EXPECT_TRUE(v2.avps()[1].mandatory);
  EXPECT_TRUE(v3.avps()[0].mandatory);
  EXPECT_FALSE(v3.avps()[1].mandatory);
  Message forced =
      Message::Builder(MessageType::kIcrq).Add<avp::PwType>(5, {.mandatory = false}).Build();
  EXPECT_FALSE(forced.avps()[0].mandatory);
}

TEST(AvpTableTest, CircuitStatusFaultBitsOfRfc5641) {
  EXPECT_EQ(circuit_status::kActive | circuit_status::kNew | circuit_status::kAcReceiveFault |
                circuit_status::kAcTransmitFault | circuit_status::kPsnReceiveFault |
                circuit_status::kPsnTransmitFault | circuit_status::kStandby,
            0x007f);
}

TEST(AvpTableTest, EveryRowDecodesIntoItsTypedValue) {
  for (const AvpInfo* info : Rows()) {
    SCOPED_TRACE(info->name);
    const auto attribute = static_cast<uint16_t>(info->attr);
    Avp avp{.attribute = attribute, .mandatory = info->mandatory_v3, .value = SampleValue(*info)};
    ASSERT_EQ(avp.value.index(), static_cast<size_t>(info->kind));
    Message m = Message::Builder(MessageType::kHello).AddRaw(avp).Build();
    auto wire = EncodeControl(ControlHeader{}, m, Transport::kUdp);
    ASSERT_TRUE(wire.ok()) << wire.status();
    auto p = DecodeControl(*wire, Transport::kUdp);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_FALSE(p->fatal.has_value());
    EXPECT_TRUE(p->ignored.empty());
    const Avp* got = p->message.FindAvp(info->attr);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, avp) << "decoded as the table's type, not as raw bytes";
  }
}

TEST(AvpTableTest, EveryHideableRowRoundTripsHiddenAndTheOthersAreNeverHidden) {
  const Bytes secret = {'k', 'e', 'y'};
  base::SeededRandom random(5);
  size_t hidden = 0;
  for (const AvpInfo* info : Rows()) {
    SCOPED_TRACE(info->name);
    if (!info->may_hide || info->kind == ValueKind::kEmpty) {
      continue;
    }
    ++hidden;
    Avp avp{.attribute = static_cast<uint16_t>(info->attr),
            .mandatory = info->mandatory_v2,
            .hidden = true,
            .value = SampleValue(*info)};
    Message m = Message::Builder(MessageType::kIcrq, 2).AddRaw(avp).Build();
    auto wire = EncodeControl(ControlHeader{.version = 2, .connection_id = 1}, m, Transport::kUdp,
                              {.secret = secret, .random = &random});
    ASSERT_TRUE(wire.ok()) << wire.status();
    auto p = DecodeControl(*wire, Transport::kUdp, {.secret = secret});
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_FALSE(p->fatal.has_value());
    const Avp* got = p->message.FindAvp(info->attr);
    ASSERT_NE(got, nullptr);
    EXPECT_TRUE(got->hidden);
    EXPECT_EQ(got->value, avp.value);
  }
  EXPECT_GT(hidden, 40u);
  // RFC 2661 §4.4: "This AVP MUST NOT be hidden" (Message Type and Random Vector by their
  // nature); nor the RFC 3931 digest and nonce, which authentication reads first (§5.4.1).
  for (Attr a : {Attr::kMessageType, Attr::kRandomVector, Attr::kResultCode, Attr::kProtocolVersion,
                 Attr::kTieBreaker, Attr::kHostName, Attr::kReceiveWindowSize, Attr::kQ931CauseCode,
                 Attr::kSequencingRequired, Attr::kMessageDigest, Attr::kControlMessageAuthNonce}) {
    EXPECT_FALSE(GetAvpInfo(a).may_hide) << AvpName(a);
  }
}

TEST(AvpTableTest, FixedSizeValuesOfTheWrongLengthAreMalformed) {
  for (const AvpInfo* info : Rows()) {
    SCOPED_TRACE(info->name);
    Bytes value;
    EncodeValue(SampleValue(*info), value);
    Bytes longer = value;
    longer.push_back(0);
    const bool variable = info->kind == ValueKind::kString || info->kind == ValueKind::kBytes ||
                          info->kind == ValueKind::kU16List ||
                          info->kind == ValueKind::kResultCode ||
                          info->kind == ValueKind::kQ931Cause;
    if (!variable) {
      EXPECT_FALSE(DecodeValue(info->kind, longer, info->min_length, info->max_length).ok());
    }
    if (!value.empty() && (!variable || value.size() == info->min_length)) {
      Bytes shorter(value.begin(), value.end() - 1);
      EXPECT_FALSE(DecodeValue(info->kind, shorter, info->min_length, info->max_length).ok());
    }
  }
}

}  // namespace
}  // namespace pwire::l2tp
