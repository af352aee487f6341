// The agent's UDP sockets for L2TP: every one is bound to the agent's L2TP port on an underlay
// address (SO_REUSEADDR: the listener, each control connection's connected socket and each
// static tunnel's share it), and socket address conversions. The only file of the control
// plane that calls the socket API.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "agent/core/datagram_socket.h"
#include "agent/core/event_loop.h"
#include "agent/dataplane/dataplane.h"
#include "agent/l2tp/engine.h"

namespace pwire::agent {

socklen_t ToSockaddr(const dataplane::IpAddress& a, uint16_t port, sockaddr_storage& ss);
l2tp::PeerAddress FromSockaddr(const sockaddr_storage& ss);

// A UDP socket bound to local:port (shared with our other L2TP sockets), connected to the
// peer when one is given. Non-blocking, close-on-exec.
absl::StatusOr<int> OpenUdp(const dataplane::IpAddress& local, uint16_t port,
                            const dataplane::IpAddress* peer, uint16_t peer_port);

// The real DatagramSockets: UDP sockets (OpenUdp) read on the event loop.
class UdpSockets final : public DatagramSockets {
 public:
  explicit UdpSockets(EventLoop& loop) : loop_(loop) {}
  absl::StatusOr<std::unique_ptr<DatagramSocket>> Open(const dataplane::IpAddress& local,
                                                       uint16_t port,
                                                       const dataplane::IpAddress* peer,
                                                       uint16_t peer_port) override;

 private:
  EventLoop& loop_;
};

}  // namespace pwire::agent
