// Tests of Message encoding and decoding: hand-written RFC 3931 bytes, unknown and
// malformed AVPs (§5.2, §7.1), vendor and hidden AVPs.
#include "agent/l2tp/message.h"

#include <gtest/gtest.h>

#include "pwire/base/random.h"

namespace pwire::l2tp {
namespace {

// SCCRQ, v3 over UDP, CCID 0, Ns 0, Nr 0: Message Type 1, Host Name "lcce", Router ID
// 10.0.0.1, Assigned Control Connection ID 42, PW Capabilities List {5, 4}.
const Bytes kSccrq = {
    0xc8, 0x03, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // header
    0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,                          // Message Type
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x07, 'l',  'c',  'c',  'e',               // Host Name
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x3c, 0x0a, 0x00, 0x00, 0x01,              // Router ID
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x3d, 0x00, 0x00, 0x00, 0x2a,              // Assigned CCID
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x3e, 0x00, 0x05, 0x00, 0x04,              // PW Caps
};

Message SccrqMessage() {
  return Message::Builder(MessageType::kSccrq)
      .Add<avp::HostName>("lcce")
      .Add<avp::RouterId>(0x0a000001)
      .Add<avp::AssignedControlConnectionId>(42)
      .Add<avp::PwCapabilitiesList>({5, 4})
      .Build();
}

TEST(MessageTest, EncodesSccrqToHandWrittenBytes) {
  auto wire = EncodeControl(ControlHeader{}, SccrqMessage(), Transport::kUdp);
  ASSERT_TRUE(wire.ok()) << wire.status();
  EXPECT_EQ(*wire, kSccrq);
}

TEST(MessageTest, DecodesSccrqIntoTypedValues) {
  auto p = DecodeControl(kSccrq, Transport::kUdp);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->fatal.has_value());
  EXPECT_EQ(p->message.type(), MessageType::kSccrq);
  EXPECT_EQ(p->message.Get<avp::HostName>(), "lcce");
  EXPECT_EQ(p->message.Get<avp::RouterId>(), 0x0a000001u);
  EXPECT_EQ(p->message.Get<avp::AssignedControlConnectionId>(), 42u);
  EXPECT_EQ(p->message.Get<avp::PwCapabilitiesList>(), (std::vector<uint16_t>{5, 4}));
  EXPECT_FALSE(p->message.Get<avp::ReceiveWindowSize>().has_value());
  EXPECT_EQ(p->message, SccrqMessage());
}

TEST(MessageTest, ZlbHasNoAvps) {
  ControlHeader h{.version = 3, .connection_id = 7, .ns = 3, .nr = 9};
  auto wire = EncodeControl(h, Message(), Transport::kIp);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(*wire, (Bytes{0, 0, 0, 0, 0xc8, 0x03, 0x00, 0x0c, 0, 0, 0, 7, 0, 3, 0, 9}));
  auto p = DecodeControl(*wire, Transport::kIp);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->message.is_zlb());
  EXPECT_EQ(p->header, h);
}

TEST(MessageTest, UnknownAvpWithoutMandatoryBitIsSkipped) {
  Bytes b = kSccrq;
  b.insert(b.end(), {0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0xab, 0xcd});  // attr 256, M=0
  b[3] = static_cast<uint8_t>(b.size());
  auto p = DecodeControl(b, Transport::kUdp);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->fatal.has_value());
  ASSERT_EQ(p->ignored.size(), 1u);
  EXPECT_EQ(p->ignored[0].attribute, 256);
  EXPECT_EQ(p->message, SccrqMessage());
}

TEST(MessageTest, UnknownMandatoryAvpInSccrqMeansStopccnResult2Error8) {
  Bytes b = kSccrq;
  b.insert(b.end(), {0x80, 0x08, 0x00, 0x00, 0x01, 0x00, 0xab, 0xcd});  // attr 256, M=1
  b[3] = static_cast<uint8_t>(b.size());
  auto p = DecodeControl(b, Transport::kUdp);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(p->fatal.has_value());
  Rejection r = RejectionFor(*p);
  EXPECT_EQ(r.scope, MessageScope::kControlConnection);
  EXPECT_EQ(r.result.result, 2);
  EXPECT_EQ(r.result.error, 8);
  EXPECT_NE(r.result.message.find("256"), std::string::npos);
}

TEST(MessageTest, UnknownMandatoryAvpInIcrqMeansCdn) {
  Message icrq = Message::Builder(MessageType::kIcrq)
                     .Add<avp::LocalSessionId>(1)
                     .AddVendor(9, 77, {1, 2}, /*mandatory=*/true)
                     .Build();
  auto wire = EncodeControl(ControlHeader{.connection_id = 5}, icrq, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  auto p = DecodeControl(*wire, Transport::kUdp);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->fatal.has_value());
  EXPECT_EQ(RejectionFor(*p).scope, MessageScope::kSession);
  EXPECT_EQ(p->fatal->vendor_id, 9u);
}

TEST(MessageTest, MalformedKnownAvpFollowsItsMandatoryBit) {
  // Router ID with 2 bytes instead of 4: M=1 -> fatal, M=0 -> ignored.
  for (bool m : {true, false}) {
    Bytes b = {0xc8, 0x03, 0x00, 0x00, 0,    0,    0,
               0,    0,    0,    0,    0,    0x80, 0x08,
               0x00, 0x00, 0x00, 0x00, 0x00, 0x01, static_cast<uint8_t>(m ? 0x80 : 0x00),
               0x08, 0x00, 0x00, 0x00, 0x3c, 0x0a, 0x00};
    b[3] = static_cast<uint8_t>(b.size());
    auto p = DecodeControl(b, Transport::kUdp);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->fatal.has_value(), m);
    EXPECT_EQ(p->ignored.size(), m ? 0u : 1u);
    EXPECT_FALSE(p->message.Has(Attr::kRouterId));
  }
}

