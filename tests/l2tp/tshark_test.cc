// Wireshark as an outside judge of the codec: full exchanges (SCCRQ..ICCN with Message
// Digests, data packets, HELLO, SLI, CDN, StopCCN) for L2TPv3 over UDP, L2TPv3 over IP and
// L2TPv2 are built with the codec, written to pcap files and read back with tshark, which
// must report no malformed packet and no expert warning or error (a wrong digest is one,
// since tshark is given the shared secret), and must decode the fields to what was sent.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "agent/l2tp/digest.h"
#include "agent/l2tp/header.h"
#include "agent/l2tp/message.h"
#include "pwire/base/bytes.h"
#include "pwire/base/random.h"
#include "tests/l2tp/sim.h"

namespace pwire::l2tp {
namespace {

using Expect = std::map<std::string, std::string>;
using B = Message::Builder;
using T = MessageType;

constexpr char kSecret[] = "pwire-judge";
constexpr uint32_t kAddrA = 0xc0000201;  // 192.0.2.1
constexpr uint32_t kAddrB = 0xc0000202;  // 192.0.2.2

std::string Hex(std::span<const uint8_t> b) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}
Bytes Str(absl::string_view s) { return Bytes(s.begin(), s.end()); }

// --- pcap with raw IPv4 packets (LINKTYPE_RAW) ------------------------------------------

uint16_t IpChecksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += base::LoadBe16(p + i);
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

Bytes Ipv4(uint32_t src, uint32_t dst, uint8_t protocol, std::span<const uint8_t> payload) {
  Bytes p;
  base::Writer w(p);
  w.U8(0x45);
  w.U8(0);
  w.U16(static_cast<uint16_t>(20 + payload.size()));
  w.U16(1);
  w.U16(0x4000);  // DF
  w.U8(64);
  w.U8(protocol);
  w.U16(0);
  w.U32(src);
  w.U32(dst);
  base::StoreBe16(&p[10], IpChecksum(p.data(), 20));
  w.Bytes(payload);
  return p;
}

Bytes Udp(std::span<const uint8_t> payload) {
  Bytes p;
  base::Writer w(p);
  w.U16(kUdpPort);
  w.U16(kUdpPort);
  w.U16(static_cast<uint16_t>(8 + payload.size()));
  w.U16(0);  // no checksum (allowed over IPv4)
  w.Bytes(payload);
  return p;
}

void WritePcap(const std::string& path, const std::vector<Bytes>& packets) {
  Bytes out;
  auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  };
  auto le16 = [&](uint16_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
  };
  le32(0xa1b2c3d4);
  le16(2);
  le16(4);
  le32(0);
  le32(0);
  le32(65535);
  le32(101);  // LINKTYPE_RAW
  uint32_t t = 1700000000;
  for (const Bytes& p : packets) {
    le32(t++);
    le32(0);
    le32(static_cast<uint32_t>(p.size()));
    le32(static_cast<uint32_t>(p.size()));
    out.insert(out.end(), p.begin(), p.end());
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

// --- an exchange between LCCE A (192.0.2.1) and LCCE B (192.0.2.2) ------------------------

class Capture {
 public:
  Capture(uint8_t version, Transport transport, bool authenticate)
      : version_(version), transport_(transport), authenticate_(authenticate) {
    key_ = DigestKey{DigestType::kHmacMd5, DeriveSharedKey(Str(kSecret))};
    nonce_a_ = Bytes(16);
    nonce_b_ = Bytes(16);
    random_.Fill(nonce_a_);
    random_.Fill(nonce_b_);
  }

  const Bytes& nonce_a() const { return nonce_a_; }
  const Bytes& nonce_b() const { return nonce_b_; }
  base::Random& random() { return random_; }

  // Encodes, signs (v3 with authentication, every message but a ZLB) and records it.
  void Control(bool from_a, const ControlHeader& h, const Message& m, Expect expect) {
    Message signed_message = m;
    bool sign = authenticate_ && version_ == 3 && !m.is_zlb();
    if (sign) {
      auto& avps = signed_message.mutable_avps();
      avps.insert(avps.begin(), Avp{.attribute = static_cast<uint16_t>(Attr::kMessageDigest),
                                    .mandatory = true,
                                    .value = MessageDigest{DigestType::kHmacMd5, Bytes(16, 0)}});
    }
    auto wire =
        EncodeControl(h, signed_message, transport_, {.secret = Str(kSecret), .random = &random_});
    ASSERT_TRUE(wire.ok()) << wire.status();
    if (sign) {
      const Bytes& mine = from_a ? nonce_a_ : nonce_b_;
      const Bytes& theirs = from_a ? nonce_b_ : nonce_a_;
      ASSERT_TRUE(SignControl(*wire, transport_, {&key_, 1}, mine, theirs).ok());
      size_t at = (transport_ == Transport::kIp ? 4 : 0) + kControlHeaderSize + 8 + 7;
      expect["l2tp.avp.message_digest"] = "00" + Hex(std::span(*wire).subspan(at, 16));
    }
    if (!m.is_zlb()) {
      expect["l2tp.avp.message_type"] = absl::StrCat(m.type());
    }
    expect["l2tp.Ns"] = absl::StrCat(h.ns);
    expect["l2tp.Nr"] = absl::StrCat(h.nr);
    if (version_ == 3) {
      expect["l2tp.ccid"] = absl::StrCat(h.connection_id);
    } else {
      expect["l2tp.tunnel"] = absl::StrCat(h.connection_id);
      expect["l2tp.session"] = absl::StrCat(h.session_id);
    }
    Add(from_a, *wire, std::move(expect));
  }

  void Data(bool from_a, const Bytes& l2tp_packet, Expect expect) {
    Add(from_a, l2tp_packet, std::move(expect));
  }

  const std::vector<Expect>& expectations() const { return expect_; }

  void Write(const std::string& path) const { WritePcap(path, packets_); }

 private:
  void Add(bool from_a, std::span<const uint8_t> l2tp, Expect expect) {
    uint32_t src = from_a ? kAddrA : kAddrB, dst = from_a ? kAddrB : kAddrA;
    packets_.push_back(transport_ == Transport::kUdp ? Ipv4(src, dst, 17, Udp(l2tp))
                                                     : Ipv4(src, dst, kIpProtocol, l2tp));
    expect_.push_back(std::move(expect));
  }

  uint8_t version_;
  Transport transport_;
  bool authenticate_;
  base::SeededRandom random_{42};
  DigestKey key_;
  Bytes nonce_a_, nonce_b_;
  std::vector<Bytes> packets_;
  std::vector<Expect> expect_;
};

std::string U(uint64_t v) { return absl::StrCat(v); }

// An Ethernet frame to carry: broadcast ARP request from 02:00:00:00:00:01.
Bytes EthernetFrame() {
  Bytes f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06};
  Bytes arp = {0,  1, 8, 0, 6, 4, 0, 1, 2, 0, 0,  0, 0, 1,
               10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
  f.insert(f.end(), arp.begin(), arp.end());
  f.resize(60, 0);
  return f;
}

Capture V3Exchange(Transport transport) {
  Capture c(3, transport, /*authenticate=*/true);
  const uint32_t ccid_a = 0x1001, ccid_b = 0x2002, sid_a = 0x11, sid_b = 0x22;
  const Bytes cookie_a = {0xa1, 0xa2, 0xa3, 0xa4}, cookie_b = {0xb1, 0xb2, 0xb3, 0xb4};
  auto hdr = [](uint32_t ccid, uint16_t ns, uint16_t nr) {
    return ControlHeader{.version = 3, .connection_id = ccid, .ns = ns, .nr = nr};
  };
  c.Control(true, hdr(0, 0, 0),
            B(T::kSccrq)
                .Add<avp::HostName>("lcce-a")
                .Add<avp::RouterId>(kAddrA)
                .Add<avp::AssignedControlConnectionId>(ccid_a)
                .Add<avp::PwCapabilitiesList>({5, 4})
                .Add<avp::ReceiveWindowSize>(8)
                .Add<avp::TieBreaker>(0x0102030405060708)
                .Add<avp::ControlMessageAuthNonce>(c.nonce_a())
                .Build(),
            {{"l2tp.avp.host_name", "lcce-a"},
             {"l2tp.avp.router_id", U(kAddrA)},
             {"l2tp.avp.assigned_control_conn_id", U(ccid_a)},
             {"l2tp.avp.receive_window_size", "8"},
             {"l2tp.avp.nonce", Hex(c.nonce_a())}});
  c.Control(false, hdr(ccid_a, 0, 1),
            B(T::kSccrp)
                .Add<avp::HostName>("lcce-b")
                .Add<avp::RouterId>(kAddrB)
                .Add<avp::AssignedControlConnectionId>(ccid_b)
                .Add<avp::PwCapabilitiesList>({5})
                .Add<avp::ControlMessageAuthNonce>(c.nonce_b())
                .Build(),
            {{"l2tp.avp.host_name", "lcce-b"},
             {"l2tp.avp.assigned_control_conn_id", U(ccid_b)},
             {"l2tp.avp.nonce", Hex(c.nonce_b())}});
  c.Control(true, hdr(ccid_b, 1, 1), B(T::kScccn).Build(), {});
  c.Control(false, hdr(ccid_a, 1, 2), Message(), {});
  c.Control(true, hdr(ccid_b, 2, 1),
            B(T::kIcrq)
                .Add<avp::LocalSessionId>(sid_a)
                .Add<avp::RemoteSessionId>(0)
                .Add<avp::CallSerialNumber>(1)
                .Add<avp::PwType>(5)
                .Add<avp::RemoteEndId>(Str("pw-1"))
                .Add<avp::AssignedCookie>(cookie_a)
                .Add<avp::L2SpecificSublayer>(1)
                .Add<avp::DataSequencing>(0)
                .Add<avp::CircuitStatus>(3)
                .Build(),
            {{"l2tp.avp.local_session_id", U(sid_a)},
             {"l2tp.avp.remote_session_id", "0"},
             {"l2tp.avp.pseudowire_type", "5"},
             {"l2tp.avp.assigned_cookie", Hex(cookie_a)},
             {"l2tp.avp.remote_end_id", "pw-1"}});
  c.Control(false, hdr(ccid_a, 1, 3),
            B(T::kIcrp)
                .Add<avp::LocalSessionId>(sid_b)
                .Add<avp::RemoteSessionId>(sid_a)
                .Add<avp::AssignedCookie>(cookie_b)
                .Add<avp::L2SpecificSublayer>(1)
                .Add<avp::CircuitStatus>(3)
                .Build(),
            {{"l2tp.avp.local_session_id", U(sid_b)},
             {"l2tp.avp.remote_session_id", U(sid_a)},
             {"l2tp.avp.assigned_cookie", Hex(cookie_b)}});
  c.Control(true, hdr(ccid_b, 3, 2),
            B(T::kIccn)
                .Add<avp::LocalSessionId>(sid_a)
                .Add<avp::RemoteSessionId>(sid_b)
                .Add<avp::L2SpecificSublayer>(1)
                .Add<avp::CircuitStatus>(1)
                .Build(),
            {{"l2tp.avp.local_session_id", U(sid_a)}, {"l2tp.avp.remote_session_id", U(sid_b)}});
  c.Control(false, hdr(ccid_a, 2, 4), Message(), {});
  for (bool from_a : {true, false}) {
    Bytes pkt;
    AppendV3DataHeader(pkt, transport, from_a ? sid_b : sid_a, from_a ? cookie_b : cookie_a,
                       DefaultSublayer{.sequenced = true, .sequence = 7});
    Bytes frame = EthernetFrame();
    pkt.insert(pkt.end(), frame.begin(), frame.end());
    c.Data(from_a, pkt,
           {{"l2tp.sid", U(from_a ? sid_b : sid_a)},
            {"l2tp.cookie", Hex(from_a ? cookie_b : cookie_a)},
            {"l2tp.l2_spec_sequence", "7"},
            {"eth.src", "02:00:00:00:00:01"}});
  }
  c.Control(true, hdr(ccid_b, 4, 2), B(T::kHello).Build(), {});
  c.Control(false, hdr(ccid_a, 2, 5),
            B(T::kSli)
                .Add<avp::LocalSessionId>(sid_b)
                .Add<avp::RemoteSessionId>(sid_a)
                .Add<avp::CircuitStatus>(0)
                .Build(),
            {{"l2tp.avp.local_session_id", U(sid_b)}});
  c.Control(true, hdr(ccid_b, 5, 3),
            B(T::kCdn)
                .Add<avp::ResultCode>({3, std::nullopt, ""})
                .Add<avp::LocalSessionId>(sid_a)
                .Add<avp::RemoteSessionId>(sid_b)
                .Build(),
            {{"l2tp.result_code", "3"}, {"l2tp.avp.local_session_id", U(sid_a)}});
  c.Control(true, hdr(ccid_b, 6, 3),
            B(T::kStopccn)
                .Add<avp::ResultCode>({1, 0, "bye"})
                .Add<avp::AssignedControlConnectionId>(ccid_a)
                .Build(),
            {{"l2tp.result_code", "1"},
             {"l2tp.avp.error_message", "bye"},
             {"l2tp.avp.assigned_control_conn_id", U(ccid_a)}});
  c.Control(false, hdr(ccid_a, 3, 7), Message(), {});
  return c;
}

Capture V2Exchange() {
  Capture c(2, Transport::kUdp, /*authenticate=*/false);
  const uint16_t tid_a = 0x0101, tid_b = 0x0202, sid_a = 0x0a0a, sid_b = 0x0b0b;
  const Bytes challenge_a = Str("0123456789abcdef"), challenge_b = Str("fedcba9876543210");
  const Bytes secret = Str(kSecret);
  auto hdr = [](uint16_t tid, uint16_t sid, uint16_t ns, uint16_t nr) {
    return ControlHeader{.version = 2, .connection_id = tid, .session_id = sid, .ns = ns, .nr = nr};
  };
  c.Control(true, hdr(0, 0, 0, 0),
            B(T::kSccrq, 2)
                .Add<avp::ProtocolVersion>({1, 0})
                .Add<avp::HostName>("lac")
                .Add<avp::FramingCapabilities>(3)
                .Add<avp::AssignedTunnelId>(tid_a)
                .Add<avp::ReceiveWindowSize>(4)
                .Add<avp::Challenge>(challenge_a)
                .Build(),
            {{"l2tp.avp.host_name", "lac"},
             {"l2tp.avp.assigned_tunnel_id", U(tid_a)},
             {"l2tp.avp.chap_challenge", Hex(challenge_a)}});
  Bytes response_b = ChallengeResponse(2, secret, challenge_a);
  c.Control(false, hdr(tid_a, 0, 0, 1),
            B(T::kSccrp, 2)
                .Add<avp::ProtocolVersion>({1, 0})
                .Add<avp::FramingCapabilities>(3)
                .Add<avp::HostName>("lns")
                .Add<avp::AssignedTunnelId>(tid_b)
                .Add<avp::Challenge>(challenge_b)
                .Add<avp::ChallengeResponse>(response_b)
                .Build(),
            {{"l2tp.avp.assigned_tunnel_id", U(tid_b)},
             {"l2tp.avp.chap_challenge_response", Hex(response_b)}});
  Bytes response_a = ChallengeResponse(3, secret, challenge_b);
  c.Control(true, hdr(tid_b, 0, 1, 1),
            B(T::kScccn, 2).Add<avp::ChallengeResponse>(response_a).Build(),
            {{"l2tp.avp.chap_challenge_response", Hex(response_a)}});
  c.Control(false, hdr(tid_a, 0, 1, 2), Message(), {});
  c.Control(true, hdr(tid_b, 0, 2, 1),
            B(T::kIcrq, 2)
                .Add<avp::AssignedSessionId>(sid_a)
                .Add<avp::CallSerialNumber>(1, {.hidden = true})
                .Add<avp::CallingNumber>("5551000")
                .Build(),
            {{"l2tp.avp.assigned_session_id", U(sid_a)}, {"l2tp.avp.calling_number", "5551000"}});
  c.Control(false, hdr(tid_a, sid_a, 1, 3),
            B(T::kIcrp, 2).Add<avp::AssignedSessionId>(sid_b).Build(),
            {{"l2tp.avp.assigned_session_id", U(sid_b)}});
  c.Control(true, hdr(tid_b, sid_b, 3, 2),
            B(T::kIccn, 2).Add<avp::TxConnectSpeedBps>(100000000).Add<avp::FramingType>(1).Build(),
            {{"l2tp.avp.connect_speed", "100000000"}});
  c.Control(false, hdr(tid_a, sid_a, 2, 4), Message(), {});
  // A PPP LCP Echo-Request over the session (RFC 2661 §3.1 data header with L and S).
  Bytes ppp = {0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0};
  Bytes pkt;
  AppendV2DataHeader(pkt, {.tunnel_id = tid_b, .session_id = sid_b, .has_length = true, .ns = 0},
                     ppp.size());
  pkt.insert(pkt.end(), ppp.begin(), ppp.end());
  c.Data(true, pkt, {{"l2tp.tunnel", U(tid_b)}, {"l2tp.session", U(sid_b)}, {"ppp.code", "9"}});
  c.Control(true, hdr(tid_b, 0, 4, 2), B(T::kHello, 2).Build(), {});
  c.Control(false, hdr(tid_a, sid_a, 2, 5),
            B(T::kSli, 2).Add<avp::Accm>({0xffffffff, 0xffffffff}).Build(), {});
  c.Control(true, hdr(tid_b, sid_b, 5, 3),
            B(T::kCdn, 2)
                .Add<avp::ResultCode>({3, std::nullopt, ""})
                .Add<avp::AssignedSessionId>(sid_a)
                .Build(),
            {{"l2tp.result_code", "3"}});
  c.Control(true, hdr(tid_b, 0, 6, 3),
            B(T::kStopccn, 2)
                .Add<avp::AssignedTunnelId>(tid_a)
                .Add<avp::ResultCode>({6, std::nullopt, ""})
                .Build(),
            {{"l2tp.result_code", "6"}});
  c.Control(false, hdr(tid_a, 0, 3, 7), Message(), {});
  return c;
}

// --- running tshark --------------------------------------------------------------------

std::optional<std::string> Run(const std::string& command) {
  FILE* f = popen(command.c_str(), "r");
  if (f == nullptr) {
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
  }
  if (pclose(f) != 0) {
    return std::nullopt;
  }
  return out;
}

bool HaveTshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

// tshark prints numbers in decimal or hex and bytes with or without colons: normalize.
bool SameValue(const std::string& want, const std::string& got) {
  uint64_t a = 0, b = 0;
  if (absl::SimpleAtoi(want, &a) && absl::SimpleHexAtoi(got, &b) && got.rfind("0x", 0) == 0) {
    return a == b;
  }
  if (absl::SimpleAtoi(want, &a) && absl::SimpleAtoi(got, &b)) {
    return a == b;
  }
  return absl::StrReplaceAll(want, {{":", ""}}) == absl::StrReplaceAll(got, {{":", ""}}) ||
         want == got;
}

void Judge(const Capture& capture, const std::string& name) {
  std::string path = absl::StrCat(::testing::TempDir(), "/pwire_judge_", name, ".pcap");
  capture.Write(path);
  std::vector<std::string> fields = {"frame.number", "_ws.expert.severity", "_ws.expert.message",
                                     "_ws.malformed"};
  for (const Expect& e : capture.expectations()) {
    for (const auto& [field, value] : e) {
      if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
        fields.push_back(field);
      }
    }
  }
  std::string command =
      absl::StrCat("tshark -n -r ", path, " -o l2tp.shared_secret:", kSecret,
                   " -T fields -E header=n -E separator=/t -E occurrence=a -E aggregator=, -e ",
                   absl::StrJoin(fields, " -e "), " 2>/dev/null");
  std::optional<std::string> out = Run(command);
  ASSERT_TRUE(out.has_value()) << "tshark failed: " << command;
  std::vector<std::string> lines = absl::StrSplit(*out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), capture.expectations().size()) << *out;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> cols = absl::StrSplit(lines[i], '\t');
    cols.resize(fields.size());
    SCOPED_TRACE(absl::StrCat(name, " frame ", i + 1, ": ", lines[i]));
    EXPECT_EQ(cols[1], "") << "expert info: " << cols[2];
    EXPECT_EQ(cols[3], "") << "malformed";
    for (const auto& [field, want] : capture.expectations()[i]) {
      size_t col = std::find(fields.begin(), fields.end(), field) - fields.begin();
      EXPECT_TRUE(SameValue(want, cols[col]))
          << field << ": want " << want << ", tshark says " << cols[col];
    }
  }
}

