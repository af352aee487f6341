// AVP hiding (RFC 2661 §4.3, RFC 3931 §5.3): the value, prefixed with its length and
// followed by padding, is XORed with an MD5 chain keyed by the shared secret and the
// message's Random Vector. Pure functions; the caller supplies secret, vector and padding.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"
#include "agent/l2tp/avp.h"

namespace pwire::l2tp {

// Returns the hidden Attribute Value for `value` of AVP `attribute`.
Bytes HideValue(uint16_t attribute, std::span<const uint8_t> value, std::span<const uint8_t> secret,
                std::span<const uint8_t> random_vector, std::span<const uint8_t> padding = {});

// Reverses HideValue. Fails if the recovered original length exceeds what is there.
absl::StatusOr<Bytes> UnhideValue(uint16_t attribute, std::span<const uint8_t> hidden,
                                  std::span<const uint8_t> secret,
                                  std::span<const uint8_t> random_vector);

}  // namespace pwire::l2tp
