// Fuzzes the AVP value decoders of every value kind (RFC 3931 §5.4, RFC 2661 §4.4): the
// first byte picks the kind, the rest is the value. decode(encode(decode(x))) == decode(x).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/l2tp/avp.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  constexpr size_t kKinds = std::variant_size_v<pwire::l2tp::AvpValue>;
  auto kind = static_cast<pwire::l2tp::ValueKind>(data[0] % kKinds);
  std::span<const uint8_t> value(data + 1, size - 1);
  auto decoded = pwire::l2tp::DecodeValue(kind, value, 0, 1017);
  if (!decoded.ok()) return 0;
  Check(decoded->index() == static_cast<size_t>(kind));
  std::vector<uint8_t> encoded;
  pwire::l2tp::EncodeValue(*decoded, encoded);
  auto again = pwire::l2tp::DecodeValue(kind, encoded, 0, 1017);
  Check(again.ok() && *again == *decoded);
  return 0;
}
