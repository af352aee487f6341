// Network devices for the userspace data plane: multi-queue TAP devices with a virtio-net
// header and TSO offloads, and rtnetlink link changes (MTU, up, bridge membership, bridges,
// VLAN devices) through libnl-route, never by running `ip`.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"

struct nl_sock;

namespace pwire::dataplane {

// Opens `queues` queues of the TAP device `name` (created if absent; it disappears when the
// last queue closes). Each fd is non-blocking, with a virtio-net header and, when `offloads`,
// checksum and TSO (IPv4, IPv6, ECN) offloads, so reads may return TCP super-frames.
absl::StatusOr<std::vector<int>> OpenTap(const std::string& name, int queues, bool offloads);

// rtnetlink through one libnl-route socket. Thread-safe.
class LinkControl {
 public:
  static absl::StatusOr<std::unique_ptr<LinkControl>> Open();
  ~LinkControl();
  LinkControl(const LinkControl&) = delete;
  LinkControl& operator=(const LinkControl&) = delete;

  // Sets the MTU (unless 0) and brings the link up.
  absl::Status SetMtuAndUp(const std::string& ifname, int mtu);
  absl::Status SetMaster(const std::string& ifname, const std::string& master);
  // Creates a bridge named `name`; succeeds if one exists already.
  absl::Status EnsureBridge(const std::string& name);
  // Creates VLAN device `name` with id `vlan_id` on `parent`; succeeds if it exists already.
  absl::Status EnsureVlan(const std::string& parent, const std::string& name, uint16_t vlan_id);
  // Creates the veth pair `name` and `peer` (the eBPF data plane's session devices).
  absl::Status CreateVethPair(const std::string& name, const std::string& peer);
  // Deletes the link; succeeds if it is absent.
  absl::Status DeleteLink(const std::string& name);
  bool Exists(const std::string& name);

 private:
  explicit LinkControl(nl_sock* sock) : sock_(sock) {}
  std::mutex mu_;
  nl_sock* sock_;
};

// The links of a session interface `c.ifname` that exists already, for the data planes that
// make one device per session (userspace TAP, eBPF veth): MTU and up; a VLAN device for an
// Ethernet VLAN pseudowire (its name into `vlan_made`); then the attachment (a private bridge's
// name into `bridge_made`). The names are set as soon as the device exists, for clean-up.
absl::Status SetUpSessionLinks(LinkControl& link, const SessionConfig& c, std::string& vlan_made,
                               std::string& bridge_made);

}  // namespace pwire::dataplane

namespace pwire::dataplane {

// Watches rtnetlink link notifications (RTNLGRP_LINK) on its own thread and reports, for the
// interfaces it is told to watch, changes of operational state and deletions.
class LinkMonitor {
 public:
  // `on_change(ifindex, up, deleted)`; called on the monitor's thread.
  using Callback = std::function<void(int ifindex, bool up, bool deleted)>;
  static absl::StatusOr<std::unique_ptr<LinkMonitor>> Start(Callback on_change);
  ~LinkMonitor();
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;

 private:
  LinkMonitor(int nlfd, int stopfd, Callback cb);
  void Loop();
  int nlfd_;
  int stopfd_;
  Callback cb_;
  std::thread thread_;
};

}  // namespace pwire::dataplane
