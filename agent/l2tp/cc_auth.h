// Control Message Authentication for the engine (RFC 3931 §4.3, §5.4.1): signs and verifies
// the Message Digest AVPs, which sit right after the Message Type AVP, with one or two
// secrets (rollover). Works on the control message bytes from the T bit on.
#pragma once

#include <cstdint>
#include <span>

#include "agent/l2tp/engine.h"

namespace pwire::l2tp {

// Fills every Message Digest AVP of `message` (zeroed first): HMAC over sender nonce +
// receiver nonce + message, keyed with HMAC-MD5(secret, 2). Empty nonces: the SCCRQ form.
// The i-th digest AVP uses the i-th secret.
void SignMessage(std::span<uint8_t> message, const AuthConfig& auth,
                 std::span<const uint8_t> sender_nonce, std::span<const uint8_t> receiver_nonce);

// True if any digest AVP of `message` matches the digest under any configured secret.
bool VerifyMessage(std::span<const uint8_t> message, const AuthConfig& auth,
                   std::span<const uint8_t> sender_nonce, std::span<const uint8_t> receiver_nonce);

}  // namespace pwire::l2tp
