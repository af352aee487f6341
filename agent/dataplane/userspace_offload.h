// Offloads of the userspace data plane, done in userspace: Internet checksums (RFC 1071),
// segmentation of the TCP super-frames a TAP hands over with TSO (virtio-net header GSO) into
// wire-size segments, and coalescing of received TCP segments back into one GSO frame for the
// TAP, so that the kernel handles one large frame instead of dozens. Pure: no system calls.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace pwire::dataplane {

// The virtio-net header a TAP with IFF_VNET_HDR puts before each frame (linux/virtio_net.h,
// which C++ cannot include). Native byte order on this (little-endian) host.
struct VnetHeader {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};
static_assert(sizeof(VnetHeader) == 10);
inline constexpr uint8_t kVnetNeedsCsum = 1;
inline constexpr uint8_t kVnetGsoNone = 0;
inline constexpr uint8_t kVnetGsoTcpV4 = 1;
inline constexpr uint8_t kVnetGsoTcpV6 = 4;
inline constexpr uint8_t kVnetGsoEcn = 0x80;

// Ones-complement sum of `len` bytes as 16-bit words in memory order, added to `sum`
// (unfolded). FoldChecksum reduces it to 16 bits; store the complement with memcpy.
uint64_t ChecksumAdd(const uint8_t* p, size_t len, uint64_t sum);
uint16_t FoldChecksum(uint64_t sum);

// Fills in the checksum a virtio-net header asked for (VIRTIO_NET_HDR_F_NEEDS_CSUM): the sum
// from csum_start to the end, stored at csum_start + csum_offset. False if out of bounds.
bool CompletePartialChecksum(std::span<uint8_t> frame, size_t csum_start, size_t csum_offset);

// An Ethernet frame carrying TCP over IPv4 or IPv6 (with at most one VLAN tag), its offsets.
struct TcpFrame {
  bool v6 = false;
  size_t l3 = 0;          // start of the IP header
  size_t l4 = 0;          // start of the TCP header
  size_t header_len = 0;  // through the end of the TCP header
};
// Parses the headers of a TCP frame; nullopt for anything else (fragments, IPv6 extension
// headers, short or inconsistent lengths). `check_ip_length`: the IP length field must match
// the frame (received segments); super-frames from a TAP do not satisfy it.
std::optional<TcpFrame> ParseTcpFrame(std::span<const uint8_t> frame, bool check_ip_length);

// One wire segment cut from a super-frame: `header` (header_len bytes, written by the
// segmenter into caller storage) then `payload` (pointing into the super-frame).
struct Segment {
  uint8_t* header = nullptr;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

inline constexpr size_t kMaxInnerHeader = 18 + 40 + 60;  // Ethernet+VLAN, IPv6, TCP options

// Cuts a TCP super-frame into segments of at most `mss` payload bytes, as a NIC's TSO would:
// per segment the IP length (and IPv4 id and header checksum), the TCP sequence number, flags
// (CWR on the first only, FIN and PSH on the last only) and a complete TCP checksum.
// Segment i's headers go to storage + i * stride + prefix. Returns the number of segments, or
// 0 if the frame is malformed or needs more than `max_segments`.
size_t SegmentTcp(std::span<const uint8_t> frame, const TcpFrame& t, size_t mss, uint8_t* storage,
                  size_t stride, size_t prefix, Segment* out, size_t max_segments);

// Merges consecutive in-order segments of one TCP flow, received for one TAP, into a single
// GSO frame (virtio-net header TCPV4/TCPV6 with a partial checksum), like the kernel's GRO.
// Frames that cannot merge are passed through alone. Frame memory must stay valid until
// Flush. The writer receives iovecs (the virtio-net header first) and the frame count.
class TcpCoalescer {
 public:
  using Writer = std::function<void(void* target, const iovec* iov, int iovcnt, int frames)>;
  explicit TcpCoalescer(Writer writer, bool verify_checksums = true)
      : writer_(std::move(writer)), verify_(verify_checksums) {}

  // `checksum_verified`: the frame arrived under an outer checksum the kernel has verified
  // (UDP over IPv6), so its TCP checksum is not summed again.
  void Add(void* target, uint8_t* frame, size_t len, bool checksum_verified = false);
  void Flush();

  uint64_t merged_frames() const { return merged_; }
  uint64_t bad_checksums() const { return bad_checksums_; }

 private:
  static constexpr int kMaxIov = 64;
  bool CanAppend(const uint8_t* frame, const TcpFrame& t, size_t payload, uint32_t seq) const;
  void Start(void* target, uint8_t* frame, const TcpFrame& t, size_t len);
  void PassThrough(void* target, uint8_t* frame, size_t len);
  bool ChecksumOk(const uint8_t* frame, const TcpFrame& t, size_t len) const;

  Writer writer_;
  bool verify_;
  void* target_ = nullptr;
  int count_ = 0;  // segments held
  uint8_t* first_ = nullptr;
  TcpFrame flow_;
  size_t mss_ = 0;
  size_t total_payload_ = 0;
  uint32_t next_seq_ = 0;
  bool ended_ = false;  // PSH or a short segment ends the train
  iovec iov_[kMaxIov];
  int iovcnt_ = 0;
  VnetHeader vnet_{};
  uint8_t header_[kMaxInnerHeader];
  uint64_t merged_ = 0;
  uint64_t bad_checksums_ = 0;
};

}  // namespace pwire::dataplane