// What the engines themselves send, not hand-built messages: two engines with a shared
// secret on the simulated link bring up a connection and a session, exchange HELLOs, an
// SLI, a CDN and a StopCCN. tshark must find every digest right and decode the header
// and the AVPs to what our decoder reads.
Capture EngineExchange() {
  EngineConfig a, b;
  a.host_name = "engine-a";
  b.host_name = "engine-b";
  a.router_id = kAddrA;
  b.router_id = kAddrB;
  a.auth.secrets = b.auth.secrets = {Str(kSecret)};
  a.hello_interval = b.hello_interval = std::chrono::seconds(30);
  sim::Simulator net(21);
  net.AddNode(a);
  net.AddNode(b);
  Capture c(3, Transport::kUdp, /*authenticate=*/false);
  net.set_tap([&](size_t from, const Datagram& d) {
    auto p = DecodeControl(d.bytes, Transport::kUdp);
    ASSERT_TRUE(p.ok()) << p.status();
    Expect e = {{"l2tp.ccid", U(p->header.connection_id)},
                {"l2tp.Ns", U(p->header.ns)},
                {"l2tp.Nr", U(p->header.nr)}};
    if (!p->message.is_zlb()) {
      e["l2tp.avp.message_type"] = U(static_cast<uint16_t>(p->message.type()));
    }
    if (auto digest = p->message.Get<avp::MessageDigest>()) {
      e["l2tp.avp.message_digest"] = "00" + Hex(digest->digest);
    }
    if (auto host = p->message.Get<avp::HostName>()) {
      e["l2tp.avp.host_name"] = *host;
    }
    if (auto id = p->message.Get<avp::AssignedControlConnectionId>()) {
      e["l2tp.avp.assigned_control_conn_id"] = U(*id);
    }
    if (auto id = p->message.Get<avp::LocalSessionId>()) {
      e["l2tp.avp.local_session_id"] = U(*id);
    }
    if (auto rc = p->message.Get<avp::ResultCode>()) {
      e["l2tp.result_code"] = U(rc->result);
    }
    c.Data(from == 0, d.bytes, std::move(e));
  });
  const uint32_t ccid = net.Do(0, [&](Engine& engine, Instant now) {
    return *engine.OpenControlConnection(now, net.node(1).address);
  });
  const auto sid = net.Do(0, [&](Engine& engine, Instant now) {
    return engine.OpenSession(now, ccid, {.pw_type = 5, .remote_end_id = "pw-judge"});
  });
  EXPECT_TRUE(sid.ok());
  EXPECT_TRUE(net.RunUntil([&] { return net.node(1).sessions_up == 1; }, std::chrono::seconds(5)));
  net.RunFor(std::chrono::seconds(31));  // idle: a HELLO (§6.5)
  EXPECT_TRUE(net.Do(0, [&](Engine& engine,
                            Instant now) { return engine.SetCircuitStatus(now, *sid, false); })
                  .ok());
  net.RunFor(std::chrono::seconds(1));
  EXPECT_TRUE(
      net.Do(0, [&](Engine& engine, Instant now) { return engine.CloseSession(now, *sid, 3); })
          .ok());
  net.RunFor(std::chrono::seconds(1));
  EXPECT_TRUE(net.Do(0, [&](Engine& engine,
                            Instant now) { return engine.CloseControlConnection(now, ccid, 6); })
                  .ok());
  net.RunFor(std::chrono::seconds(2));
  return c;
}