TEST(MessageTest, UnknownMessageTypeWithMandatoryBitIsFatal) {
  Bytes b = {0xc8, 0x03, 0x00, 0x14, 0,    0,    0,    0,    0,    0,
             0,    0,    0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63};
  auto p = DecodeControl(b, Transport::kUdp);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->fatal.has_value());
  EXPECT_EQ(p->fatal->kind, AvpProblem::Kind::kUnknownType);
  b[12] = 0x00;  // M=0: may be ignored
  p = DecodeControl(b, Transport::kUdp);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->fatal.has_value());
  EXPECT_FALSE(IsKnownMessageType(p->message.type()));
  EXPECT_FALSE(p->message.is_zlb());
}

TEST(MessageTest, BrokenAvpFramingIsAnError) {
  Bytes b = kSccrq;
  b[21] = 0x05;  // Host Name AVP Length 5 < 6
  EXPECT_FALSE(DecodeControl(b, Transport::kUdp).ok());
  b = kSccrq;
  b[21] = 0x40;  // Host Name AVP runs past the message
  EXPECT_FALSE(DecodeControl(b, Transport::kUdp).ok());
  b = kSccrq;
  b[17] = 0x07;  // the first AVP is not a Message Type AVP
  EXPECT_FALSE(DecodeControl(b, Transport::kUdp).ok());
}

TEST(MessageTest, HiddenAvpRoundTripsWithSecret) {
  base::SeededRandom random(1);
  Bytes secret = {'s', 'e', 'c', 'r', 'e', 't'};
  Message m = Message::Builder(MessageType::kIcrq, 2)
                  .Add<avp::AssignedSessionId>(0x1234, {.hidden = true})
                  .Add<avp::CallSerialNumber>(99, {.hidden = true})
                  .Build();
  auto wire = EncodeControl(ControlHeader{.version = 2, .connection_id = 3}, m, Transport::kUdp,
                            {.secret = secret, .random = &random});
  ASSERT_TRUE(wire.ok()) << wire.status();
  auto p = DecodeControl(*wire, Transport::kUdp, {.secret = secret});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->fatal.has_value());
  EXPECT_EQ(p->message.Get<avp::AssignedSessionId>(), 0x1234);
  EXPECT_EQ(p->message.Get<avp::CallSerialNumber>(), 99u);
  EXPECT_TRUE(p->message.Has(Attr::kRandomVector));
  // Without the secret, the mandatory hidden AVP cannot be read: fatal.
  p = DecodeControl(*wire, Transport::kUdp);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->fatal.has_value());
  EXPECT_EQ(p->fatal->kind, AvpProblem::Kind::kUnreadableHidden);
}

TEST(MessageTest, ExtendedVendorIdRoundTrips) {
  Message m = Message::Builder(MessageType::kHello).AddVendor(0x12345678, 3, {9}).Build();
  auto wire = EncodeControl(ControlHeader{}, m, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  auto p = DecodeControl(*wire, Transport::kUdp);
  ASSERT_TRUE(p.ok());
  const Avp* v = p->message.FindVendorAvp(0x12345678, 3);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(std::get<Bytes>(v->value), Bytes{9});
}

TEST(MessageTest, EncodeRejectsWrongValueTypeAndOversizedAvp) {
  Message wrong = Message::Builder(MessageType::kHello)
                      .AddRaw(Avp{.attribute = 60, .mandatory = true, .value = uint16_t{1}})
                      .Build();
  EXPECT_FALSE(EncodeControl(ControlHeader{}, wrong, Transport::kUdp).ok());
  Message big =
      Message::Builder(MessageType::kSccrq).Add<avp::HostName>(std::string(1020, 'x')).Build();
  EXPECT_FALSE(EncodeControl(ControlHeader{}, big, Transport::kUdp).ok());
}

TEST(MessageTest, DigestAvpsGoRightAfterMessageType) {
  Message m = Message::Builder(MessageType::kHello)
                  .Add<avp::RandomVector>({1})
                  .Add<avp::MessageDigest>({DigestType::kHmacMd5, Bytes(16, 0)})
                  .Build();
  auto wire = EncodeControl(ControlHeader{}, m, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ((*wire)[12 + 8 + 5], 59);  // attribute of the second AVP
}

}  // namespace
}  // namespace pwire::l2tp

namespace pwire::l2tp {
namespace {

// Found by l2tp_message_fuzz: an Extended Vendor ID AVP carrying vendor 0 decoded into an
// "IETF" AVP that re-encoded as a different one. Vendor 0 inside AVP 58 is malformed.
TEST(MessageTest, ExtendedVendorIdOfZeroIsMalformed) {
  Bytes b = {0xc8, 0x03, 0x00, 0x00, 0,    0,    0,    0, 0, 0, 0,    0,    0x80,
             0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,                              // HELLO
             0x00, 0x0d, 0x00, 0x00, 0x00, 0x3a, 0,    0, 0, 0, 0x3a, 0x00, 0x00};  // AVP 58
  b[3] = static_cast<uint8_t>(b.size());
  auto p = DecodeControl(b, Transport::kUdp);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->fatal.has_value());
  ASSERT_EQ(p->ignored.size(), 1u);
  EXPECT_EQ(p->ignored[0].kind, AvpProblem::Kind::kMalformedAvp);
  EXPECT_TRUE(p->message.avps().empty());
}

}  // namespace
}  // namespace pwire::l2tp
