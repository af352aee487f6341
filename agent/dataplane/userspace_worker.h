// Worker threads of the userspace data plane and the state they share with the control side.
// Each worker owns an epoll loop: it reads its queue of every session's TAP (customer frames
// out: segment, encapsulate, send with UDP GSO in batches) and the sockets of the transports
// assigned to it (in: receive with UDP GRO in batches, check, decapsulate, coalesce, write to
// the TAP). Control-side changes run on the worker's own thread through Run().
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "agent/dataplane/dataplane.h"
#include "agent/dataplane/userspace_codec.h"
#include "agent/dataplane/userspace_reorder.h"

namespace pwire::dataplane {

// Counters with one writer (a worker); anyone may read them.
struct alignas(64) CounterSlot {
  std::atomic<uint64_t> tx_packets{0}, tx_bytes{0}, tx_errors{0};
  std::atomic<uint64_t> rx_packets{0}, rx_bytes{0}, rx_errors{0};
  std::atomic<uint64_t> rx_cookie_discards{0}, rx_seq_discards{0}, rx_oos_packets{0};
  std::atomic<uint64_t> rx_unknown_session{0}, rx_malformed{0};
  static void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void AddTo(Stats& s) const;
};

// Handlers set by the agent, read by workers.
struct Hooks {
  std::mutex mu;
  Dataplane::ControlPacketHandler control;
  Dataplane::EventHandler event;
};

struct Session;

// One socket: UDP (bound, connected) or raw IP protocol 115; shared by tunnels with the same
// addresses (the data header carries no tunnel id, RFC 3931 §4.1).
struct Transport {
  Encap encap = Encap::kUdp;
  bool v6 = false;
  int fd = -1;
  bool owned = true;  // static: ours to close; managed: the agent's
  bool managed = false;
  uint32_t tunnel_id = 0;  // for control packets of a managed tunnel
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  int rx_worker = 0;
  // UDP over IPv6 (RFC 8200 §8.1): the kernel verified the UDP checksum, which covers the
  // customer frame, and drops datagrams without one (we never set UDP_NO_CHECK6_RX). Over
  // IPv4 a zero UDP checksum (Linux l2tp's default, udp_csum off) verifies nothing, and over
  // IP there is none: there the coalescer checks each TCP checksum itself.
  bool outer_checksum_verified = false;
  int failed = 0;  // rx worker only: the errno that ended the socket, 0 while it works
  std::unique_ptr<CounterSlot[]> counters;  // traffic of no session, one slot per worker
  // Receive-side session table: touched only by the rx worker's thread.
  std::unordered_map<uint32_t, std::shared_ptr<Session>> sessions;
  // The tunnels carried (for kTunnelClosed): written by the control side, read by the worker.
  void SetTunnel(uint32_t id, bool present);
  std::vector<uint32_t> Tunnels() const;
  ~Transport();

 private:
  mutable std::mutex tunnels_mu_;
  std::vector<uint32_t> tunnels_;
};

struct Session {
  SessionConfig config;  // as applied (ifname and mtu filled in)
  std::shared_ptr<Transport> transport;
  std::vector<int> tap_fds;  // one per queue
  HeaderShape tx_shape;
  HeaderShape rx_shape;
  size_t max_gso_segment = 0;  // largest UDP payload that fits the path MTU unfragmented
  std::atomic<uint32_t> tx_seq{0};
  SeqWindow rx_window;                      // rx worker only
  std::unique_ptr<ReorderQueue> reorder;    // rx worker only; with recv_seq and a timeout
  std::unique_ptr<CounterSlot[]> counters;  // one slot per worker
  std::string bridge_made;  // a private bridge we created for Attachment::kInterface
  std::string vlan_made;    // a VLAN device we created for kEthernetVlan
  ~Session();
};

class Worker {
 public:
  Worker(int index, std::shared_ptr<Hooks> hooks);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  absl::Status Start();
  void Stop();
  // Runs `fn` on the worker's thread and waits for it.
  void Run(const std::function<void(Worker&)>& fn);

  // Only from inside Run():
  absl::Status AddTap(int fd, std::shared_ptr<Session> session);
  absl::Status AddTransport(std::shared_ptr<Transport> transport);
  void Remove(int fd);
  // Drops the worker's references to `s` (its held reordering state), before it goes away.
  void Forget(const Session* s);
  int index() const { return index_; }

 private:
  struct Source {
    std::shared_ptr<Session> session;      // a TAP queue
    std::shared_ptr<Transport> transport;  // a socket
  };
  struct Buffers;

  void Loop();
  void RunPending();
  void OnTap(int fd, Session& s);
  void TxFrame(Session& s, uint8_t* buf, size_t n, CounterSlot& c);
  void TxFlush(Session& s, CounterSlot& c);
  void OnSocket(Transport& t);
  void CloseTransport(const std::shared_ptr<Transport>& t, const std::string& why);
  void RxPacket(Transport& t, uint8_t* data, size_t len);
  void RxSequenced(Session& s, uint32_t seq, uint8_t* frame, size_t len);
  void ExpireReorder();
  int EpollTimeoutMs() const;
  void DeliverControl(Transport& t, const uint8_t* data, size_t len);

  const int index_;
  std::shared_ptr<Hooks> hooks_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::unordered_map<int, Source> sources_;
  std::vector<std::shared_ptr<Session>> reordering_;  // sessions holding packets
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(Worker&)>> pending_;
  uint64_t generation_done_ = 0;
  uint64_t generation_asked_ = 0;
  std::unique_ptr<Buffers> buf_;
};

}  // namespace pwire::dataplane
