// Worker threads of the userspace data plane: see userspace_worker.h.
#include "agent/dataplane/userspace_worker.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <span>

#include "absl/strings/str_cat.h"
#include "agent/dataplane/userspace_offload.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace pwire::dataplane {
namespace {

constexpr size_t kVnet = sizeof(VnetHeader);
constexpr size_t kFrameBuf = kVnet + 65536;
constexpr int kTapBatch = 16;
constexpr int kMaxMsgs = 512;
constexpr int kMaxSegs = 1024;
constexpr size_t kMaxSegsPerFrame = 256;
constexpr size_t kHdrStride = 160;  // >= kMaxDataHeader + kMaxInnerHeader
constexpr int kRxBatch = 32;
constexpr size_t kRxBuf = 65536;
constexpr size_t kMaxGsoBytes = 65000;  // UDP length field
constexpr size_t kMaxGsoSegs = 64;      // UDP_MAX_SEGMENTS on older kernels

using CS = CounterSlot;

}  // namespace

void CounterSlot::AddTo(Stats& s) const {
  auto r = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  s.tx_packets += r(tx_packets);
  s.tx_bytes += r(tx_bytes);
  s.tx_errors += r(tx_errors);
  s.rx_packets += r(rx_packets);
  s.rx_bytes += r(rx_bytes);
  s.rx_errors += r(rx_errors);
  s.rx_cookie_discards += r(rx_cookie_discards);
  s.rx_seq_discards += r(rx_seq_discards);
  s.rx_oos_packets += r(rx_oos_packets);
  s.rx_unknown_session += r(rx_unknown_session);
  s.rx_malformed += r(rx_malformed);
}

void Transport::SetTunnel(uint32_t id, bool present) {
  std::lock_guard lock(tunnels_mu_);
  std::erase(tunnels_, id);
  if (present) {
    tunnels_.push_back(id);
  }
}

std::vector<uint32_t> Transport::Tunnels() const {
  std::lock_guard lock(tunnels_mu_);
  return tunnels_;
}

Transport::~Transport() {
  if (owned && fd >= 0) {
    close(fd);
  }
}

Session::~Session() {
  for (int fd : tap_fds) {
    close(fd);
  }
}

struct Worker::Buffers {
  explicit Buffers(Worker* w)
      : tap(kTapBatch * kFrameBuf),
        rx(kRxBatch * kRxBuf),
        coalescer([w](void* target, const iovec* vec, int n, int frames) {
          auto* s = static_cast<Session*>(target);
          int fd = s->tap_fds[static_cast<size_t>(w->index()) % s->tap_fds.size()];
          if (writev(fd, vec, n) < 0) {
            CS::Bump(s->counters[w->index()].rx_errors, static_cast<uint64_t>(frames));
          }
        }) {}
  // Transmit side.
  std::vector<uint8_t> tap;
  std::array<uint8_t, kMaxSegs * kHdrStride> hdr{};
  std::array<mmsghdr, kMaxMsgs> msgs{};
  std::array<iovec, 2 * kMaxSegs> iov{};
  struct alignas(cmsghdr) Cmsg {
    char data[CMSG_SPACE(sizeof(uint16_t))];
  };
  std::array<Cmsg, kMaxMsgs> cmsg{};
  std::array<Segment, kMaxSegsPerFrame> segs{};
  int nmsg = 0;
  int niov = 0;
  int nhdr = 0;
  // Receive side.
  std::vector<uint8_t> rx;
  std::array<mmsghdr, kRxBatch> rx_msgs{};
  std::array<iovec, kRxBatch> rx_iov{};
  struct alignas(cmsghdr) RxCmsg {
    char data[64];
  };
  std::array<RxCmsg, kRxBatch> rx_cmsg{};
  std::array<sockaddr_storage, kRxBatch> rx_addr{};
  TcpCoalescer coalescer;
};

Worker::Worker(int index, std::shared_ptr<Hooks> hooks)
    : index_(index), hooks_(std::move(hooks)), buf_(std::make_unique<Buffers>(this)) {}

Worker::~Worker() {
  Stop();
  if (epfd_ >= 0) {
    close(epfd_);
  }
  if (wakefd_ >= 0) {
    close(wakefd_);
  }
}

