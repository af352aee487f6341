// Control message authentication, as pure functions on encoded packets: the L2TPv3
// Message Digest AVP 59 (RFC 3931 §4.3, §5.4.1: HMAC-MD5 or HMAC-SHA-1 keyed by
// HMAC_MD5(secret, 2), over local nonce + remote nonce + the whole message with the digest
// values zeroed) and the L2TPv2 CHAP-style Challenge Response (RFC 2661 §4.4.3, §5.1.1).
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "agent/l2tp/avp.h"
#include "agent/l2tp/header.h"

namespace pwire::l2tp {

// shared_key = HMAC_MD5(shared_secret, 0x02) (RFC 3931 §5.4.1), 16 bytes.
Bytes DeriveSharedKey(std::span<const uint8_t> shared_secret);

// A derived key and the hash it is used with. Two keys during a secret rollover.
struct DigestKey {
  DigestType type = DigestType::kHmacMd5;
  Bytes shared_key;  // from DeriveSharedKey
};

// The digest of `control_message` (from the T bit to Length, digest values already zeroed):
// HMAC_Hash(shared_key, first_nonce + second_nonce + control_message). The sender passes
// (its nonce, the peer's nonce); the receiver passes them reversed. For an SCCRQ both are
// empty (§5.4.1).
Bytes ComputeDigest(const DigestKey& key, std::span<const uint8_t> first_nonce,
                    std::span<const uint8_t> second_nonce,
                    std::span<const uint8_t> control_message);

// Fills the Message Digest AVPs of an encoded packet in place: the i-th digest AVP with
// keys[i] (its Digest Type must match the key's, and it must have as many AVPs as keys).
// `local_nonce` is ours, `remote_nonce` the peer's; both are ignored for an SCCRQ.
absl::Status SignControl(std::span<uint8_t> packet, Transport transport,
                         std::span<const DigestKey> keys, std::span<const uint8_t> local_nonce,
                         std::span<const uint8_t> remote_nonce);

// Checks a received packet before any of its content is used: OK if some Message Digest
// AVP matches the digest computed with some key of the same type (two AVPs or two keys
// during a rollover). PermissionDenied if none matches or the packet has no digest,
// InvalidArgument if it is malformed. Nonces are ours and the peer's, as for SignControl.
absl::Status VerifyControl(std::span<const uint8_t> packet, Transport transport,
                           std::span<const DigestKey> keys, std::span<const uint8_t> local_nonce,
                           std::span<const uint8_t> remote_nonce);

// L2TPv2 tunnel authentication: MD5(ID + secret + challenge), ID being the Message Type of
// the message carrying the response (2 for SCCRP, 3 for SCCCN), 16 bytes.
Bytes ChallengeResponse(uint8_t message_type, std::span<const uint8_t> secret,
                        std::span<const uint8_t> challenge);

}  // namespace pwire::l2tp
