// Fuzzes control message decoding (RFC 3931 §5, §7.1; RFC 2661 §4): AVP framing, every AVP
// value type, hidden AVPs (a fixed secret), vendor and Extended Vendor ID AVPs, digest
// verification. A decoded message without hidden AVPs must re-encode to stable bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/l2tp/digest.h"
#include "agent/l2tp/message.h"

namespace {

using pwire::l2tp::Transport;

const uint8_t kSecret[] = {'s', 'e', 'c', 'r', 'e', 't'};

void Check(bool condition) {
  if (!condition) std::abort();
}

void RoundTrip(const pwire::l2tp::ControlPacket& p, Transport t) {
  for (const pwire::l2tp::Avp& avp : p.message.avps()) {
    if (avp.hidden) return;  // re-hiding needs a random vector: not a pure round trip
  }
  auto wire = pwire::l2tp::EncodeControl(p.header, p.message, t);
  if (!wire.ok()) return;  // e.g. an unknown message type re-encoded with no AVPs
  // The encoder puts Message Digest AVPs first, so compare from the first re-encoding on:
  // decoding it must give the same message again, and so the same bytes.
  auto again = pwire::l2tp::DecodeControl(*wire, t);
  Check(again.ok() && !again->fatal && again->ignored.empty());
  Check(again->header == p.header);
  Check(again->message.avps().size() == p.message.avps().size());
  auto wire2 = pwire::l2tp::EncodeControl(again->header, again->message, t);
  Check(wire2.ok() && *wire2 == *wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  static const pwire::l2tp::DigestKey kKey{pwire::l2tp::DigestType::kHmacMd5,
                                           pwire::l2tp::DeriveSharedKey(kSecret)};
  for (Transport t : {Transport::kUdp, Transport::kIp}) {
    for (bool with_secret : {false, true}) {
      pwire::l2tp::DecodeOptions options;
      if (with_secret) options.secret = kSecret;
      auto p = pwire::l2tp::DecodeControl(in, t, options);
      if (!p.ok()) continue;
      if (p->fatal) pwire::l2tp::RejectionFor(*p);
      if (!p->fatal && pwire::l2tp::IsKnownMessageType(p->message.type())) RoundTrip(*p, t);
    }
    pwire::l2tp::VerifyControl(in, t, {&kKey, 1}, kSecret, kSecret).IgnoreError();
  }
  return 0;
}
