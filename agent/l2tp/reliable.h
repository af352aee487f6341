// Reliable delivery of control messages for one control connection (RFC 3931 §4.2 and
// Appendix A; the same rules as RFC 2661 §5.8). Ns/Nr modulo 65536 with serial comparison,
// sliding window from the peer's Receive Window Size AVP, slow start and congestion
// avoidance, retransmission with exponential backoff, explicit acknowledgement and
// in-order delivery of messages that arrived out of order. Sans-I/O: the owner passes the
// time in, and Reliable hands finished messages back through a Sink.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "pwire/base/time.h"

namespace pwire::l2tp {

using base::Duration;
using base::Instant;

struct ReliableConfig {
  // §4.2: first retransmission after 1 s (configurable), doubling, capped at >= 8 s.
  Duration initial_timeout = std::chrono::seconds(1);
  Duration max_timeout = std::chrono::seconds(8);
  // §4.2: retransmissions of one message before the connection is declared dead.
  int max_retries = 10;
  // How long an acknowledgement may wait for a message to ride on before an explicit ACK
  // is sent. Zero: acknowledge at the next Flush() (end of the current input).
  Duration ack_delay = Duration::zero();
  // The Receive Window Size we advertise: how many messages we hold out of order.
  uint16_t receive_window = 16;
};

// Serial-number arithmetic modulo 2^16 (§4.2): a is before b when b - a lies in 1..32767.
constexpr bool SeqBefore(uint16_t a, uint16_t b) {
  return static_cast<uint16_t>(b - a) != 0 && static_cast<uint16_t>(b - a) < 0x8000;
}

class Reliable {
 public:
  // Where finished messages go. The owner writes Ns and Nr into the header (and recomputes
  // the message digest, which covers them, §5.4.1), then transmits.
  class Sink {
   public:
    virtual ~Sink() = default;
    // A message from the send queue (first transmission or retransmission).
    virtual void SendMessage(std::vector<uint8_t>& message, uint16_t ns, uint16_t nr) = 0;
    // An explicit acknowledgement (ZLB in L2TPv2, ACK message type 20 in L2TPv3).
    virtual void SendAck(uint16_t ns, uint16_t nr) = 0;
  };

  enum class Verdict {
    kDeliver,      // the next message in order: the owner processes it now
    kQueued,       // ahead of a gap, held; PopReady() returns it once the gap fills
    kDuplicate,    // already received: acknowledged again and dropped (§4.2)
    kOutOfWindow,  // too far ahead to hold: dropped, the peer will retransmit
    kAckOnly,      // an ACK/ZLB: its Nr was processed, nothing to deliver
    kBadNr,        // Nr acknowledges messages never sent: the whole message is invalid
  };

  struct Stats {
    uint64_t sent = 0;
    uint64_t retransmits = 0;
    uint64_t duplicates = 0;
    uint64_t out_of_order = 0;
    uint64_t out_of_window = 0;
    uint64_t bad_nr = 0;
    uint64_t acks_sent = 0;
  };

  Reliable(const ReliableConfig& config, Sink& sink);

  // The peer's Receive Window Size AVP (§5.4.3); 4 until it is known, 0 is treated as 1.
  void SetPeerWindow(uint16_t window);
  // A different retry limit for the SCCRQ (§4.2 allows it) or any later phase.
  void SetMaxRetries(int retries) { max_retries_ = retries; }

  // Queues an encoded message for reliable delivery; sent now if the window allows.
  void Send(Instant now, std::vector<uint8_t> message);

  // Processes the Ns/Nr of a received, already authenticated message. `is_ack` marks a
  // message that takes no sequence slot (ZLB, or ACK type 20). `raw` is copied only when
  // the message must wait for a gap to fill.
  Verdict Receive(Instant now, uint16_t ns, uint16_t nr, bool is_ack, std::span<const uint8_t> raw);
  // The next held message that is now in order, if any. Call until it returns nothing
  // after every kDeliver.
  std::optional<std::vector<uint8_t>> PopReady();

  // Sends the explicit acknowledgement owed if nothing carried it (ack_delay zero), and
  // anything the window now allows. Call at the end of each input.
  void Flush(Instant now);
  // Fires due retransmissions and delayed acknowledgements.
  void HandleTimeout(Instant now);
  // Earliest instant HandleTimeout has work; nullopt if none.
  std::optional<Instant> NextDeadline() const;

  // The head message went unacknowledged through every retry: clear the connection (§4.2).
  bool failed() const { return failed_; }
  // Everything sent has been acknowledged and nothing waits to be sent.
  bool idle() const { return unacked_.empty() && pending_.empty(); }
  // The whole retransmission interval 1 + 2 + 4 + 8 + 8... (§4.2): how long to hold state
  // after a StopCCN.
  Duration FullRetransmitInterval() const;

  uint16_t next_ns() const { return next_ns_; }
  uint16_t expected_ns() const { return expected_ns_; }
  uint16_t cwnd() const { return cwnd_; }
  uint16_t ssthresh() const { return ssthresh_; }
  size_t in_flight() const { return unacked_.size(); }
  size_t waiting() const { return pending_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  struct Outgoing {
    uint16_t ns;
    std::vector<uint8_t> bytes;
  };
  struct Held {
    uint16_t ns;
    std::vector<uint8_t> bytes;
  };

  void ProcessNr(Instant now, uint16_t nr);
  void OnNewAck(Instant now, size_t acked);
  void TransmitAllowed(Instant now);
  void Retransmit(Instant now);
  void SendAckNow();
  void OweAck(Instant now);
  Duration Backoff(int retries) const;

  ReliableConfig config_;
  Sink& sink_;
  int max_retries_;

  // Sender state.
  uint16_t next_ns_ = 0;      // Ns of the next new message
  uint16_t peer_window_ = 4;  // §5.4.3 default when the AVP is absent
  uint16_t cwnd_ = 1;         // Appendix A
  uint16_t ssthresh_ = 4;
  uint16_t ca_acks_ = 0;          // acks counted towards the next cwnd step in avoidance
  std::deque<Outgoing> unacked_;  // sent, not yet acknowledged, in Ns order
  std::deque<std::vector<uint8_t>> pending_;  // waiting for the window
  int retries_ = 0;                           // retransmissions of the head message
  Instant rtx_deadline_{};
  bool failed_ = false;

  // Receiver state.
  uint16_t expected_ns_ = 0;  // Nr we send: the next Ns we expect
  std::vector<Held> held_;    // out of order, sorted by distance from expected_ns_
  bool ack_owed_ = false;
  Instant ack_deadline_{};

  Stats stats_;
};

}  // namespace pwire::l2tp