absl::Status Worker::Start() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epfd_ < 0 || wakefd_ < 0) {
    return absl::InternalError(absl::StrCat("epoll/eventfd: ", std::strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd_;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev) < 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Worker::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  stop_.store(true);
  uint64_t one = 1;
  (void)!write(wakefd_, &one, sizeof one);
  thread_.join();
  sources_.clear();
}

void Worker::Run(const std::function<void(Worker&)>& fn) {
  if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) {
    fn(*this);
    return;
  }
  std::unique_lock lock(mu_);
  pending_.push_back(fn);
  uint64_t mine = ++generation_asked_;
  uint64_t one = 1;
  (void)!write(wakefd_, &one, sizeof one);
  cv_.wait(lock, [&] { return generation_done_ >= mine; });
}

void Worker::RunPending() {
  uint64_t drained;
  (void)!read(wakefd_, &drained, sizeof drained);
  std::vector<std::function<void(Worker&)>> todo;
  uint64_t upto;
  {
    std::lock_guard lock(mu_);
    todo.swap(pending_);
    upto = generation_asked_;
  }
  for (auto& fn : todo) {
    fn(*this);
  }
  {
    std::lock_guard lock(mu_);
    generation_done_ = upto;
  }
  cv_.notify_all();
}

absl::Status Worker::AddTap(int fd, std::shared_ptr<Session> session) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl tap: ", std::strerror(errno)));
  }
  sources_[fd] = Source{std::move(session), nullptr};
  return absl::OkStatus();
}

absl::Status Worker::AddTransport(std::shared_ptr<Transport> transport) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = transport->fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, transport->fd, &ev) < 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl socket: ", std::strerror(errno)));
  }
  int fd = transport->fd;
  sources_[fd] = Source{nullptr, std::move(transport)};
  return absl::OkStatus();
}

void Worker::Remove(int fd) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  sources_.erase(fd);
}

void Worker::Forget(const Session* s) {
  std::erase_if(reordering_, [&](const auto& p) { return p.get() == s; });
}

void Worker::Loop() {
  std::array<epoll_event, 64> events{};
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), EpollTimeoutMs());
    if (!reordering_.empty()) {
      ExpireReorder();
    }
    if (n < 0) {
      continue;  // EINTR
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<size_t>(i)].data.fd;
      uint32_t mask = events[static_cast<size_t>(i)].events;
      if (fd == wakefd_) {
        RunPending();
        continue;
      }
      auto it = sources_.find(fd);
      if (it == sources_.end()) {
        continue;  // removed by RunPending in this round
      }
      if (it->second.session) {
        OnTap(fd, *it->second.session);
      } else {
        std::shared_ptr<Transport> t = it->second.transport;
        OnSocket(*t);
        if ((mask & EPOLLHUP) != 0) {
          CloseTransport(t, "the tunnel socket was shut down");
        } else if (t->failed != 0) {
          CloseTransport(t, absl::StrCat("the tunnel socket failed: ", std::strerror(t->failed)));
        }
      }
    }
  }
}

// --- transmit: TAP -> wire ---

void Worker::OnTap(int fd, Session& s) {
  CounterSlot& c = s.counters[index_];
  for (int round = 0; round < 4; ++round) {
    int k = 0;
    for (; k < kTapBatch; ++k) {
      uint8_t* b = &buf_->tap[static_cast<size_t>(k) * kFrameBuf];
      ssize_t n = read(fd, b, kFrameBuf);
      if (n <= 0) {
        break;
      }
      TxFrame(s, b, static_cast<size_t>(n), c);
    }
    TxFlush(s, c);
    if (k < kTapBatch) {
      return;
    }
  }
}

