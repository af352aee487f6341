// The kernel data plane: Linux L2TPv3 (l2tp_core, l2tp_eth, l2tp_ip, l2tp_ip6) programmed through
// the "l2tp" generic netlink family, with session interfaces, bridges, VLAN devices and MTU set
// through rtnetlink. Managed tunnels use the agent's own socket (L2TP_ATTR_FD); static tunnels
// let the kernel open its own. See ARCHITECTURE.md and the ownership rule below.
//
// Ownership: the agent owns the sessions it created or adopted, and every session whose
// interface has the default name, DataplaneOptions::ifname_prefix + session id (how List finds
// them again after a restart); the tunnels it created or adopted, and those holding a session
// it owns. Create of an object that exists with exactly the asked parameters adopts it (an
// agent restart); with other parameters it fails. Delete of an object it does not own fails
// with FAILED_PRECONDITION: it never changes anything else.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "agent/dataplane/dataplane.h"
#include "agent/dataplane/kernel_genl.h"
#include "agent/dataplane/kernel_link.h"
#include "agent/dataplane/kernel_netlink.h"

namespace pwire::dataplane::kernel {

class KernelDataplane final : public Dataplane {
 public:
  // Opens the netlink sockets and starts the monitor thread (drift and link events, checked
  // on every notification and every `probe_interval`).
  static absl::StatusOr<std::unique_ptr<KernelDataplane>> Create(
      const DataplaneOptions& options, base::Duration probe_interval = std::chrono::seconds(1));
  ~KernelDataplane() override;

  Capabilities GetCapabilities() const override;
  absl::Status CreateTunnel(const TunnelConfig& config) override;
  absl::Status DeleteTunnel(uint32_t tunnel_id) override;
  absl::Status CreateSession(const SessionConfig& config) override;
  absl::Status DeleteSession(uint32_t tunnel_id, uint32_t session_id) override;
  absl::StatusOr<Snapshot> List() const override;
  absl::StatusOr<Stats> SessionStats(uint32_t tunnel_id, uint32_t session_id) const override;
  Stats GlobalStats() const override;
  void SetEventHandler(EventHandler handler) override;
  void SetControlPacketHandler(ControlPacketHandler handler) override;

  // The interface name a session gets when its config names none.
  std::string DefaultIfname(uint32_t session_id) const;

 private:
  using Key = std::pair<uint32_t, uint32_t>;
  struct Kernel {  // one dump of the kernel's state
    std::map<uint32_t, KernelTunnel> tunnels;
    std::map<Key, KernelSession> sessions;
  };

  KernelDataplane(DataplaneOptions options, std::unique_ptr<GenlSocket> genl,
                  std::unique_ptr<LinkControl> links, base::Duration probe_interval);

  absl::StatusOr<Kernel> DumpLocked() const;
  bool OwnsSessionLocked(const KernelSession& s) const;
  bool OwnsTunnelLocked(uint32_t tunnel_id, const Kernel& k) const;
  absl::StatusOr<TunnelConfig> TunnelLocked(uint32_t tunnel_id) const;
  absl::Status AdoptExistingSessionLocked(const SessionConfig& config, const std::string& ifname);
  absl::Status ApplyLinksLocked(const SessionConfig& config, const TunnelConfig& tunnel,
                                const std::string& ifname, int* mtu_out);
  void DeleteLinksLocked(const SessionConfig& config);
  SessionConfig ToConfigLocked(const KernelSession& s) const;

  void MonitorLoop();
  void CheckDrift(std::vector<Event>* events);
  void Emit(const std::vector<Event>& events);

  const DataplaneOptions options_;
  const base::Duration probe_interval_;
  mutable std::mutex mu_;  // guards the sockets and the records
  std::unique_ptr<GenlSocket> genl_;
  std::unique_ptr<LinkControl> links_;
  std::map<uint32_t, TunnelConfig> tunnels_;  // created or adopted by this agent
  std::map<Key, SessionConfig> sessions_;     // as applied: ifname and mtu filled in
  std::map<std::string, bool> link_running_;  // last seen carrier of our session interfaces

  std::mutex handler_mu_;
  EventHandler event_handler_;

  int stop_fd_ = -1;
  std::thread monitor_;
};

}  // namespace pwire::dataplane::kernel
