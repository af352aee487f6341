// Big-endian (network order) reads and writes on byte spans, bounds checked by the caller's
// spans. Parsers of untrusted bytes use Reader, which never reads past its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pwire::base {

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t LoadBe64(const uint8_t* p) { return uint64_t{LoadBe32(p)} << 32 | LoadBe32(p + 4); }
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  StoreBe16(p, static_cast<uint16_t>(v >> 16));
  StoreBe16(p + 2, static_cast<uint16_t>(v));
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

// A cursor over untrusted bytes. Every Read* fails (returns false) instead of reading past
// the end; once failed it stays failed.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  bool ok() const { return ok_; }
  bool ReadU8(uint8_t& v) { return Take(1) ? (v = data_[pos_ - 1], true) : false; }
  bool ReadU16(uint16_t& v) { return Take(2) ? (v = LoadBe16(&data_[pos_ - 2]), true) : false; }
  bool ReadU32(uint32_t& v) { return Take(4) ? (v = LoadBe32(&data_[pos_ - 4]), true) : false; }
  bool ReadU64(uint64_t& v) { return Take(8) ? (v = LoadBe64(&data_[pos_ - 8]), true) : false; }
  bool ReadBytes(size_t n, std::span<const uint8_t>& out) {
    if (!Take(n)) return false;
    out = data_.subspan(pos_ - n, n);
    return true;
  }
  bool Skip(size_t n) { return Take(n); }

 private:
  bool Take(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) return ok_ = false;
    pos_ += n;
    return true;
  }
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends big-endian values to a byte vector.
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void Bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  size_t size() const { return out_.size(); }
  // Patches a 16-bit value written earlier (a length field, say).
  void PatchU16(size_t at, uint16_t v) { StoreBe16(&out_[at], v); }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace pwire::base
