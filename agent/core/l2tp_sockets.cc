// L2tpControlPlane, sockets: reading the L2TP sockets, each control connection's socket and
// the sockets of static tunnels, and handing them to the data plane and back. See
// l2tp_control.h.
#include "absl/strings/str_cat.h"
#include "agent/core/l2tp_control.h"

namespace pwire::agent {

absl::Status L2tpControlPlane::WatchSocket(Endpoint& ep, DatagramSocket& socket) {
  Endpoint* raw = &ep;
  return socket.Watch(
      [this, raw](const l2tp::PeerAddress& from, std::span<const uint8_t> bytes) {
        OnDatagram(*raw, from, bytes);
      },
      [this, raw] { Drive(*raw); });
}

absl::StatusOr<int> L2tpControlPlane::TunnelSocket(const dataplane::TunnelConfig& c) {
  auto it = sockets_.find(c.local_tunnel_id);
  if (it == sockets_.end()) {
    if (tunnels_.count(c.local_tunnel_id)) {
      return absl::UnavailableError("control connection has no socket");
    }
    // A static tunnel: its own socket on the shared port.
    if (c.encap != dataplane::Encap::kUdp) {
      return absl::UnimplementedError("static IP-encapsulated tunnels: use the kernel data plane");
    }
    auto socket = net_.Open(c.local, c.local_port, &c.peer, c.peer_port);
    if (!socket.ok()) return socket.status();
    it =
        sockets_
            .emplace(c.local_tunnel_id, Socket{std::move(*socket), false, true, c.local.ToString()})
            .first;
    if (!dp_reads_control_) {
      auto ep = EndpointFor(c.local.ToString());
      if (ep.ok()) it->second.watched = WatchSocket(**ep, *it->second.socket).ok();
    }
  }
  if (dp_reads_control_ && it->second.watched) {
    it->second.socket->Unwatch();  // The data plane reads it from now on.
    it->second.watched = false;
  }
  return it->second.socket->fd();
}

void L2tpControlPlane::ReleaseTunnelSocket(uint32_t tunnel_id) {
  auto it = sockets_.find(tunnel_id);
  if (it == sockets_.end()) return;
  if (it->second.is_static) {
    CloseSocket(tunnel_id);
    return;
  }
  if (!it->second.watched) {  // Back to us while the control connection lives.
    Endpoint* ep = EndpointOfTunnel(tunnel_id);
    if (ep == nullptr) return;
    it->second.watched = WatchSocket(*ep, *it->second.socket).ok();
  }
}

void L2tpControlPlane::CloseSocket(uint32_t tunnel_id) {
  auto it = sockets_.find(tunnel_id);
  if (it == sockets_.end()) return;
  // The data plane may still hold the descriptor: it learns the tunnel is gone when the
  // reconciler removes it; closing first makes its reads fail harmlessly.
  sockets_.erase(it);  // closes it
}

}  // namespace pwire::agent
