// UDP sockets for L2TP over UDP (RFC 3931 §4.1.2.2). See udp_socket.h.
#include "agent/core/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/core/l2tp_convert.h"

namespace pwire::agent {

using dataplane::IpAddress;

namespace {

class UdpSocket final : public DatagramSocket {
 public:
  UdpSocket(EventLoop& loop, int fd) : loop_(loop), fd_(fd) {}
  ~UdpSocket() override {
    Unwatch();
    close(fd_);
  }
  absl::Status SendTo(const l2tp::PeerAddress& to, std::span<const uint8_t> bytes) override;
  absl::Status Watch(Receiver receive, Drained drained) override;
  void Unwatch() override {
    if (watched_) loop_.RemoveFd(fd_);
    watched_ = false;
  }
  int fd() const override { return fd_; }

 private:
  void OnReadable();

  EventLoop& loop_;
  const int fd_;
  bool watched_ = false;
  Receiver receive_;
  Drained drained_;
};

}  // namespace

socklen_t ToSockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

l2tp::PeerAddress FromSockaddr(const sockaddr_storage& ss) {
  l2tp::PeerAddress p;
  if (ss.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    p.v6 = true;
    std::memcpy(p.ip.data(), &s6->sin6_addr, 16);
    p.port = ntohs(s6->sin6_port);
  } else {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(p.ip.data(), &s4->sin_addr, 4);
    p.port = ntohs(s4->sin_port);
  }
  return p;
}

// A UDP socket bound to local:port (shared with our other L2TP sockets), connected to the
// peer when one is given.
absl::StatusOr<int> OpenUdp(const IpAddress& local, uint16_t port, const IpAddress* peer,
                            uint16_t peer_port) {
  int fd = socket(local.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss;
  socklen_t len = ToSockaddr(local, port, ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    auto err = absl::UnavailableError(
        absl::StrCat("bind ", local.ToString(), ":", port, ": ", std::strerror(errno)));
    close(fd);
    return err;
  }
  if (peer != nullptr) {
    len = ToSockaddr(*peer, peer_port, ss);
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      auto err = absl::UnavailableError(
          absl::StrCat("connect ", peer->ToString(), ":", peer_port, ": ", std::strerror(errno)));
      close(fd);
      return err;
    }
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<DatagramSocket>> UdpSockets::Open(const IpAddress& local,
                                                                 uint16_t port,
                                                                 const IpAddress* peer,
                                                                 uint16_t peer_port) {
  auto fd = OpenUdp(local, port, peer, peer_port);
  if (!fd.ok()) return fd.status();
  return std::make_unique<UdpSocket>(loop_, *fd);
}

absl::Status UdpSocket::SendTo(const l2tp::PeerAddress& to, std::span<const uint8_t> bytes) {
  sockaddr_storage ss;
  socklen_t len = ToSockaddr(FromPeer(to), to.port, ss);
  if (sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    return absl::UnavailableError(
        absl::StrCat("send to ", to.ToString(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status UdpSocket::Watch(Receiver receive, Drained drained) {
  Unwatch();
  receive_ = std::move(receive);
  drained_ = std::move(drained);
  if (auto s = loop_.AddFd(fd_, EPOLLIN, [this](uint32_t) { OnReadable(); }); !s.ok()) return s;
  watched_ = true;
  return absl::OkStatus();
}

// At most 64 datagrams a round, so that one busy socket does not starve the others.
void UdpSocket::OnReadable() {
  uint8_t buf[4096];
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) break;
    receive_(FromSockaddr(from), std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  }
  Drained drained = drained_;  // may close this socket (a control connection ends)
  drained();
}

}  // namespace pwire::agent
