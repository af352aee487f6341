// Receive-side reordering of sequenced data packets: see userspace_reorder.h.
#include "agent/dataplane/userspace_reorder.h"

#include <algorithm>

#include "agent/dataplane/userspace_codec.h"

namespace pwire::dataplane {

ReorderQueue::ReorderQueue(base::Duration timeout, size_t max_held)
    : timeout_(timeout), max_held_(std::max<size_t>(1, max_held)) {}

// Distance of `seq` ahead of the expected number in the 24-bit space; half the space or more
// means behind (RFC 3931 §4.6 leaves the window to the receiver; the kernel uses half).
uint32_t ReorderQueue::Ahead(uint32_t seq) const { return (seq - expected_) & kSeqMask; }

bool ReorderQueue::Push(base::Instant now, uint32_t seq, std::span<uint8_t> frame,
                        const Deliver& deliver) {
  seq &= kSeqMask;
  if (!started_) {
    started_ = true;
    expected_ = seq;
  }
  uint32_t ahead = Ahead(seq);
  if (ahead >= (kSeqMask + 1) / 2) {
    return false;  // behind: late or a duplicate
  }
  if (ahead == 0) {
    expected_ = (seq + 1) & kSeqMask;
    deliver(frame);
    DrainInOrder(deliver);
    return true;
  }
  auto at = std::lower_bound(held_.begin(), held_.end(), ahead,
                             [&](const Held& h, uint32_t a) { return Ahead(h.seq) < a; });
  if (at != held_.end() && at->seq == seq) {
    return false;  // a duplicate of one already held
  }
  std::vector<uint8_t> copy;
  if (!spare_.empty()) {
    copy = std::move(spare_.back());
    spare_.pop_back();
  }
  copy.assign(frame.begin(), frame.end());
  held_.insert(at, Held{seq, now + timeout_, std::move(copy)});
  ++held_total_;
  if (held_.size() > max_held_) {
    SkipToFirstHeld(deliver);  // no room to wait longer: give up the first gap now
  }
  return true;
}

void ReorderQueue::DrainInOrder(const Deliver& deliver) {
  while (!held_.empty() && held_.front().seq == expected_) {
    if (!delivering_.empty()) {
      spare_.push_back(std::move(delivering_));
    }
    delivering_ = std::move(held_.front().frame);
    held_.erase(held_.begin());
    expected_ = (expected_ + 1) & kSeqMask;
    deliver(delivering_);
  }
}

void ReorderQueue::SkipToFirstHeld(const Deliver& deliver) {
  if (!held_.empty()) {
    expected_ = held_.front().seq;
    DrainInOrder(deliver);
  }
}

void ReorderQueue::Expire(base::Instant now, const Deliver& deliver) {
  // A packet that waited its time is released, with every gap before it given up.
  while (true) {
    auto late =
        std::find_if(held_.begin(), held_.end(), [&](const Held& h) { return h.deadline <= now; });
    if (late == held_.end()) {
      return;
    }
    expected_ = late->seq;
    // The packets before it can no longer be delivered in order: they go now, oldest first.
    std::vector<Held> before(std::make_move_iterator(held_.begin()), std::make_move_iterator(late));
    held_.erase(held_.begin(), late);
    for (Held& h : before) {
      if (!delivering_.empty()) {
        spare_.push_back(std::move(delivering_));
      }
      delivering_ = std::move(h.frame);
      deliver(delivering_);
    }
    DrainInOrder(deliver);
  }
}

std::optional<base::Instant> ReorderQueue::NextDeadline() const {
  std::optional<base::Instant> next;
  for (const Held& h : held_) {
    if (!next || h.deadline < *next) {
      next = h.deadline;
    }
  }
  return next;
}

}  // namespace pwire::dataplane
