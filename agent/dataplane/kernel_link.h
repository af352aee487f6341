// Network interfaces through rtnetlink (libnl-route), for the kernel data plane: MTU and up,
// bridges and bridge ports, VLAN devices on a session interface, the underlay MTU towards a
// peer, and link notifications. Never runs `ip`. Not thread-safe: one owner at a time.
#pragma once

#include <netlink/socket.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"
#include "agent/dataplane/kernel_netlink.h"

namespace pwire::dataplane::kernel {

// A status for libnl error `nl_error` (negative NLE_* code) while doing `what`.
absl::Status LibnlError(int nl_error, const std::string& what);

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  int mtu = 0;
  bool up = false;         // IFF_UP
  bool running = false;    // IFF_RUNNING (carrier)
  int master_ifindex = 0;  // 0: not a port
  std::string kind;        // "bridge", "vlan", "l2tpeth", ... ("" if unknown)
};

class LinkControl {
 public:
  static absl::StatusOr<std::unique_ptr<LinkControl>> Open();

  // NotFound if there is no such interface.
  absl::StatusOr<LinkInfo> Get(const std::string& name);
  absl::StatusOr<LinkInfo> Get(int ifindex);
  // Sets the MTU (if mtu > 0) and brings the interface up.
  absl::Status SetMtuAndUp(const std::string& name, int mtu);
  // Makes `port` a port of `master` (which must exist), or of none when master is empty.
  absl::Status SetMaster(const std::string& port, const std::string& master);
  // Creates bridge `name` unless it exists (an existing non-bridge is an error); brings it up.
  absl::Status EnsureBridge(const std::string& name);
  // Creates VLAN device `name` with `vlan_id` on `parent` unless an identical one exists.
  absl::Status EnsureVlan(const std::string& parent, const std::string& name, uint16_t vlan_id);
  // Deletes interface `name`; absent is fine.
  absl::Status Delete(const std::string& name);
  // The MTU of the path to `peer` as the routing table says: the route's MTU metric if set,
  // else the MTU of its outgoing interface.
  absl::StatusOr<int> PathMtu(const IpAddress& peer);

 private:
  explicit LinkControl(NlSockPtr sock) : sock_(std::move(sock)) {}
  NlSockPtr sock_;
};

// A socket subscribed to rtnetlink link notifications (RTNLGRP_LINK). Non-blocking.
class LinkMonitor {
 public:
  static absl::StatusOr<std::unique_ptr<LinkMonitor>> Open();
  int fd() const;
  // Reads every pending notification: `on_link(info, deleted)` for each.
  absl::Status Drain(const std::function<void(const LinkInfo&, bool deleted)>& on_link);

 private:
  explicit LinkMonitor(NlSockPtr sock) : sock_(std::move(sock)) {}
  NlSockPtr sock_;
};

}  // namespace pwire::dataplane::kernel