void Worker::TxFrame(Session& s, uint8_t* buf, size_t n, CounterSlot& c) {
  Buffers& b = *buf_;
  if (n < kVnet + 14) {
    CS::Bump(c.tx_errors);
    return;
  }
  VnetHeader vh;
  std::memcpy(&vh, buf, kVnet);
  uint8_t* f = buf + kVnet;
  size_t flen = n - kVnet;
  const Transport& t = *s.transport;
  const SessionConfig& cfg = s.config;
  size_t hl2tp = s.tx_shape.Length();
  bool seq = cfg.send_seq && cfg.tx_sublayer == Sublayer::kDefault;
  void* name = t.managed ? const_cast<sockaddr_storage*>(&t.peer) : nullptr;
  socklen_t name_len = t.managed ? t.peer_len : 0;
  auto begin_msg = [&]() -> msghdr& {
    mmsghdr& m = b.msgs[static_cast<size_t>(b.nmsg)];
    m = mmsghdr{};
    m.msg_hdr.msg_name = name;
    m.msg_hdr.msg_namelen = name_len;
    m.msg_hdr.msg_iov = &b.iov[static_cast<size_t>(b.niov)];
    return m.msg_hdr;
  };
  auto end_msg = [&](msghdr& m, int iovs, uint16_t gso_size) {
    m.msg_iovlen = static_cast<size_t>(iovs);
    if (gso_size != 0) {
      m.msg_control = b.cmsg[static_cast<size_t>(b.nmsg)].data;
      m.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      cmsghdr* cm = CMSG_FIRSTHDR(&m);
      cm->cmsg_level = IPPROTO_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      std::memcpy(CMSG_DATA(cm), &gso_size, sizeof gso_size);
    }
    ++b.nmsg;
  };

  uint8_t gso = vh.gso_type & ~kVnetGsoEcn;
  if (gso == kVnetGsoNone) {
    if ((vh.flags & kVnetNeedsCsum) != 0 &&
        !CompletePartialChecksum({f, flen}, vh.csum_start, vh.csum_offset)) {
      CS::Bump(c.tx_errors);
      return;
    }
    if (b.nmsg + 1 > kMaxMsgs || b.nhdr + 1 > kMaxSegs) {
      TxFlush(s, c);
    }
    uint8_t* h = &b.hdr[static_cast<size_t>(b.nhdr++) * kHdrStride];
    EncodeDataHeader(h, t.encap, cfg.peer_session_id, cfg.peer_cookie, cfg.tx_sublayer, seq,
                     seq ? s.tx_seq.fetch_add(1, std::memory_order_relaxed) : 0);
    msghdr& m = begin_msg();
    b.iov[static_cast<size_t>(b.niov++)] = iovec{h, hl2tp};
    b.iov[static_cast<size_t>(b.niov++)] = iovec{f, flen};
    end_msg(m, 2, 0);
    CS::Bump(c.tx_packets);
    CS::Bump(c.tx_bytes, flen);
    return;
  }
  std::optional<TcpFrame> tcp = ParseTcpFrame({f, flen}, /*check_ip_length=*/false);
  if (!tcp || (gso != kVnetGsoTcpV4 && gso != kVnetGsoTcpV6) || tcp->v6 != (gso == kVnetGsoTcpV6) ||
      vh.gso_size == 0) {
    CS::Bump(c.tx_errors);
    return;
  }
  size_t mss = vh.gso_size;
  size_t nseg = (flen - std::min(flen, tcp->header_len) + mss - 1) / mss;
  if (nseg == 0 || nseg > kMaxSegsPerFrame) {
    CS::Bump(c.tx_errors);
    return;
  }
  if (b.nmsg + static_cast<int>(nseg) > kMaxMsgs || b.nhdr + static_cast<int>(nseg) > kMaxSegs) {
    TxFlush(s, c);
  }
  uint8_t* storage = &b.hdr[static_cast<size_t>(b.nhdr) * kHdrStride];
  nseg =
      SegmentTcp({f, flen}, *tcp, mss, storage, kHdrStride, hl2tp, b.segs.data(), kMaxSegsPerFrame);
  if (nseg == 0) {
    CS::Bump(c.tx_errors);
    return;
  }
  uint32_t seq0 = seq ? s.tx_seq.fetch_add(static_cast<uint32_t>(nseg)) : 0;
  size_t wire_seg = hl2tp + tcp->header_len + mss;
  size_t per_msg = 1;
  if (t.encap == Encap::kUdp && wire_seg <= s.max_gso_segment) {
    per_msg = std::min(kMaxGsoSegs, kMaxGsoBytes / wire_seg);
  }
  for (size_t i = 0; i < nseg;) {
    size_t in_msg = std::min(per_msg, nseg - i);
    msghdr& m = begin_msg();
    for (size_t j = 0; j < in_msg; ++j, ++i) {
      uint8_t* h = storage + i * kHdrStride;
      EncodeDataHeader(h, t.encap, cfg.peer_session_id, cfg.peer_cookie, cfg.tx_sublayer, seq,
                       seq0 + static_cast<uint32_t>(i));
      b.iov[static_cast<size_t>(b.niov++)] = iovec{h, hl2tp + tcp->header_len};
      b.iov[static_cast<size_t>(b.niov++)] =
          iovec{const_cast<uint8_t*>(b.segs[i].payload), b.segs[i].payload_len};
    }
    end_msg(m, static_cast<int>(2 * in_msg), in_msg > 1 ? static_cast<uint16_t>(wire_seg) : 0);
  }
  b.nhdr += static_cast<int>(nseg);
  CS::Bump(c.tx_packets, nseg);
  CS::Bump(c.tx_bytes, flen - tcp->header_len + nseg * tcp->header_len);
}

