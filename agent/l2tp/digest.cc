// Control message authentication: see digest.h.
#include "agent/l2tp/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/l2tp/message.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

constexpr auto kDigestAttr = static_cast<uint16_t>(Attr::kMessageDigest);
constexpr auto kSccrq = static_cast<uint16_t>(MessageType::kSccrq);

// The control message inside a packet and where its digest AVP values are.
struct DigestLayout {
  std::span<const uint8_t> message;
  uint16_t message_type = 0;
  std::vector<size_t> digest_offsets;  // of each digest value (after the type octet)
  std::vector<DigestType> digest_types;
};

absl::StatusOr<DigestLayout> FindDigests(std::span<const uint8_t> packet, Transport transport) {
  absl::StatusOr<ControlHeaderView> view = ParseControlHeader(packet, transport);
  if (!view.ok()) {
    return view.status();
  }
  DigestLayout layout;
  layout.message = view->message;
  base::Reader r(view->avps);
  while (r.remaining() > 0) {
    const size_t at = kControlHeaderSize + r.position();
    absl::StatusOr<RawAvp> avp = ReadRawAvp(r);
    if (!avp.ok()) {
      return absl::InvalidArgumentError("malformed AVP framing");
    }
    std::span<const uint8_t> value = avp->value;
    if (at == kControlHeaderSize && avp->attribute == 0 && avp->vendor_id == 0 &&
        value.size() == 2) {
      layout.message_type = base::LoadBe16(value.data());
    }
    if (avp->vendor_id != 0 || avp->attribute != kDigestAttr) {
      continue;
    }
    if (value.empty() || value[0] > 1 ||
        value.size() - 1 != DigestLength(static_cast<DigestType>(value[0]))) {
      return absl::InvalidArgumentError("malformed Message Digest AVP");
    }
    layout.digest_offsets.push_back(at + kAvpHeaderSize + 1);
    layout.digest_types.push_back(static_cast<DigestType>(value[0]));
  }
  return layout;
}

// A copy of the message with every digest value zeroed (§5.4.1).
Bytes Zeroed(const DigestLayout& layout) {
  Bytes copy(layout.message.begin(), layout.message.end());
  for (size_t i = 0; i < layout.digest_offsets.size(); ++i) {
    std::fill_n(copy.begin() + static_cast<ptrdiff_t>(layout.digest_offsets[i]),
                DigestLength(layout.digest_types[i]), 0);
  }
  return copy;
}

}  // namespace

Bytes DeriveSharedKey(std::span<const uint8_t> shared_secret) {
  const uint8_t two = 2;
  Bytes key(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (HMAC(EVP_md5(), shared_secret.data(), static_cast<int>(shared_secret.size()), &two, 1,
           key.data(), &length) == nullptr) {
    std::abort();  // OpenSSL without MD5: the build is broken
  }
  key.resize(length);
  return key;
}

Bytes ComputeDigest(const DigestKey& key, std::span<const uint8_t> first_nonce,
                    std::span<const uint8_t> second_nonce,
                    std::span<const uint8_t> control_message) {
  const EVP_MD* md = key.type == DigestType::kHmacSha1 ? EVP_sha1() : EVP_md5();
  Bytes data;
  data.reserve(first_nonce.size() + second_nonce.size() + control_message.size());
  data.insert(data.end(), first_nonce.begin(), first_nonce.end());
  data.insert(data.end(), second_nonce.begin(), second_nonce.end());
  data.insert(data.end(), control_message.begin(), control_message.end());
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (HMAC(md, key.shared_key.data(), static_cast<int>(key.shared_key.size()), data.data(),
           data.size(), out.data(), &length) == nullptr) {
    std::abort();  // OpenSSL without MD5 or SHA-1: the build is broken
  }
  out.resize(length);
  return out;
}

absl::Status SignControl(std::span<uint8_t> packet, Transport transport,
                         std::span<const DigestKey> keys, std::span<const uint8_t> local_nonce,
                         std::span<const uint8_t> remote_nonce) {
  absl::StatusOr<DigestLayout> layout = FindDigests(packet, transport);
  if (!layout.ok()) {
    return layout.status();
  }
  if (layout->digest_offsets.size() != keys.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        layout->digest_offsets.size(), " Message Digest AVPs for ", keys.size(), " keys"));
  }
  bool sccrq = layout->message_type == kSccrq;
  Bytes zeroed = Zeroed(*layout);
  size_t start = transport == Transport::kIp ? kIpControlPrefixSize : 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (layout->digest_types[i] != keys[i].type) {
      return absl::InvalidArgumentError("Digest Type differs from the key's");
    }
    Bytes d = sccrq ? ComputeDigest(keys[i], {}, {}, zeroed)
                    : ComputeDigest(keys[i], local_nonce, remote_nonce, zeroed);
    std::copy(d.begin(), d.end(), packet.begin() + start + layout->digest_offsets[i]);
  }
  return absl::OkStatus();
}

absl::Status VerifyControl(std::span<const uint8_t> packet, Transport transport,
                           std::span<const DigestKey> keys, std::span<const uint8_t> local_nonce,
                           std::span<const uint8_t> remote_nonce) {
  absl::StatusOr<DigestLayout> layout = FindDigests(packet, transport);
  if (!layout.ok()) {
    return layout.status();
  }
  if (layout->digest_offsets.empty()) {
    return absl::PermissionDeniedError("no Message Digest AVP");
  }
  bool sccrq = layout->message_type == kSccrq;
  Bytes zeroed = Zeroed(*layout);
  for (size_t i = 0; i < layout->digest_offsets.size(); ++i) {
    std::span<const uint8_t> received =
        layout->message.subspan(layout->digest_offsets[i], DigestLength(layout->digest_types[i]));
    for (const DigestKey& key : keys) {
      if (key.type != layout->digest_types[i]) {
        continue;
      }
      // The peer signed with its nonce first: ours comes second (§5.4.1).
      Bytes expected = sccrq ? ComputeDigest(key, {}, {}, zeroed)
                             : ComputeDigest(key, remote_nonce, local_nonce, zeroed);
      if (CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0) {
        return absl::OkStatus();
      }
    }
  }
  return absl::PermissionDeniedError("Message Digest does not match");
}

Bytes ChallengeResponse(uint8_t message_type, std::span<const uint8_t> secret,
                        std::span<const uint8_t> challenge) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) != 1) {
    std::abort();
  }
  EVP_DigestUpdate(ctx, &message_type, 1);
  EVP_DigestUpdate(ctx, secret.data(), secret.size());
  EVP_DigestUpdate(ctx, challenge.data(), challenge.size());
  EVP_DigestFinal_ex(ctx, out.data(), &length);
  EVP_MD_CTX_free(ctx);
  out.resize(length);
  return out;
}

}  // namespace pwire::l2tp
