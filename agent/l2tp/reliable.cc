// Reliable delivery (RFC 3931 §4.2, Appendix A). See reliable.h.
#include "agent/l2tp/reliable.h"

#include <algorithm>

namespace pwire::l2tp {

Reliable::Reliable(const ReliableConfig& config, Sink& sink)
    : config_(config), sink_(sink), max_retries_(config.max_retries) {
  config_.max_timeout = std::max(config_.max_timeout, config_.initial_timeout);
  if (config_.receive_window == 0) {
    config_.receive_window = 1;
  }
}

void Reliable::SetPeerWindow(uint16_t window) {
  peer_window_ = std::max<uint16_t>(window, 1);
  // Appendix A: SSTHRESH starts at the advertised window; CWND never exceeds it.
  ssthresh_ = peer_window_;
  cwnd_ = std::min(cwnd_, peer_window_);
}

void Reliable::Send(Instant now, std::vector<uint8_t> message) {
  if (failed_) {
    return;
  }
  pending_.push_back(std::move(message));
  TransmitAllowed(now);
}

void Reliable::TransmitAllowed(Instant now) {
  const size_t window = std::min(cwnd_, peer_window_);
  while (!pending_.empty() && unacked_.size() < window && !failed_) {
    if (unacked_.empty()) {
      retries_ = 0;
      rtx_deadline_ = now + Backoff(0);
    }
    unacked_.push_back(Outgoing{next_ns_, std::move(pending_.front())});
    pending_.pop_front();
    ++next_ns_;  // §4.2: every message but an ACK takes one slot
    Outgoing& out = unacked_.back();
    sink_.SendMessage(out.bytes, out.ns, expected_ns_);
    ++stats_.sent;
    ack_owed_ = false;  // the Nr rode on this message
  }
}

Reliable::Verdict Reliable::Receive(Instant now, uint16_t ns, uint16_t nr, bool is_ack,
                                    std::span<const uint8_t> raw) {
  // §4.2: sanity-check Nr before flushing the retransmit queue. Acceptable: from the oldest
  // unacknowledged Ns up to the next Ns we will send. Older values are stale, not invalid.
  const uint16_t base = unacked_.empty() ? next_ns_ : unacked_.front().ns;
  const uint16_t span = static_cast<uint16_t>(next_ns_ - base);
  const uint16_t acked = static_cast<uint16_t>(nr - base);
  if (acked > span && !SeqBefore(nr, base)) {
    ++stats_.bad_nr;
    return Verdict::kBadNr;
  }
  if (acked <= span && acked > 0) {
    OnNewAck(now, acked);
  }

  if (is_ack) {
    return Verdict::kAckOnly;
  }
  const uint16_t ahead = static_cast<uint16_t>(ns - expected_ns_);
  if (ahead == 0) {
    ++expected_ns_;
    OweAck(now);
    return Verdict::kDeliver;
  }
  if (ahead >= 0x8000) {
    // §4.2: a duplicate; it MUST be acknowledged, then it is ignored.
    ++stats_.duplicates;
    OweAck(now);
    return Verdict::kDuplicate;
  }
  if (ahead >= config_.receive_window) {
    ++stats_.out_of_window;
    return Verdict::kOutOfWindow;
  }
  // Ahead of a gap: hold it, in order of distance from the expected Ns.
  auto it = std::find_if(held_.begin(), held_.end(), [&](const Held& h) {
    return static_cast<uint16_t>(h.ns - expected_ns_) >= ahead;
  });
  if (it != held_.end() && it->ns == ns) {
    ++stats_.duplicates;
    return Verdict::kDuplicate;
  }
  held_.insert(it, Held{ns, std::vector<uint8_t>(raw.begin(), raw.end())});
  ++stats_.out_of_order;
  return Verdict::kQueued;
}

std::optional<std::vector<uint8_t>> Reliable::PopReady() {
  if (held_.empty() || held_.front().ns != expected_ns_) {
    return std::nullopt;
  }
  std::vector<uint8_t> bytes = std::move(held_.front().bytes);
  held_.erase(held_.begin());
  ++expected_ns_;
  // The acknowledgement is already owed by the kDeliver that filled the gap.
  ack_owed_ = true;
  return bytes;
}

void Reliable::OnNewAck(Instant now, size_t acked) {
  for (size_t i = 0; i < acked && !unacked_.empty(); ++i) {
    unacked_.pop_front();
    // Appendix A: slow start adds one per ACK; congestion avoidance one per CWND ACKs.
    if (cwnd_ < ssthresh_) {
      ++cwnd_;
    } else if (++ca_acks_ >= cwnd_) {
      ++cwnd_;
      ca_acks_ = 0;
    }
    cwnd_ = std::min(cwnd_, peer_window_);
  }
  retries_ = 0;
  if (!unacked_.empty()) {
    rtx_deadline_ = now + Backoff(0);
  }
  TransmitAllowed(now);
}

void Reliable::OweAck(Instant now) {
  if (ack_owed_) {
    return;
  }
  ack_owed_ = true;
  ack_deadline_ = now + config_.ack_delay;
}

void Reliable::SendAckNow() {
  sink_.SendAck(next_ns_, expected_ns_);
  ++stats_.acks_sent;
  ack_owed_ = false;
}

void Reliable::Flush(Instant now) {
  TransmitAllowed(now);
  if (ack_owed_ && config_.ack_delay == Duration::zero()) {
    SendAckNow();
  }
}

void Reliable::HandleTimeout(Instant now) {
  if (!unacked_.empty() && !failed_ && now >= rtx_deadline_) {
    Retransmit(now);
  }
  if (ack_owed_ && now >= ack_deadline_) {
    SendAckNow();
  }
}

void Reliable::Retransmit(Instant now) {
  if (retries_ >= max_retries_) {
    failed_ = true;  // §4.2: clear the control connection and all its sessions
    return;
  }
  ++retries_;
  // Appendix A: a retransmission means congestion: halve into SSTHRESH, CWND back to one.
  ssthresh_ = std::max<uint16_t>(cwnd_ / 2, 1);
  cwnd_ = 1;
  ca_acks_ = 0;
  Outgoing& head = unacked_.front();
  // §4.2: same Ns, Nr updated to the next expected.
  sink_.SendMessage(head.bytes, head.ns, expected_ns_);
  ++stats_.retransmits;
  ack_owed_ = false;
  rtx_deadline_ = now + Backoff(retries_);
}

Duration Reliable::Backoff(int retries) const {
  Duration d = config_.initial_timeout;
  for (int i = 0; i < retries && d < config_.max_timeout; ++i) {
    d *= 2;
  }
  return std::min(d, config_.max_timeout);
}

Duration Reliable::FullRetransmitInterval() const {
  Duration total = Duration::zero();
  for (int r = 0; r <= max_retries_; ++r) {
    total += Backoff(r);
  }
  return total;
}

std::optional<Instant> Reliable::NextDeadline() const {
  std::optional<Instant> next;
  if (!unacked_.empty() && !failed_) {
    next = rtx_deadline_;
  }
  if (ack_owed_ && (!next || ack_deadline_ < *next)) {
    next = ack_deadline_;
  }
  return next;
}

}  // namespace pwire::l2tp