void Worker::TxFlush(Session& s, CounterSlot& c) {
  Buffers& b = *buf_;
  int off = 0;
  while (off < b.nmsg) {
    int r = sendmmsg(s.transport->fd, &b.msgs[static_cast<size_t>(off)],
                     static_cast<unsigned>(b.nmsg - off), 0);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      CS::Bump(c.tx_errors);  // e.g. ECONNREFUSED from an earlier ICMP: skip one message
      ++off;
      continue;
    }
    off += r;
  }
  b.nmsg = b.niov = b.nhdr = 0;
}

// --- receive: wire -> TAP ---

namespace {

// Errors that mean the socket itself is unusable. Everything else a datagram socket reports
// and then goes on working: nothing to read, a signal, or an error an ICMP message queued
// after an earlier send (ECONNREFUSED, EHOSTUNREACH, ENOPROTOOPT, EMSGSIZE, ...).
bool FatalSocketError(int e) { return e == EBADF || e == ENOTSOCK || e == EINVAL || e == EFAULT; }

bool SameAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) {
    return false;
  }
  if (a.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                     &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, 16) == 0;
}

}  // namespace

// The socket is gone for good: stop polling it and tell the agent about each tunnel on it
// (Event::kTunnelClosed), as the kernel data plane does when a tunnel's socket closes.
void Worker::CloseTransport(const std::shared_ptr<Transport>& t, const std::string& why) {
  Remove(t->fd);
  Dataplane::EventHandler handler;
  {
    std::lock_guard lock(hooks_->mu);
    handler = hooks_->event;
  }
  if (!handler) {
    return;
  }
  for (uint32_t id : t->Tunnels()) {
    handler(Event{Event::Kind::kTunnelClosed, id, 0, why});
  }
}

void Worker::OnSocket(Transport& t) {
  Buffers& b = *buf_;
  CounterSlot& g = t.counters[index_];
  for (int round = 0; round < 4; ++round) {
    for (size_t k = 0; k < kRxBatch; ++k) {
      b.rx_iov[k] = iovec{&b.rx[k * kRxBuf], kRxBuf};
      b.rx_msgs[k] = mmsghdr{};
      msghdr& m = b.rx_msgs[k].msg_hdr;
      m.msg_iov = &b.rx_iov[k];
      m.msg_iovlen = 1;
      m.msg_control = b.rx_cmsg[k].data;
      m.msg_controllen = sizeof b.rx_cmsg[k].data;
      if (t.managed) {
        m.msg_name = &b.rx_addr[k];
        m.msg_namelen = sizeof b.rx_addr[k];
      }
    }
    int r = recvmmsg(t.fd, b.rx_msgs.data(), kRxBatch, MSG_DONTWAIT, nullptr);
    if (r < 0 && FatalSocketError(errno)) {
      t.failed = errno;
      CS::Bump(g.rx_errors);
    }
    if (r <= 0) {
      return;
    }
    for (size_t k = 0; k < static_cast<size_t>(r); ++k) {
      msghdr& m = b.rx_msgs[k].msg_hdr;
      uint8_t* data = &b.rx[k * kRxBuf];
      size_t len = b.rx_msgs[k].msg_len;
      if ((m.msg_flags & MSG_TRUNC) != 0 || (t.managed && !SameAddress(b.rx_addr[k], t.peer))) {
        CS::Bump(g.rx_errors);
        continue;
      }
      if (t.encap == Encap::kIp && !t.v6) {
        size_t ihl = len == 0 ? 0 : size_t{data[0] & 15u} * 4;
        if (ihl < 20 || ihl > len) {
          CS::Bump(g.rx_malformed);
          continue;
        }
        data += ihl;
        len -= ihl;
      }
      size_t seg = len;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&m); cm != nullptr; cm = CMSG_NXTHDR(&m, cm)) {
        if (cm->cmsg_level == IPPROTO_UDP && cm->cmsg_type == UDP_GRO) {
          int v;
          std::memcpy(&v, CMSG_DATA(cm), sizeof v);
          if (v > 0) {
            seg = static_cast<size_t>(v);
          }
        }
      }
      for (size_t off = 0; off < len; off += seg) {
        RxPacket(t, data + off, std::min(seg, len - off));
      }
    }
    b.coalescer.Flush();
    if (r < kRxBatch) {
      return;
    }
  }
}

