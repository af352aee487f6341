// Fuzzes AVP unhiding (RFC 2661 §4.3): input = attribute (2 bytes), secret length (1 byte),
// secret, random vector length (1 byte), random vector, hidden value. Unhiding never reads
// past the value and hiding what it returns gives back a value that unhides the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/l2tp/hidden.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (in.size() < 4) return 0;
  uint16_t attribute = static_cast<uint16_t>(in[0] << 8 | in[1]);
  size_t secret_length = in[2];
  in = in.subspan(3);
  if (in.size() < secret_length + 1) return 0;
  std::span<const uint8_t> secret = in.first(secret_length);
  size_t rv_length = in[secret_length];
  in = in.subspan(secret_length + 1);
  if (in.size() < rv_length) return 0;
  std::span<const uint8_t> rv = in.first(rv_length);
  std::span<const uint8_t> hidden = in.subspan(rv_length);
  auto plain = pwire::l2tp::UnhideValue(attribute, hidden, secret, rv);
  if (!plain.ok()) return 0;
  Check(plain->size() + 2 <= hidden.size());
  pwire::l2tp::Bytes again = pwire::l2tp::HideValue(attribute, *plain, secret, rv);
  auto back = pwire::l2tp::UnhideValue(attribute, again, secret, rv);
  Check(back.ok() && *back == *plain);
  return 0;
}
