// Randomness as an injected source: IDs, cookies, nonces, tie-breakers and jitter all come
// from a Random. SystemRandom reads the kernel's CSPRNG; SeededRandom is deterministic for
// tests and simulations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pwire::base {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;
  uint32_t Next32();
  uint64_t Next64();
  // Uniform in [0, bound), bound > 0.
  uint64_t Uniform(uint64_t bound);
};

// Reads getrandom(2) a block at a time (an agent draws 11 small values per session set up:
// one system call each cost more than the rest of the session's cookies and IDs). Aborts if
// the kernel refuses. One instance serves one thread at a time.
class SystemRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override;

 private:
  static constexpr size_t kBlock = 256;
  uint8_t block_[kBlock] = {};
  size_t used_ = kBlock;  // bytes of block_ already handed out
};

// splitmix64: fast, deterministic, good enough for tests and simulators. Never for secrets.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  void Fill(std::span<uint8_t> out) override;

 private:
  uint64_t state_;
};

}  // namespace pwire::base
