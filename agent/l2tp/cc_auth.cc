// Control Message Authentication (RFC 3931 §5.4.1). See cc_auth.h.
#include "agent/l2tp/cc_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <vector>

#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

constexpr size_t kFirstDigestAvp = 12 + 8;  // header, then the 8-byte Message Type AVP
constexpr uint16_t kDigestAttr = 59;

struct Slot {
  size_t value_at;  // first byte of the digest itself
  size_t length;
  DigestType type;
};

// The digest AVPs right after the Message Type AVP (at most two, §5.4.1).
std::vector<Slot> FindSlots(std::span<const uint8_t> m) {
  std::vector<Slot> slots;
  size_t at = kFirstDigestAvp;
  while (slots.size() < 2 && at + 7 <= m.size()) {
    const uint16_t len = base::LoadBe16(&m[at]) & 0x03ff;
    if (base::LoadBe16(&m[at + 2]) != 0 || base::LoadBe16(&m[at + 4]) != kDigestAttr) break;
    if (len < 7 || at + len > m.size()) break;
    const auto type = static_cast<DigestType>(m[at + 6]);
    if ((type != DigestType::kHmacMd5 && type != DigestType::kHmacSha1) ||
        len != 7 + DigestLength(type)) {
      break;
    }
    slots.push_back(Slot{at + 7, static_cast<size_t>(len - 7), type});
    at += len;
  }
  return slots;
}

std::array<uint8_t, 16> SharedKey(std::span<const uint8_t> secret) {
  std::array<uint8_t, 16> key{};
  const uint8_t two = 2;
  unsigned int len = 0;
  HMAC(EVP_md5(), secret.data(), static_cast<int>(secret.size()), &two, 1, key.data(), &len);
  return key;
}

std::vector<uint8_t> Digest(DigestType type, std::span<const uint8_t> secret,
                            std::span<const uint8_t> n1, std::span<const uint8_t> n2,
                            std::span<const uint8_t> message) {
  const std::array<uint8_t, 16> key = SharedKey(secret);
  std::vector<uint8_t> data;
  data.reserve(n1.size() + n2.size() + message.size());
  data.insert(data.end(), n1.begin(), n1.end());
  data.insert(data.end(), n2.begin(), n2.end());
  data.insert(data.end(), message.begin(), message.end());
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(type == DigestType::kHmacSha1 ? EVP_sha1() : EVP_md5(), key.data(),
       static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

}  // namespace

void SignMessage(std::span<uint8_t> message, const AuthConfig& auth,
                 std::span<const uint8_t> sender_nonce, std::span<const uint8_t> receiver_nonce) {
  std::vector<Slot> slots = FindSlots(message);
  for (const Slot& s : slots) std::fill_n(message.begin() + s.value_at, s.length, 0);
  std::vector<std::vector<uint8_t>> digests;
  for (size_t i = 0; i < slots.size() && i < auth.secrets.size(); ++i) {
    digests.push_back(
        Digest(slots[i].type, auth.secrets[i], sender_nonce, receiver_nonce, message));
  }
  for (size_t i = 0; i < digests.size(); ++i) {
    std::copy(digests[i].begin(), digests[i].end(), message.begin() + slots[i].value_at);
  }
}

bool VerifyMessage(std::span<const uint8_t> message, const AuthConfig& auth,
                   std::span<const uint8_t> sender_nonce, std::span<const uint8_t> receiver_nonce) {
  std::vector<Slot> slots = FindSlots(message);
  if (slots.empty()) return false;
  std::vector<uint8_t> zeroed(message.begin(), message.end());
  for (const Slot& s : slots) std::fill_n(zeroed.begin() + s.value_at, s.length, 0);
  for (const Slot& s : slots) {
    for (const Bytes& secret : auth.secrets) {
      std::vector<uint8_t> want = Digest(s.type, secret, sender_nonce, receiver_nonce, zeroed);
      if (want.size() == s.length &&
          CRYPTO_memcmp(want.data(), message.data() + s.value_at, s.length) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace pwire::l2tp
