// Golden control messages: see golden_messages.h. The hex is written by hand from the RFC
// formats; the Builder calls say the same thing in the codec's terms.
#include "tests/l2tp/golden_messages.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"

namespace pwire::l2tp::testing {
namespace {

using B = Message::Builder;
using T = MessageType;

ControlHeader V3(uint32_t ccid, uint16_t ns, uint16_t nr) {
  return ControlHeader{.version = 3, .connection_id = ccid, .session_id = 0, .ns = ns, .nr = nr};
}
ControlHeader V2(uint16_t tunnel, uint16_t session, uint16_t ns, uint16_t nr) {
  return ControlHeader{
      .version = 2, .connection_id = tunnel, .session_id = session, .ns = ns, .nr = nr};
}
Bytes Seq(uint8_t first, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) {
    b[i] = static_cast<uint8_t>(first + i);
  }
  return b;
}
Bytes Str(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

Bytes FromHex(const std::string& hex_with_spaces) {
  std::string raw = absl::HexStringToBytes(absl::StrReplaceAll(hex_with_spaces, {{" ", ""}}));
  return Bytes(raw.begin(), raw.end());
}

std::vector<Golden> GoldenV3Messages() {
  std::vector<Golden> g;
  g.push_back({"v3 SCCRQ", V3(0, 0, 0),
               B(T::kSccrq)
                   .Add<avp::HostName>("lac1")
                   .Add<avp::RouterId>(0xc0000201)
                   .Add<avp::AssignedControlConnectionId>(0xabcd)
                   .Add<avp::PwCapabilitiesList>({5, 4})
                   .Add<avp::ReceiveWindowSize>(16)
                   .Add<avp::TieBreaker>(0x0102030405060708)
                   .Add<avp::VendorName>("pwire")
                   .Add<avp::FirmwareRevision>(0x0100)
                   .Add<avp::ControlMessageAuthNonce>(Seq(0, 16))
                   .Build(),
               "c803 007b 00000000 0000 0000"
               "8008 0000 0000 0001"
               "800a 0000 0007 6c616331"
               "800a 0000 003c c0000201"
               "800a 0000 003d 0000abcd"
               "800a 0000 003e 0005 0004"
               "8008 0000 000a 0010"
               "800e 0000 0005 0102030405060708"
               "000b 0000 0008 7077697265"
               "0008 0000 0006 0100"
               "8016 0000 0049 000102030405060708090a0b0c0d0e0f"});
  g.push_back({"v3 SCCRP", V3(0xabcd, 0, 1),
               B(T::kSccrp)
                   .Add<avp::MessageDigest>({DigestType::kHmacMd5, Bytes(16, 0)})
                   .Add<avp::HostName>("lns1")
                   .Add<avp::RouterId>(0xc0000202)
                   .Add<avp::AssignedControlConnectionId>(0x1234)
                   .Add<avp::PwCapabilitiesList>({5})
                   .Add<avp::ControlMessageAuthNonce>(Seq(0x10, 16))
                   .Add<avp::PreferredLanguage>("en")
                   .Build(),
               "c803 006f 0000abcd 0000 0001"
               "8008 0000 0000 0002"
               "8017 0000 003b 00 00000000000000000000000000000000"
               "800a 0000 0007 6c6e7331"
               "800a 0000 003c c0000202"
               "800a 0000 003d 00001234"
               "8008 0000 003e 0005"
               "8016 0000 0049 101112131415161718191a1b1c1d1e1f"
               "0008 0000 0048 656e"});
  g.push_back({"v3 SCCCN", V3(0x1234, 1, 1), B(T::kScccn).Build(),
               "c803 0014 00001234 0001 0001"
               "8008 0000 0000 0003"});
  g.push_back({"v3 StopCCN", V3(0x1234, 2, 1),
               B(T::kStopccn)
                   .Add<avp::ResultCode>({2, 8, "AVP 0:256"})
                   .Add<avp::AssignedControlConnectionId>(0xabcd)
                   .Build(),
               "c803 0031 00001234 0002 0001"
               "8008 0000 0000 0004"
               "8013 0000 0001 0002 0008 41565020303a323536"
               "800a 0000 003d 0000abcd"});
  g.push_back({"v3 HELLO", V3(0x1234, 3, 1), B(T::kHello).Build(),
               "c803 0014 00001234 0003 0001"
               "8008 0000 0000 0006"});
  g.push_back({"v3 ICRQ", V3(0x1234, 4, 1),
               B(T::kIcrq)
                   .Add<avp::LocalSessionId>(0x11111111)
                   .Add<avp::RemoteSessionId>(0)
                   .Add<avp::CallSerialNumber>(7)
                   .Add<avp::PwType>(5)
                   .Add<avp::RemoteEndId>(Str("pw-1"))
                   .Add<avp::AssignedCookie>(Seq(1, 8))
                   .Add<avp::TieBreaker>(0x1122334455667788)
                   .Add<avp::L2SpecificSublayer>(1)
                   .Add<avp::DataSequencing>(2)
                   .Add<avp::TxConnectSpeed>(1000000000)
                   .Add<avp::RxConnectSpeed>(1000000000)
                   .Add<avp::PhysicalChannelId>(3)
                   .Add<avp::CircuitStatus>(3)
                   .Build(),
               "c803 009e 00001234 0004 0001"
               "8008 0000 0000 000a"
               "800a 0000 003f 11111111"
               "800a 0000 0040 00000000"
               "000a 0000 000f 00000007"
               "8008 0000 0044 0005"
               "800a 0000 0042 70772d31"
               "800e 0000 0041 0102030405060708"
               "800e 0000 0005 1122334455667788"
               "8008 0000 0045 0001"
               "8008 0000 0046 0002"
               "000e 0000 004a 000000003b9aca00"
               "000e 0000 004b 000000003b9aca00"
               "000a 0000 0019 00000003"
               "8008 0000 0047 0003"});
  g.push_back({"v3 ICRP", V3(0xabcd, 1, 5),
               B(T::kIcrp)
                   .Add<avp::LocalSessionId>(0x22222222)
                   .Add<avp::RemoteSessionId>(0x11111111)
                   .Add<avp::AssignedCookie>(FromHex("a1a2a3a4"))
                   .Add<avp::L2SpecificSublayer>(0)
                   .Add<avp::CircuitStatus>(1)
                   .Build(),
               "c803 0042 0000abcd 0001 0005"
               "8008 0000 0000 000b"
               "800a 0000 003f 22222222"
               "800a 0000 0040 11111111"
               "800a 0000 0041 a1a2a3a4"
               "8008 0000 0045 0000"
               "8008 0000 0047 0001"});
  g.push_back({"v3 ICCN", V3(0x1234, 5, 2),
               B(T::kIccn)
                   .Add<avp::LocalSessionId>(0x11111111)
                   .Add<avp::RemoteSessionId>(0x22222222)
                   .Add<avp::L2SpecificSublayer>(1)
                   .Add<avp::DataSequencing>(0)
                   .Add<avp::CircuitStatus>(1)
                   .Build(),
               "c803 0040 00001234 0005 0002"
               "8008 0000 0000 000c"
               "800a 0000 003f 11111111"
               "800a 0000 0040 22222222"
               "8008 0000 0045 0001"
               "8008 0000 0046 0000"
               "8008 0000 0047 0001"});
  g.push_back({"v3 OCRQ", V3(0x1234, 6, 2),
               B(T::kOcrq)
                   .Add<avp::LocalSessionId>(0x33333333)
                   .Add<avp::RemoteSessionId>(0)
                   .Add<avp::CallSerialNumber>(8)
                   .Add<avp::PwType>(4)
                   .Add<avp::RemoteEndId>(FromHex("00000064"))
                   .Build(),
               "c803 0044 00001234 0006 0002"
               "8008 0000 0000 0007"
               "800a 0000 003f 33333333"
               "800a 0000 0040 00000000"
               "000a 0000 000f 00000008"
               "8008 0000 0044 0004"
               "800a 0000 0042 00000064"});
  g.push_back({"v3 OCRP", V3(0xabcd, 2, 7),
               B(T::kOcrp)
                   .Add<avp::LocalSessionId>(0x44444444)
                   .Add<avp::RemoteSessionId>(0x33333333)
                   .Add<avp::PhysicalChannelId>(9)
                   .Build(),
               "c803 0032 0000abcd 0002 0007"
               "8008 0000 0000 0008"
               "800a 0000 003f 44444444"
               "800a 0000 0040 33333333"
               "000a 0000 0019 00000009"});
  g.push_back({"v3 OCCN", V3(0x1234, 3, 7),
               B(T::kOccn)
                   .Add<avp::LocalSessionId>(0x44444444)
                   .Add<avp::RemoteSessionId>(0x33333333)
                   .Build(),
               "c803 0028 00001234 0003 0007"
               "8008 0000 0000 0009"
               "800a 0000 003f 44444444"
               "800a 0000 0040 33333333"});
  g.push_back({"v3 CDN", V3(0xabcd, 4, 8),
               B(T::kCdn)
                   .Add<avp::ResultCode>({3, std::nullopt, ""})
                   .Add<avp::LocalSessionId>(0x22222222)
                   .Add<avp::RemoteSessionId>(0x11111111)
                   .Add<avp::Q931CauseCode>({16, 0x5a, ""})
                   .Build(),
               "c803 0039 0000abcd 0004 0008"
               "8008 0000 0000 000e"
               "8008 0000 0001 0003"
               "800a 0000 003f 22222222"
               "800a 0000 0040 11111111"
               "8009 0000 000c 0010 5a"});
  g.push_back({"v3 WEN", V3(0x1234, 8, 4),
               B(T::kWen)
                   .Add<avp::LocalSessionId>(0x11111111)
                   .Add<avp::RemoteSessionId>(0x22222222)
                   .Add<avp::CallErrors>({.v2_format = false,
                                          .hardware_overruns = 1,
                                          .buffer_overruns = 2,
                                          .timeouts = 3,
                                          .alignment = 4})
                   .Build(),
               "c803 0040 00001234 0008 0004"
               "8008 0000 0000 000f"
               "800a 0000 003f 11111111"
               "800a 0000 0040 22222222"
               "0018 0000 0022 0000 00000001 00000002 00000003 00000004"});
  g.push_back({"v3 SLI", V3(0x1234, 9, 4),
               B(T::kSli)
                   .Add<avp::LocalSessionId>(0x11111111)
                   .Add<avp::RemoteSessionId>(0x22222222)
                   .Add<avp::CircuitStatus>(5)
                   .Build(),
               "c803 0030 00001234 0009 0004"
               "8008 0000 0000 0010"
               "800a 0000 003f 11111111"
               "800a 0000 0040 22222222"
               "8008 0000 0047 0005"});
  // The pseudowire AVPs: Frame Relay 85 (RFC 4591), ATM 86-88 (RFC 4454), RFC 4667 89-91,
  // RFC 4623 94-95, in the messages that carry them.
  g.push_back({"v3 ICRQ pseudowire AVPs", V3(0x1234, 12, 9),
               B(T::kIcrq)
                   .Add<avp::LocalSessionId>(0x33333333)
                   .Add<avp::RemoteSessionId>(0)
                   .Add<avp::PwType>(1)
                   .Add<avp::RemoteEndId>(Str("pw-2"))
                   .Add<avp::FrHeaderLength>(2)
                   .Add<avp::AtmMaxConcatenatedCells>(28)
                   .Add<avp::OamEmulationRequired>({})
                   .Add<avp::AttachmentGroupId>(Str("ag1"))
                   .Add<avp::LocalEndId>(Str("le1"))
                   .Add<avp::InterfaceMtu>(1500)
                   .Add<avp::Mru>(1500)
                   .Add<avp::Mrru>(1600)
                   .Build(),
               "c803 007a 00001234 000c 0009"
               "8008 0000 0000 000a"
               "800a 0000 003f 33333333"
               "800a 0000 0040 00000000"
               "8008 0000 0044 0001"
               "800a 0000 0042 70772d32"
               "8008 0000 0055 0002"
               "8008 0000 0056 001c"
               "8006 0000 0057"
               "8009 0000 0059 616731"
               "8009 0000 005a 6c6531"
               "0008 0000 005b 05dc"
               "8008 0000 005e 05dc"
               "8008 0000 005f 0640"});
  g.push_back({"v3 SLI ATM alarm", V3(0x1234, 13, 9),
               B(T::kSli)
                   .Add<avp::LocalSessionId>(0x33333333)
                   .Add<avp::RemoteSessionId>(0x44444444)
                   .Add<avp::CircuitStatus>(0)
                   .Add<avp::AtmAlarmStatus>({1, 2})
                   .Build(),
               "c803 003a 00001234 000d 0009"
               "8008 0000 0000 0010"
               "800a 0000 003f 33333333"
               "800a 0000 0040 44444444"
               "8008 0000 0047 0000"
               "800a 0000 0058 0001 0002"});
  g.push_back({"v3 ACK", V3(0x1234, 10, 9), B(T::kAck).Build(),
               "c803 0014 00001234 000a 0009"
               "8008 0000 0000 0014"});
  g.push_back({"v3 ZLB", V3(0x1234, 11, 9), Message(), "c803 000c 00001234 000b 0009"});
  return g;
}

std::vector<Golden> GoldenV2Messages() {
  std::vector<Golden> g;
  g.push_back({"v2 SCCRQ", V2(0, 0, 0, 0),
               B(T::kSccrq, 2)
                   .Add<avp::ProtocolVersion>({1, 0})
                   .Add<avp::HostName>("lac")
                   .Add<avp::FramingCapabilities>(3)
                   .Add<avp::BearerCapabilities>(0)
                   .Add<avp::AssignedTunnelId>(0x0102)
                   .Add<avp::ReceiveWindowSize>(4)
                   .Add<avp::Challenge>(Seq(0, 8))
                   .Add<avp::TieBreaker>(0x0102030405060708)
                   .Add<avp::FirmwareRevision>(0x0690)
                   .Add<avp::VendorName>("xl2tpd")
                   .Build(),
               "c802 0079 0000 0000 0000 0000"
               "8008 0000 0000 0001"
               "8008 0000 0002 0100"
               "8009 0000 0007 6c6163"
               "800a 0000 0003 00000003"
               "800a 0000 0004 00000000"
               "8008 0000 0009 0102"
               "8008 0000 000a 0004"
               "800e 0000 000b 0001020304050607"
               "000e 0000 0005 0102030405060708"
               "0008 0000 0006 0690"
               "000c 0000 0008 786c32747064"});
  g.push_back({"v2 SCCRP", V2(0x0102, 0, 0, 1),
               B(T::kSccrp, 2)
                   .Add<avp::ProtocolVersion>({1, 0})
                   .Add<avp::FramingCapabilities>(1)
                   .Add<avp::HostName>("lns")
                   .Add<avp::AssignedTunnelId>(0x0203)
                   .Add<avp::ChallengeResponse>(Seq(0x20, 16))
                   .Build(),
               "c802 004d 0102 0000 0000 0001"
               "8008 0000 0000 0002"
               "8008 0000 0002 0100"
               "800a 0000 0003 00000001"
               "8009 0000 0007 6c6e73"
               "8008 0000 0009 0203"
               "8016 0000 000d 202122232425262728292a2b2c2d2e2f"});
  g.push_back({"v2 SCCCN", V2(0x0203, 0, 1, 1),
               B(T::kScccn, 2).Add<avp::ChallengeResponse>(Seq(0x30, 16)).Build(),
               "c802 002a 0203 0000 0001 0001"
               "8008 0000 0000 0003"
               "8016 0000 000d 303132333435363738393a3b3c3d3e3f"});
  g.push_back({"v2 StopCCN", V2(0x0203, 0, 2, 1),
               B(T::kStopccn, 2)
                   .Add<avp::AssignedTunnelId>(0x0102)
                   .Add<avp::ResultCode>({1, 0, ""})
                   .Build(),
               "c802 0026 0203 0000 0002 0001"
               "8008 0000 0000 0004"
               "8008 0000 0009 0102"
               "800a 0000 0001 0001 0000"});
  g.push_back({"v2 HELLO", V2(0x0203, 0, 3, 1), B(T::kHello, 2).Build(),
               "c802 0014 0203 0000 0003 0001"
               "8008 0000 0000 0006"});
  g.push_back({"v2 ICRQ", V2(0x0203, 0, 4, 1),
               B(T::kIcrq, 2)
                   .Add<avp::AssignedSessionId>(0x0a0b)
                   .Add<avp::CallSerialNumber>(1)
                   .Add<avp::BearerType>(2)
                   .Add<avp::PhysicalChannelId>(5)
                   .Add<avp::CallingNumber>("123")
                   .Add<avp::CalledNumber>("456")
                   .Add<avp::SubAddress>("7")
                   .Build(),
               "c802 0053 0203 0000 0004 0001"
               "8008 0000 0000 000a"
               "8008 0000 000e 0a0b"
               "800a 0000 000f 00000001"
               "800a 0000 0012 00000002"
               "000a 0000 0019 00000005"
               "8009 0000 0016 313233"
               "8009 0000 0015 343536"
               "8007 0000 0017 37"});
  g.push_back({"v2 ICRP", V2(0x0102, 0x0a0b, 1, 5),
               B(T::kIcrp, 2).Add<avp::AssignedSessionId>(0x0c0d).Build(),
               "c802 001c 0102 0a0b 0001 0005"
               "8008 0000 0000 000b"
               "8008 0000 000e 0c0d"});
  g.push_back({"v2 ICCN", V2(0x0203, 0x0c0d, 5, 2),
               B(T::kIccn, 2)
                   .Add<avp::TxConnectSpeedBps>(10000000)
                   .Add<avp::FramingType>(1)
                   .Add<avp::InitialReceivedLcpConfreq>(FromHex("010405dc"))
                   .Add<avp::LastSentLcpConfreq>(FromHex("010405dc"))
                   .Add<avp::LastReceivedLcpConfreq>(FromHex("010405dc"))
                   .Add<avp::ProxyAuthenType>(2)
                   .Add<avp::ProxyAuthenName>("bob")
                   .Add<avp::ProxyAuthenChallenge>(FromHex("deadbeef"))
                   .Add<avp::ProxyAuthenId>(1)
                   .Add<avp::ProxyAuthenResponse>(FromHex("cafebabe"))
                   .Add<avp::PrivateGroupId>(Str("g"))
                   .Add<avp::RxConnectSpeedBps>(10000000)
                   .Add<avp::SequencingRequired>({})
                   .Build(),
               "c802 008a 0203 0c0d 0005 0002"
               "8008 0000 0000 000c"
               "800a 0000 0018 00989680"
               "800a 0000 0013 00000001"
               "000a 0000 001a 010405dc"
               "000a 0000 001b 010405dc"
               "000a 0000 001c 010405dc"
               "0008 0000 001d 0002"
               "0009 0000 001e 626f62"
               "000a 0000 001f deadbeef"
               "0008 0000 0020 0001"
               "000a 0000 0021 cafebabe"
               "0007 0000 0025 67"
               "000a 0000 0026 00989680"
               "8006 0000 0027"});
  g.push_back({"v2 OCRQ", V2(0x0102, 0, 2, 5),
               B(T::kOcrq, 2)
                   .Add<avp::AssignedSessionId>(0x0e0f)
                   .Add<avp::CallSerialNumber>(2)
                   .Add<avp::MinimumBps>(9600)
                   .Add<avp::MaximumBps>(64000)
                   .Add<avp::BearerType>(1)
                   .Add<avp::FramingType>(2)
                   .Add<avp::CalledNumber>("5551234")
                   .Add<avp::SubAddress>("")
                   .Build(),
               "c802 0061 0102 0000 0002 0005"
               "8008 0000 0000 0007"
               "8008 0000 000e 0e0f"
               "800a 0000 000f 00000002"
               "800a 0000 0010 00002580"
               "800a 0000 0011 0000fa00"
               "800a 0000 0012 00000001"
               "800a 0000 0013 00000002"
               "800d 0000 0015 35353531323334"
               "8006 0000 0017"});
  g.push_back(
      {"v2 OCRP", V2(0x0203, 0x0e0f, 6, 3),
       B(T::kOcrp, 2).Add<avp::AssignedSessionId>(0x1011).Add<avp::PhysicalChannelId>(1).Build(),
       "c802 0026 0203 0e0f 0006 0003"
       "8008 0000 0000 0008"
       "8008 0000 000e 1011"
       "000a 0000 0019 00000001"});
  g.push_back({"v2 OCCN", V2(0x0102, 0x1011, 3, 7),
               B(T::kOccn, 2)
                   .Add<avp::TxConnectSpeedBps>(64000)
                   .Add<avp::FramingType>(2)
                   .Add<avp::RxConnectSpeedBps>(64000)
                   .Build(),
               "c802 0032 0102 1011 0003 0007"
               "8008 0000 0000 0009"
               "800a 0000 0018 0000fa00"
               "800a 0000 0013 00000002"
               "000a 0000 0026 0000fa00"});
  g.push_back({"v2 CDN", V2(0x0203, 0x0c0d, 7, 3),
               B(T::kCdn, 2)
                   .Add<avp::ResultCode>({2, 6, "x"})
                   .Add<avp::AssignedSessionId>(0x0a0b)
                   .Add<avp::Q931CauseCode>({16, 0x45, "ok"})
                   .Build(),
               "c802 0032 0203 0c0d 0007 0003"
               "8008 0000 0000 000e"
               "800b 0000 0001 0002 0006 78"
               "8008 0000 000e 0a0b"
               "800b 0000 000c 0010 45 6f6b"});
  g.push_back({"v2 WEN", V2(0x0203, 0x0c0d, 8, 3),
               B(T::kWen, 2)
                   .Add<avp::CallErrors>({.v2_format = true,
                                          .crc = 1,
                                          .framing = 2,
                                          .hardware_overruns = 3,
                                          .buffer_overruns = 4,
                                          .timeouts = 5,
                                          .alignment = 6})
                   .Build(),
               "c802 0034 0203 0c0d 0008 0003"
               "8008 0000 0000 000f"
               "8020 0000 0022 0000 00000001 00000002 00000003 00000004 00000005 00000006"});
  g.push_back({"v2 SLI", V2(0x0102, 0x0a0b, 4, 9),
               B(T::kSli, 2).Add<avp::Accm>({0xffffffff, 0}).Build(),
               "c802 0024 0102 0a0b 0004 0009"
               "8008 0000 0000 0010"
               "8010 0000 0023 0000 ffffffff 00000000"});
  g.push_back({"v2 ZLB", V2(0x0102, 0, 5, 10), Message(), "c802 000c 0102 0000 0005 000a"});
  return g;
}

}  // namespace pwire::l2tp::testing