TEST(TsharkJudgeTest, EngineToEngineExchangeWithDigests) {
  if (!HaveTshark()) {
    GTEST_SKIP() << "tshark not installed (deploy/install-deps.sh)";
  }
  Capture c = EngineExchange();
  std::set<std::string> types;
  for (const Expect& e : c.expectations()) {
    if (auto it = e.find("l2tp.avp.message_type"); it != e.end()) {
      types.insert(it->second);
    }
  }
  // SCCRQ 1, SCCRP 2, SCCCN 3, StopCCN 4, HELLO 6, ICRQ 10, ICRP 11, ICCN 12, CDN 14,
  // SLI 16, ACK 20.
  EXPECT_EQ(types,
            (std::set<std::string>{"1", "2", "3", "4", "6", "10", "11", "12", "14", "16", "20"}));
  Judge(c, "engine_v3_udp");
}

TEST(TsharkJudgeTest, V3OverUdpFullExchangeWithDigests) {
  if (!HaveTshark()) {
    GTEST_SKIP() << "tshark not installed (deploy/install-deps.sh)";
  }
  Judge(V3Exchange(Transport::kUdp), "v3_udp");
}

TEST(TsharkJudgeTest, V3OverIpFullExchangeWithDigests) {
  if (!HaveTshark()) {
    GTEST_SKIP() << "tshark not installed (deploy/install-deps.sh)";
  }
  Judge(V3Exchange(Transport::kIp), "v3_ip");
}

TEST(TsharkJudgeTest, V2FullExchangeWithChallengeAndHiddenAvp) {
  if (!HaveTshark()) {
    GTEST_SKIP() << "tshark not installed (deploy/install-deps.sh)";
  }
  Judge(V2Exchange(), "v2_udp");
}

}  // namespace
}  // namespace pwire::l2tp