void Worker::RxPacket(Transport& t, uint8_t* data, size_t len) {
  CounterSlot& g = t.counters[index_];
  RxPrefix p = ClassifyPacket({data, len}, t.encap);
  if (p.kind == RxKind::kMalformed) {
    CS::Bump(g.rx_malformed);
    return;
  }
  if (p.kind == RxKind::kControl) {
    DeliverControl(t, data, len);
    return;
  }
  auto it = t.sessions.find(p.session_id);
  if (it == t.sessions.end()) {
    CS::Bump(g.rx_unknown_session);
    return;
  }
  Session& s = *it->second;
  CounterSlot& c = s.counters[index_];
  RxData d = ParseDataHeader({data, len}, t.encap, s.config.cookie, s.config.rx_sublayer);
  if (d.verdict == RxVerdict::kBadCookie) {
    CS::Bump(c.rx_cookie_discards);
    return;
  }
  if (d.verdict != RxVerdict::kOk || len - d.payload_offset < 14) {
    CS::Bump(c.rx_malformed);
    return;
  }
  size_t flen = len - d.payload_offset;
  if (s.reorder && d.has_seq) {
    RxSequenced(s, d.seq, data + d.payload_offset, flen);
    return;
  }
  if (s.config.recv_seq && (!d.has_seq || !s.rx_window.Accept(d.seq))) {
    CS::Bump(c.rx_seq_discards);  // RFC 3931 §4.6: out of order, or no sequence number
    return;
  }
  CS::Bump(c.rx_packets);
  CS::Bump(c.rx_bytes, flen);
  buf_->coalescer.Add(&s, data + d.payload_offset, flen, t.outer_checksum_verified);
}

// RFC 3931 §4.6 with a reorder timeout: packets ahead of a gap wait in the session's
// ReorderQueue. Frames it releases from its own storage are flushed through the coalescer
// at once, since that storage is reused by the next Push.
void Worker::RxSequenced(Session& s, uint32_t seq, uint8_t* frame, size_t len) {
  CounterSlot& c = s.counters[index_];
  bool from_queue = false;
  auto deliver = [&](std::span<uint8_t> f) {
    from_queue |= f.data() != frame;
    CS::Bump(c.rx_packets);
    CS::Bump(c.rx_bytes, f.size());
    buf_->coalescer.Add(&s, f.data(), f.size(), s.transport->outer_checksum_verified);
  };
  uint64_t held_before = s.reorder->held_total();
  if (!s.reorder->Push(base::MonotonicNow(), seq, {frame, len}, deliver)) {
    CS::Bump(c.rx_seq_discards);  // late or duplicate
    return;
  }
  CS::Bump(c.rx_oos_packets, s.reorder->held_total() - held_before);
  if (from_queue) {
    buf_->coalescer.Flush();
  }
  if (s.reorder->held() > 0 && std::none_of(reordering_.begin(), reordering_.end(),
                                            [&](const auto& p) { return p.get() == &s; })) {
    auto it = s.transport->sessions.find(s.config.local_session_id);
    if (it != s.transport->sessions.end()) {
      reordering_.push_back(it->second);
    }
  }
}

void Worker::ExpireReorder() {
  base::Instant now = base::MonotonicNow();
  for (const auto& s : reordering_) {
    CounterSlot& c = s->counters[index_];
    s->reorder->Expire(now, [&](std::span<uint8_t> f) {
      CS::Bump(c.rx_packets);
      CS::Bump(c.rx_bytes, f.size());
      buf_->coalescer.Add(s.get(), f.data(), f.size(), s->transport->outer_checksum_verified);
    });
    buf_->coalescer.Flush();
  }
  std::erase_if(reordering_, [](const auto& s) { return s->reorder->held() == 0; });
}

// Sleeps until the earliest reorder deadline when packets are held, else indefinitely.
int Worker::EpollTimeoutMs() const {
  std::optional<base::Instant> next;
  for (const auto& s : reordering_) {
    std::optional<base::Instant> d = s->reorder->NextDeadline();
    if (d && (!next || *d < *next)) {
      next = d;
    }
  }
  if (!next) {
    return -1;
  }
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - base::MonotonicNow());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

void Worker::DeliverControl(Transport& t, const uint8_t* data, size_t len) {
  Dataplane::ControlPacketHandler handler;
  if (t.managed) {
    std::lock_guard lock(hooks_->mu);
    handler = hooks_->control;
  }
  if (!handler) {
    CS::Bump(t.counters[index_].rx_errors);  // a control message on a static tunnel
    return;
  }
  handler(t.tunnel_id, std::vector<uint8_t>(data, data + len));
}

}  // namespace pwire::dataplane
