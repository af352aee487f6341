// Receive-side reordering of one session's sequenced data packets (RFC 3931 §4.6, RFC 4719
// §4.2): a packet ahead of the expected sequence number is held up to the session's reorder
// timeout waiting for the ones before it, like the kernel's l2tp reorder queue. Pure: the
// caller passes the time in and asks for the next deadline; no clock, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "pwire/base/time.h"

namespace pwire::dataplane {

class ReorderQueue {
 public:
  // Called with each frame released in sequence order. A held frame's memory stays valid
  // until the next Push.
  using Deliver = std::function<void(std::span<uint8_t> frame)>;

  // `timeout` > 0: how long a packet may wait for missing ones. `max_held`: packets held at
  // most; one more forces the oldest gap to be given up.
  explicit ReorderQueue(base::Duration timeout, size_t max_held = 32);

  // Packet number `seq` (24 bits) arrived at `now`. The expected one is delivered at once
  // with the held ones it unblocks; one ahead is held (copied); one behind (late or a
  // duplicate) is discarded: returns false, to be counted as rx_seq_discards.
  bool Push(base::Instant now, uint32_t seq, std::span<uint8_t> frame, const Deliver& deliver);
  // Gives up the missing numbers before every held packet that has waited `timeout`, and
  // delivers the held packets in order up to the next gap that is still within its wait.
  void Expire(base::Instant now, const Deliver& deliver);
  // When Expire has work: the earliest arrival among held packets plus the timeout.
  std::optional<base::Instant> NextDeadline() const;

  size_t held() const { return held_.size(); }
  uint64_t held_total() const { return held_total_; }  // rx_oos_packets
  uint32_t expected() const { return expected_; }

 private:
  struct Held {
    uint32_t seq;
    base::Instant deadline;
    std::vector<uint8_t> frame;
  };
  uint32_t Ahead(uint32_t seq) const;
  void DrainInOrder(const Deliver& deliver);
  void SkipToFirstHeld(const Deliver& deliver);

  base::Duration timeout_;
  size_t max_held_;
  bool started_ = false;
  uint32_t expected_ = 0;
  std::vector<Held> held_;                   // sorted by distance ahead of expected_
  std::vector<std::vector<uint8_t>> spare_;  // frame buffers to reuse
  std::vector<uint8_t> delivering_;          // the frame released last, alive until next Push
  uint64_t held_total_ = 0;
};

}  // namespace pwire::dataplane
