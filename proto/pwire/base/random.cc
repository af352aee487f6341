// Random sources: see random.h.
#include "pwire/base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pwire::base {

uint32_t Random::Next32() {
  uint32_t v = 0;
  Fill({reinterpret_cast<uint8_t*>(&v), sizeof v});
  return v;
}

uint64_t Random::Next64() {
  uint64_t v = 0;
  Fill({reinterpret_cast<uint8_t*>(&v), sizeof v});
  return v;
}

uint64_t Random::Uniform(uint64_t bound) {
  // Rejection sampling removes modulo bias.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  uint64_t v = 0;
  do {
    v = Next64();
  } while (v >= limit);
  return v % bound;
}

namespace {
void GetRandom(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // No entropy source: nothing safe can be done.
    }
    done += static_cast<size_t>(n);
  }
}
}  // namespace

void SystemRandom::Fill(std::span<uint8_t> out) {
  if (out.size() > kBlock / 4) {
    GetRandom(out);
    return;
  }
  if (kBlock - used_ < out.size()) {
    GetRandom(block_);
    used_ = 0;
  }
  std::memcpy(out.data(), block_ + used_, out.size());
  // Bytes handed out are not kept: a later reader of this memory learns nothing of them.
  std::memset(block_ + used_, 0, out.size());
  used_ += out.size();
}

void SeededRandom::Fill(std::span<uint8_t> out) {
  size_t i = 0;
  while (i < out.size()) {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int b = 0; b < 8 && i < out.size(); ++b, ++i) out[i] = static_cast<uint8_t>(z >> (8 * b));
  }
}

}  // namespace pwire::base
