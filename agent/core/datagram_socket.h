// The L2TP control plane's datagram socket seam: sockets bound to the agent's L2TP port on an
// underlay address (a listener, or connected to one peer), read on the agent's dispatcher.
// UdpSockets (udp_socket.h) is the real one; tests/agent/virtual_net.h joins the sockets of
// several agents in memory on virtual time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"
#include "agent/l2tp/engine.h"

namespace pwire::agent {

class DatagramSocket {
 public:
  using Receiver = std::function<void(const l2tp::PeerAddress& from, std::span<const uint8_t>)>;
  using Drained = std::function<void()>;

  virtual ~DatagramSocket() = default;  // closes it

  virtual absl::Status SendTo(const l2tp::PeerAddress& to, std::span<const uint8_t> bytes) = 0;
  // Delivers each datagram that arrives to `receive`, then calls `drained` once after each
  // batch (the caller drives its engine once per batch). Replaces an earlier Watch.
  virtual absl::Status Watch(Receiver receive, Drained drained) = 0;
  // Stops reading (the data plane reads it now); datagrams wait in the socket.
  virtual void Unwatch() = 0;
  // The descriptor lent to the data plane for a managed tunnel. A fake socket's is a number
  // only dataplane::FakeDataplane accepts.
  virtual int fd() const = 0;
};

class DatagramSockets {
 public:
  virtual ~DatagramSockets() = default;
  // A socket bound to local:port (shared with the agent's other L2TP sockets), connected to
  // peer:peer_port when peer is given.
  virtual absl::StatusOr<std::unique_ptr<DatagramSocket>> Open(const dataplane::IpAddress& local,
                                                               uint16_t port,
                                                               const dataplane::IpAddress* peer,
                                                               uint16_t peer_port) = 0;
};

}  // namespace pwire::agent
