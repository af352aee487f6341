// Tests of control message authentication and AVP hiding against digests computed
// independently (Python's hmac/hashlib) from the formulas of RFC 3931 §5.4.1 and RFC 2661
// §4.3, §4.4.3.
#include "agent/l2tp/digest.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "agent/l2tp/hidden.h"
#include "agent/l2tp/message.h"

namespace pwire::l2tp {
namespace {

Bytes Hex(absl::string_view hex) {
  std::string raw = absl::HexStringToBytes(hex);
  return Bytes(raw.begin(), raw.end());
}
Bytes Str(absl::string_view s) { return Bytes(s.begin(), s.end()); }

const Bytes kLocalNonce = Hex("0102030405060708090a0b0c0d0e0f10");
const Bytes kRemoteNonce = Hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");

DigestKey Key(DigestType type) { return DigestKey{type, DeriveSharedKey(Str("pwire"))}; }

TEST(DigestTest, DerivesSharedKeyAsHmacMd5OfTwo) {
  EXPECT_EQ(DeriveSharedKey(Str("pwire")), Hex("099e6ecf23d5b140f40d2f1c23894918"));
}

// HELLO, CCID 0x11223344, Ns 1, Nr 2, one HMAC-MD5 digest AVP.
TEST(DigestTest, SignsHelloWithMd5LikeTheRfcFormula) {
  Message hello = Message::Builder(MessageType::kHello)
                      .Add<avp::MessageDigest>({DigestType::kHmacMd5, Bytes(16, 0)})
                      .Build();
  ControlHeader h{.version = 3, .connection_id = 0x11223344, .ns = 1, .nr = 2};
  auto wire = EncodeControl(h, hello, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  DigestKey key = Key(DigestType::kHmacMd5);
  ASSERT_TRUE(SignControl(*wire, Transport::kUdp, {&key, 1}, kLocalNonce, kRemoteNonce).ok());
  EXPECT_EQ(*wire, Hex("c803002b1122334400010002"
                       "8008000000000006"
                       "80170000003b00c25ac0e32ede708d5f94f9332a1006ad"));
  // The peer verifies with the nonces seen from its side.
  EXPECT_TRUE(VerifyControl(*wire, Transport::kUdp, {&key, 1}, kRemoteNonce, kLocalNonce).ok());
  EXPECT_FALSE(VerifyControl(*wire, Transport::kUdp, {&key, 1}, kLocalNonce, kRemoteNonce).ok());
  (*wire)[10] ^= 1;  // tamper with Nr
  EXPECT_EQ(VerifyControl(*wire, Transport::kUdp, {&key, 1}, kRemoteNonce, kLocalNonce).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(DigestTest, SignsHelloWithSha1) {
  Message hello = Message::Builder(MessageType::kHello)
                      .Add<avp::MessageDigest>({DigestType::kHmacSha1, Bytes(20, 0)})
                      .Build();
  ControlHeader h{.version = 3, .connection_id = 0x11223344, .ns = 1, .nr = 2};
  auto wire = EncodeControl(h, hello, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  DigestKey key = Key(DigestType::kHmacSha1);
  ASSERT_TRUE(SignControl(*wire, Transport::kUdp, {&key, 1}, kLocalNonce, kRemoteNonce).ok());
  EXPECT_EQ(Bytes(wire->end() - 20, wire->end()), Hex("4c4af530e65c18c19de69ae73dd18991f1195aa2"));
}

TEST(DigestTest, SccrqOverIpUsesNoNonces) {
  Message sccrq = Message::Builder(MessageType::kSccrq)
                      .Add<avp::MessageDigest>({DigestType::kHmacMd5, Bytes(16, 0)})
                      .Add<avp::ControlMessageAuthNonce>(kLocalNonce)
                      .Build();
  auto wire = EncodeControl(ControlHeader{}, sccrq, Transport::kIp);
  ASSERT_TRUE(wire.ok());
  DigestKey key = Key(DigestType::kHmacMd5);
  ASSERT_TRUE(SignControl(*wire, Transport::kIp, {&key, 1}, kLocalNonce, {}).ok());
  // The digest covers the message from the T bit, not the zero session ID (§5.4.1).
  EXPECT_EQ(Bytes(wire->begin() + 4 + 12 + 8 + 7, wire->begin() + 4 + 12 + 8 + 23),
            Hex("0d3b9751c9d7398f5401ce3a5b395b78"));
  EXPECT_TRUE(VerifyControl(*wire, Transport::kIp, {&key, 1}, {}, {}).ok());
}

TEST(DigestTest, TwoDigestsDuringRolloverEitherVerifies) {
  Message hello = Message::Builder(MessageType::kHello)
                      .Add<avp::MessageDigest>({DigestType::kHmacMd5, Bytes(16, 0)})
                      .Add<avp::MessageDigest>({DigestType::kHmacSha1, Bytes(20, 0)})
                      .Build();
  auto wire = EncodeControl(ControlHeader{.connection_id = 9}, hello, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  DigestKey old_key = Key(DigestType::kHmacMd5);
  DigestKey new_key{DigestType::kHmacSha1, DeriveSharedKey(Str("new secret"))};
  DigestKey both[] = {old_key, new_key};
  ASSERT_TRUE(SignControl(*wire, Transport::kUdp, both, kLocalNonce, kRemoteNonce).ok());
  EXPECT_TRUE(VerifyControl(*wire, Transport::kUdp, {&old_key, 1}, kRemoteNonce, kLocalNonce).ok());
  EXPECT_TRUE(VerifyControl(*wire, Transport::kUdp, {&new_key, 1}, kRemoteNonce, kLocalNonce).ok());
  DigestKey wrong{DigestType::kHmacMd5, DeriveSharedKey(Str("wrong"))};
  EXPECT_FALSE(VerifyControl(*wire, Transport::kUdp, {&wrong, 1}, kRemoteNonce, kLocalNonce).ok());
}

TEST(DigestTest, MissingOrMismatchedDigestAvps) {
  Message hello = Message::Builder(MessageType::kHello).Build();
  auto wire = EncodeControl(ControlHeader{}, hello, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  DigestKey key = Key(DigestType::kHmacMd5);
  EXPECT_EQ(VerifyControl(*wire, Transport::kUdp, {&key, 1}, {}, {}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(SignControl(*wire, Transport::kUdp, {&key, 1}, {}, {}).ok());
  DigestKey sha = Key(DigestType::kHmacSha1);
  Message md5 = Message::Builder(MessageType::kHello)
                    .Add<avp::MessageDigest>({DigestType::kHmacMd5, Bytes(16, 0)})
                    .Build();
  wire = EncodeControl(ControlHeader{}, md5, Transport::kUdp);
  ASSERT_TRUE(wire.ok());
  EXPECT_FALSE(SignControl(*wire, Transport::kUdp, {&sha, 1}, {}, {}).ok());
}

TEST(DigestTest, ChallengeResponseIsMd5OfTypeSecretChallenge) {
  Bytes challenge = Hex("000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(ChallengeResponse(2, Str("secret"), challenge),
            Hex("dd4186e2196f00124a9d588f02701259"));
}

TEST(HiddenTest, HidesLikeTheRfc2661Chain) {
  Bytes rv = Hex("000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(HideValue(14, Hex("1234"), Str("secret"), rv), Hex("3b5bf16b"));
  Bytes long_value(20, 'a');
  Bytes hidden = HideValue(30, long_value, Str("secret"), rv);
  EXPECT_EQ(hidden, Hex("b033c67b64d08e817837a6901427cc98dc163ef5c2af"));
  auto plain = UnhideValue(30, hidden, Str("secret"), rv);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, long_value);
}

TEST(HiddenTest, UnhideRejectsImpossibleLengthsAndKeepsPaddingOut) {
  Bytes rv = Hex("00");
  Bytes padded = HideValue(14, Hex("1234"), Str("s"), rv, Hex("deadbeef"));
  EXPECT_EQ(padded.size(), 8u);
  auto plain = UnhideValue(14, padded, Str("s"), rv);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, Hex("1234"));
  EXPECT_FALSE(UnhideValue(14, Hex("00"), Str("s"), rv).ok());
  // With the wrong secret the recovered length is garbage; it must never read past the end.
  for (int i = 0; i < 64; ++i) {
    Bytes secret = {static_cast<uint8_t>(i)};
    auto r = UnhideValue(14, padded, secret, rv);
    if (r.ok()) {
      EXPECT_LE(r->size(), padded.size() - 2);
    }
  }
}

}  // namespace
}  // namespace pwire::l2tp
