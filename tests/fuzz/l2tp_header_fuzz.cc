// Fuzzes the L2TP header parsers (RFC 3931 §3.2, §4.1, §4.6; RFC 2661 §3.1): whatever the
// bytes, they return a status, and what they return lies inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "agent/l2tp/header.h"

namespace {

using pwire::l2tp::Transport;

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  pwire::l2tp::ClassifyUdp(in);
  pwire::l2tp::ClassifyIp(in);
  for (Transport t : {Transport::kUdp, Transport::kIp}) {
    auto control = pwire::l2tp::ParseControlHeader(in, t);
    if (control.ok()) {
      Check(Inside(control->message, in) && Inside(control->avps, in));
      Check(control->message.size() >= pwire::l2tp::kControlHeaderSize);
    }
    pwire::l2tp::PeekV3SessionId(in, t).IgnoreError();
    for (size_t cookie : {0, 4, 8}) {
      for (bool sublayer : {false, true}) {
        auto v3 = pwire::l2tp::ParseV3Data(in, t, cookie, sublayer);
        if (v3.ok()) {
          Check(v3->cookie.size() == cookie && Inside(v3->cookie, in) && Inside(v3->payload, in));
          Check(v3->sublayer.has_value() == sublayer);
        }
      }
    }
  }
  auto v2 = pwire::l2tp::ParseV2Data(in);
  if (v2.ok()) {
    Check(Inside(v2->payload, in));
    // Re-encoding the header must give the same header bytes (padding is zeroed by us).
    std::vector<uint8_t> out;
    pwire::l2tp::AppendV2DataHeader(out, v2->header, v2->payload.size());
    out.insert(out.end(), v2->payload.begin(), v2->payload.end());
    auto again = pwire::l2tp::ParseV2Data(out);
    Check(again.ok() && again->header == v2->header);
  }
  return 0;
}
