// AVP hiding: see hidden.h.
#include "agent/l2tp/hidden.h"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

using Md5 = std::array<uint8_t, 16>;

// MD5 over the concatenation of the parts.
Md5 Md5Of(std::initializer_list<std::span<const uint8_t>> parts) {
  Md5 out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) != 1) {
    std::abort();
  }
  for (std::span<const uint8_t> p : parts) {
    EVP_DigestUpdate(ctx, p.data(), p.size());
  }
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, out.data(), &length);
  EVP_MD_CTX_free(ctx);
  return out;
}

// XORs `data` in place with the chain b1 = MD5(attr + S + RV), bi = MD5(S + c(i-1)), where
// c is the ciphertext: `data` itself after hiding, or the input before unhiding.
void XorChain(uint16_t attribute, std::span<uint8_t> data, std::span<const uint8_t> secret,
              std::span<const uint8_t> random_vector, bool hiding) {
  uint8_t attr[2];
  base::StoreBe16(attr, attribute);
  Md5 b = Md5Of({attr, secret, random_vector});
  Md5 cipher{};
  for (size_t i = 0; i < data.size(); i += 16) {
    size_t n = std::min<size_t>(16, data.size() - i);
    if (!hiding) {
      std::copy_n(data.begin() + i, n, cipher.begin());
    }
    for (size_t j = 0; j < n; ++j) {
      data[i + j] ^= b[j];
    }
    if (hiding) {
      std::copy_n(data.begin() + i, n, cipher.begin());
    }
    if (i + 16 < data.size()) {
      b = Md5Of({secret, cipher});
    }
  }
}

}  // namespace

Bytes HideValue(uint16_t attribute, std::span<const uint8_t> value, std::span<const uint8_t> secret,
                std::span<const uint8_t> random_vector, std::span<const uint8_t> padding) {
  Bytes out(2 + value.size() + padding.size());
  base::StoreBe16(out.data(), static_cast<uint16_t>(value.size()));
  std::copy(value.begin(), value.end(), out.begin() + 2);
  std::copy(padding.begin(), padding.end(), out.begin() + 2 + value.size());
  XorChain(attribute, out, secret, random_vector, /*hiding=*/true);
  return out;
}

absl::StatusOr<Bytes> UnhideValue(uint16_t attribute, std::span<const uint8_t> hidden,
                                  std::span<const uint8_t> secret,
                                  std::span<const uint8_t> random_vector) {
  if (hidden.size() < 2) {
    return absl::InvalidArgumentError("hidden AVP shorter than 2 bytes");
  }
  Bytes plain(hidden.begin(), hidden.end());
  XorChain(attribute, plain, secret, random_vector, /*hiding=*/false);
  size_t length = base::LoadBe16(plain.data());
  if (length > plain.size() - 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("hidden AVP: original length ", length, " exceeds ", plain.size() - 2));
  }
  return Bytes(plain.begin() + 2, plain.begin() + 2 + static_cast<ptrdiff_t>(length));
}

}  // namespace pwire::l2tp
