// The kernel data plane (see kernel_dataplane.h): idempotent create and delete, adoption of what
// the agent owns, statistics through SESSION_GET, drift and link events from a monitor thread.
#include "agent/dataplane/kernel_dataplane.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/dataplane/kernel_entry.h"
#include "agent/dataplane/kernel_uapi.h"

namespace pwire::dataplane::kernel {
namespace {

constexpr int kDefaultUnderlayMtu = 1500;
constexpr int kIpProtoL2tp = 115;  // RFC 3931 §4.1.1.2 (glibc lacks IPPROTO_L2TP)

// The kernel's view of a tunnel matches the config in everything the kernel reports.
bool SameTunnel(const KernelTunnel& k, const TunnelConfig& c) {
  bool same = k.peer_tunnel_id == c.peer_tunnel_id && k.encap == c.encap;
  if (c.mode == TunnelMode::kStatic || !c.local.empty()) {
    same = same && k.local == c.local && k.peer == c.peer;
  }
  if (c.encap == Encap::kUdp && c.mode == TunnelMode::kStatic) {
    same = same && k.local_port == c.local_port && k.peer_port == c.peer_port;
  }
  return same;
}

std::string Describe(const KernelTunnel& k) {
  return absl::StrFormat("tunnel %u->%u %s %s:%u->%s:%u", k.tunnel_id, k.peer_tunnel_id,
                         k.encap == Encap::kUdp ? "udp" : "ip", k.local.ToString(), k.local_port,
                         k.peer.ToString(), k.peer_port);
}

bool SameSession(const KernelSession& k, const SessionConfig& c, const std::string& ifname) {
  int64_t reorder_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.reorder_timeout).count();
  return k.pw_type == L2TP_PWTYPE_ETH && k.peer_session_id == c.peer_session_id &&
         k.cookie == c.cookie && k.peer_cookie == c.peer_cookie && k.send_seq == c.send_seq &&
         k.recv_seq == c.recv_seq && static_cast<int64_t>(k.reorder_timeout_ms) == reorder_ms &&
         k.ifname == ifname && (!k.sublayer || *k.sublayer == c.tx_sublayer);
}

// Bridge made for Attachment::kInterface: "<session ifname>b", at most 15 characters.
std::string InterfaceBridgeName(const std::string& ifname) {
  return (ifname.size() >= 15 ? ifname.substr(0, 14) : ifname) + "b";
}

std::string VlanDeviceName(const std::string& ifname, uint16_t vlan) {
  return absl::StrCat(ifname, ".", vlan);
}

bool KernelHasL2tpIp() {
  int fd = socket(AF_INET, SOCK_DGRAM, kIpProtoL2tp);  // loads l2tp_ip if it can
  if (fd < 0) {
    return errno != EPROTONOSUPPORT && errno != ESOCKTNOSUPPORT;
  }
  close(fd);
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KernelDataplane>> KernelDataplane::Create(
    const DataplaneOptions& options, base::Duration probe_interval) {
  absl::StatusOr<std::unique_ptr<GenlSocket>> genl = GenlSocket::Open();
  if (!genl.ok()) {
    return genl.status();
  }
  absl::StatusOr<std::unique_ptr<LinkControl>> links = LinkControl::Open();
  if (!links.ok()) {
    return links.status();
  }
  std::unique_ptr<KernelDataplane> dp(
      new KernelDataplane(options, *std::move(genl), *std::move(links), probe_interval));
  dp->stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (dp->stop_fd_ < 0) {
    return absl::InternalError("eventfd failed");
  }
  dp->monitor_ = std::thread([p = dp.get()] { p->MonitorLoop(); });
  return dp;
}

KernelDataplane::KernelDataplane(DataplaneOptions options, std::unique_ptr<GenlSocket> genl,
                                 std::unique_ptr<LinkControl> links, base::Duration probe_interval)
    : options_(std::move(options)),
      probe_interval_(probe_interval),
      genl_(std::move(genl)),
      links_(std::move(links)) {}

KernelDataplane::~KernelDataplane() {
  if (monitor_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    monitor_.join();
  }
  if (stop_fd_ >= 0) {
    close(stop_fd_);
  }
}

Capabilities KernelDataplane::GetCapabilities() const {
  Capabilities caps;
  caps.name = "kernel";
  caps.pw_types = {PwType::kEthernet, PwType::kEthernetVlan};
  caps.encap_udp = true;
  caps.encap_ip = KernelHasL2tpIp();
  caps.ipv6 = true;
  caps.managed_tunnels = true;
  caps.static_tunnels = true;
  caps.control_via_handler = false;  // control messages stay on the agent's socket
  return caps;
}

std::string KernelDataplane::DefaultIfname(uint32_t session_id) const {
  std::string name = absl::StrCat(options_.ifname_prefix, session_id);
  if (name.size() > 15) {
    name = absl::StrFormat("%s%08x", options_.ifname_prefix, session_id);
  }
  return name.substr(0, 15);
}

absl::StatusOr<KernelDataplane::Kernel> KernelDataplane::DumpLocked() const {
  Kernel k;
  absl::Status parse_error;
  absl::Status s = genl_->Query(BuildTunnelGet(genl_->family_id(), std::nullopt), "list tunnels",
                                [&](nlmsghdr* hdr) {
                                  absl::StatusOr<KernelTunnel> t = ParseTunnel(hdr);
                                  if (t.ok()) {
                                    k.tunnels[t->tunnel_id] = *t;
                                  } else {
                                    parse_error = t.status();
                                  }
                                });
  if (!s.ok()) {
    return s;
  }
  s = genl_->Query(BuildSessionGet(genl_->family_id(), std::nullopt, std::nullopt), "list sessions",
                   [&](nlmsghdr* hdr) {
                     absl::StatusOr<KernelSession> ks = ParseSession(hdr);
                     if (ks.ok()) {
                       k.sessions[{ks->tunnel_id, ks->session_id}] = *ks;
                     } else {
                       parse_error = ks.status();
                     }
                   });
  if (!s.ok()) {
    return s;
  }
  if (!parse_error.ok()) {
    return parse_error;
  }
  return k;
}

bool KernelDataplane::OwnsSessionLocked(const KernelSession& s) const {
  // The exact default name (prefix + session id), not just the prefix: a prefix such as
  // "l2tpeth" (how `ip l2tp` names its sessions l2tpeth0, ...) would otherwise claim others'.
  return sessions_.contains({s.tunnel_id, s.session_id}) ||
         (!options_.ifname_prefix.empty() && s.ifname == DefaultIfname(s.session_id));
}

bool KernelDataplane::OwnsTunnelLocked(uint32_t tunnel_id, const Kernel& k) const {
  if (tunnels_.contains(tunnel_id)) {
    return true;
  }
  return std::any_of(k.sessions.begin(), k.sessions.end(), [&](const auto& kv) {
    return kv.first.first == tunnel_id && OwnsSessionLocked(kv.second);
  });
}

absl::StatusOr<TunnelConfig> KernelDataplane::TunnelLocked(uint32_t tunnel_id) const {
  std::optional<KernelTunnel> found;
  absl::Status s = genl_->Query(BuildTunnelGet(genl_->family_id(), tunnel_id),
                                absl::StrCat("get tunnel ", tunnel_id), [&](nlmsghdr* hdr) {
                                  absl::StatusOr<KernelTunnel> t = ParseTunnel(hdr);
                                  if (t.ok()) {
                                    found = *t;
                                  }
                                });
  if (!s.ok()) {
    return s;
  }
  if (!found) {
    return absl::NotFoundError(absl::StrCat("no tunnel ", tunnel_id));
  }
  TunnelConfig c;
  if (auto it = tunnels_.find(tunnel_id); it != tunnels_.end()) {
    c = it->second;
  }
  c.local_tunnel_id = found->tunnel_id;
  c.peer_tunnel_id = found->peer_tunnel_id;
  c.encap = found->encap;
  c.local = found->local;
  c.peer = found->peer;
  if (found->encap == Encap::kUdp) {
    c.local_port = found->local_port;
    c.peer_port = found->peer_port;
  }
  return c;
}

absl::Status KernelDataplane::CreateTunnel(const TunnelConfig& config) {
  std::lock_guard lock(mu_);
  absl::StatusOr<NlMsgPtr> msg = BuildTunnelCreate(genl_->family_id(), config);
  if (!msg.ok()) {
    return msg.status();
  }
  absl::Status s = genl_->Execute(*std::move(msg), config.DebugString());
  if (s.ok()) {
    tunnels_[config.local_tunnel_id] = config;
    return s;
  }
  if (!absl::IsAlreadyExists(s)) {
    return s;
  }
  // Idempotence: the same tunnel may exist already (made by us, maybe before a restart).
  absl::StatusOr<Kernel> k = DumpLocked();
  if (!k.ok()) {
    return k.status();
  }
  auto it = k->tunnels.find(config.local_tunnel_id);
  if (it == k->tunnels.end()) {
    return s;
  }
  auto rec = tunnels_.find(config.local_tunnel_id);
  bool mode_differs = rec != tunnels_.end() && rec->second.mode != config.mode;
  if (!SameTunnel(it->second, config) || mode_differs) {
    return absl::FailedPreconditionError(absl::StrCat(
        "tunnel ", config.local_tunnel_id, " exists with other parameters: ", Describe(it->second),
        " (wanted ", config.DebugString(), ")"));
  }
  if (it->second.proto_version != 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("tunnel ", config.local_tunnel_id, " exists and is not L2TPv3"));
  }
  // Exactly the tunnel asked for: adopt it (systemd-networkd style), e.g. a static tunnel that
  // outlived an agent restart before its sessions were made.
  tunnels_[config.local_tunnel_id] = config;
  return absl::OkStatus();
}

absl::Status KernelDataplane::DeleteTunnel(uint32_t tunnel_id) {
  std::lock_guard lock(mu_);
  absl::StatusOr<Kernel> k = DumpLocked();
  if (!k.ok()) {
    return k.status();
  }
  if (!k->tunnels.contains(tunnel_id)) {
    tunnels_.erase(tunnel_id);
    std::erase_if(sessions_, [&](const auto& kv) { return kv.first.first == tunnel_id; });
    return absl::OkStatus();
  }
  if (!OwnsTunnelLocked(tunnel_id, *k)) {
    return absl::FailedPreconditionError(
        absl::StrCat("tunnel ", tunnel_id, " was not made by this agent; left alone"));
  }
  for (const auto& [key, ks] : k->sessions) {
    if (key.first != tunnel_id) {
      continue;
    }
    if (!OwnsSessionLocked(ks)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tunnel ", tunnel_id, " holds session ", key.second, " that this agent does not own"));
    }
    DeleteLinksLocked(ToConfigLocked(ks));
  }
  // Forget first, so the monitor does not report our own deletion as drift.
  tunnels_.erase(tunnel_id);
  std::erase_if(sessions_, [&](const auto& kv) { return kv.first.first == tunnel_id; });
  absl::Status s = genl_->Execute(BuildTunnelDelete(genl_->family_id(), tunnel_id),
                                  absl::StrCat("delete tunnel ", tunnel_id));
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status KernelDataplane::CreateSession(const SessionConfig& config) {
  // L2TP_ATTR_L2SPEC_TYPE is one value per kernel session, used for what it sends and what
  // it parses: asymmetric sublayers are refused here (the send and receive sequencing flags
  // are separate attributes and may differ).
  if (absl::Status s = CheckSublayers(config, GetCapabilities()); !s.ok()) {
    return s;
  }
  std::lock_guard lock(mu_);
  absl::StatusOr<TunnelConfig> tunnel = TunnelLocked(config.tunnel_id);
  if (!tunnel.ok()) {
    if (absl::IsNotFound(tunnel.status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "session ", config.local_session_id, ": tunnel ", config.tunnel_id, " does not exist"));
    }
    return tunnel.status();
  }
  std::string ifname =
      config.ifname.empty() ? DefaultIfname(config.local_session_id) : config.ifname;
  if (config.pw_type == PwType::kEthernetVlan &&
      (config.vlan_id == 0 || config.vlan_id > 4094 ||
       VlanDeviceName(ifname, config.vlan_id).size() > 15)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Ethernet VLAN session ", config.local_session_id, ": VLAN ", config.vlan_id,
        " must be 1-4094 and '", VlanDeviceName(ifname, config.vlan_id), "' at most 15 chars"));
  }
  absl::StatusOr<NlMsgPtr> msg = BuildSessionCreate(genl_->family_id(), config, ifname);
  if (!msg.ok()) {
    return msg.status();
  }
  absl::Status s = genl_->Execute(*std::move(msg), config.DebugString());
  if (absl::IsAlreadyExists(s)) {
    return AdoptExistingSessionLocked(config, ifname);
  }
  if (!s.ok()) {
    return s;
  }
  int mtu = 0;
  s = ApplyLinksLocked(config, *tunnel, ifname, &mtu);
  if (!s.ok()) {  // leave nothing half-made behind
    SessionConfig made = config;
    made.ifname = ifname;
    DeleteLinksLocked(made);
    (void)genl_->Execute(
        BuildSessionDelete(genl_->family_id(), config.tunnel_id, config.local_session_id),
        "roll back session");
    return s;
  }
  SessionConfig applied = config;
  applied.ifname = ifname;
  applied.mtu = mtu;
  sessions_[{config.tunnel_id, config.local_session_id}] = applied;
  return absl::OkStatus();
}

absl::Status KernelDataplane::AdoptExistingSessionLocked(const SessionConfig& config,
                                                         const std::string& ifname) {
  std::optional<KernelSession> found;
  absl::Status s =
      genl_->Query(BuildSessionGet(genl_->family_id(), config.tunnel_id, config.local_session_id),
                   "get session", [&](nlmsghdr* hdr) {
                     absl::StatusOr<KernelSession> ks = ParseSession(hdr);
                     if (ks.ok()) {
                       found = *ks;
                     }
                   });
  if (!found) {
    return absl::AlreadyExistsError(absl::StrCat("session ", config.local_session_id,
                                                 ": the session id is in use in another tunnel, or "
                                                 "the interface name '",
                                                 ifname, "' is taken"));
  }
  if (!SameSession(*found, config, ifname)) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", config.tunnel_id, "/", config.local_session_id,
                     " exists with other parameters (wanted ", config.DebugString(), ")"));
  }
  absl::StatusOr<TunnelConfig> tunnel = TunnelLocked(config.tunnel_id);
  if (!tunnel.ok()) {
    return tunnel.status();
  }
  int mtu = 0;
  s = ApplyLinksLocked(config, *tunnel, ifname, &mtu);  // idempotent
  if (!s.ok()) {
    return s;
  }
  SessionConfig applied = config;
  applied.ifname = ifname;
  applied.mtu = mtu;
  sessions_[{config.tunnel_id, config.local_session_id}] = applied;
  return absl::OkStatus();
}

absl::Status KernelDataplane::ApplyLinksLocked(const SessionConfig& config,
                                               const TunnelConfig& tunnel,
                                               const std::string& ifname, int* mtu_out) {
  int mtu = config.mtu;
  if (mtu == 0) {
    // RFC 3931 §4.1.4: size the session interface so that no frame needs fragmenting.
    absl::StatusOr<int> path = links_->PathMtu(tunnel.peer);
    mtu =
        ComputeSessionMtu(path.ok() ? *path : kDefaultUnderlayMtu, tunnel.encap, tunnel.peer.family,
                          config.peer_cookie.size(), config.tx_sublayer, config.pw_type);
  }
  *mtu_out = mtu;
  std::string customer = ifname;  // the interface facing the customer
  bool vlan = config.pw_type == PwType::kEthernetVlan;
  // The session interface carries the customer's VLAN tag inside its own payload.
  if (absl::Status s = links_->SetMtuAndUp(ifname, vlan ? mtu + 4 : mtu); !s.ok()) {
    return s;
  }
  if (vlan) {
    customer = VlanDeviceName(ifname, config.vlan_id);
    if (absl::Status s = links_->EnsureVlan(ifname, customer, config.vlan_id); !s.ok()) {
      return s;
    }
    if (absl::Status s = links_->SetMtuAndUp(customer, mtu); !s.ok()) {
      return s;
    }
  }
  switch (config.attach.kind) {
    case Attachment::Kind::kNone:
      return absl::OkStatus();
    case Attachment::Kind::kBridge:
      return links_->SetMaster(customer, config.attach.name);
    case Attachment::Kind::kInterface: {
      std::string bridge = InterfaceBridgeName(ifname);
      if (absl::Status s = links_->EnsureBridge(bridge); !s.ok()) {
        return s;
      }
      if (absl::Status s = links_->SetMaster(customer, bridge); !s.ok()) {
        return s;
      }
      if (absl::Status s = links_->SetMaster(config.attach.name, bridge); !s.ok()) {
        return s;
      }
      return links_->SetMtuAndUp(config.attach.name, 0);
    }
  }
  return absl::OkStatus();
}

void KernelDataplane::DeleteLinksLocked(const SessionConfig& config) {
  // The VLAN device goes with the session interface; the bridge made for an attached
  // interface is ours alone.
  if (config.attach.kind == Attachment::Kind::kInterface && !config.ifname.empty()) {
    (void)links_->Delete(InterfaceBridgeName(config.ifname));
  }
}

absl::Status KernelDataplane::DeleteSession(uint32_t tunnel_id, uint32_t session_id) {
  std::lock_guard lock(mu_);
  std::optional<KernelSession> found;
  absl::Status s = genl_->Query(BuildSessionGet(genl_->family_id(), tunnel_id, session_id),
                                "get session", [&](nlmsghdr* hdr) {
                                  absl::StatusOr<KernelSession> ks = ParseSession(hdr);
                                  if (ks.ok()) {
                                    found = *ks;
                                  }
                                });
  if (!s.ok() && !absl::IsNotFound(s)) {
    return s;
  }
  if (!found) {
    sessions_.erase({tunnel_id, session_id});
    return absl::OkStatus();
  }
  if (!OwnsSessionLocked(*found)) {
    return absl::FailedPreconditionError(absl::StrCat("session ", tunnel_id, "/", session_id,
                                                      " was not made by this agent; left alone"));
  }
  DeleteLinksLocked(ToConfigLocked(*found));
  sessions_.erase({tunnel_id, session_id});
  s = genl_->Execute(BuildSessionDelete(genl_->family_id(), tunnel_id, session_id),
                     absl::StrCat("delete session ", tunnel_id, "/", session_id));
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

SessionConfig KernelDataplane::ToConfigLocked(const KernelSession& s) const {
  if (auto it = sessions_.find({s.tunnel_id, s.session_id}); it != sessions_.end()) {
    return it->second;
  }
  // Adopted after a restart: what the kernel and rtnetlink tell.
  SessionConfig c;
  c.tunnel_id = s.tunnel_id;
  c.local_session_id = s.session_id;
  c.peer_session_id = s.peer_session_id;
  c.pw_type = PwType::kEthernet;
  c.cookie = s.cookie;
  c.peer_cookie = s.peer_cookie;
  // One value for both directions; the kernel's default for L2TPv3 when not reported.
  c.tx_sublayer = c.rx_sublayer = s.sublayer.value_or(Sublayer::kDefault);
  c.send_seq = s.send_seq;
  c.recv_seq = s.recv_seq;
  c.reorder_timeout = std::chrono::milliseconds(s.reorder_timeout_ms);
  c.ifname = s.ifname;
  if (absl::StatusOr<LinkInfo> link = links_->Get(s.ifname); link.ok()) {
    c.mtu = link->mtu;
    if (link->master_ifindex != 0) {
      if (absl::StatusOr<LinkInfo> m = links_->Get(link->master_ifindex); m.ok()) {
        c.attach.kind = Attachment::Kind::kBridge;
        c.attach.name = m->name;
      }
    }
  }
  return c;
}

absl::StatusOr<Snapshot> KernelDataplane::List() const {
  std::lock_guard lock(mu_);
  absl::StatusOr<Kernel> k = DumpLocked();
  if (!k.ok()) {
    return k.status();
  }
  Snapshot snap;
  for (const auto& [id, kt] : k->tunnels) {
    if (!OwnsTunnelLocked(id, *k)) {
      continue;
    }
    TunnelConfig c;
    if (auto it = tunnels_.find(id); it != tunnels_.end()) {
      c = it->second;
    }
    c.local_tunnel_id = id;
    c.peer_tunnel_id = kt.peer_tunnel_id;
    c.encap = kt.encap;
    c.local = kt.local;
    c.peer = kt.peer;
    if (kt.encap == Encap::kUdp) {
      c.local_port = kt.local_port;
      c.peer_port = kt.peer_port;
    }
    snap.tunnels.push_back(c);
  }
  for (const auto& [key, ks] : k->sessions) {
    if (OwnsSessionLocked(ks)) {
      snap.sessions.push_back(ToConfigLocked(ks));
    }
  }
  return snap;
}

absl::StatusOr<Stats> KernelDataplane::SessionStats(uint32_t tunnel_id, uint32_t session_id) const {
  std::lock_guard lock(mu_);
  std::optional<KernelSession> found;
  absl::Status s = genl_->Query(BuildSessionGet(genl_->family_id(), tunnel_id, session_id),
                                absl::StrCat("stats of session ", tunnel_id, "/", session_id),
                                [&](nlmsghdr* hdr) {
                                  absl::StatusOr<KernelSession> ks = ParseSession(hdr);
                                  if (ks.ok()) {
                                    found = *ks;
                                  }
                                });
  if (!s.ok()) {
    return s;
  }
  if (!found) {
    return absl::NotFoundError(absl::StrCat("no session ", tunnel_id, "/", session_id));
  }
  return found->stats;
}

Stats KernelDataplane::GlobalStats() const {
  // The kernel counts malformed packets per tunnel, not per session.
  std::lock_guard lock(mu_);
  Stats total;
  absl::StatusOr<Kernel> k = DumpLocked();
  if (!k.ok()) {
    return total;
  }
  for (const auto& [id, kt] : k->tunnels) {
    if (OwnsTunnelLocked(id, *k)) {
      total.rx_malformed += kt.stats.rx_malformed;
    }
  }
  return total;
}

void KernelDataplane::SetEventHandler(EventHandler handler) {
  std::lock_guard lock(handler_mu_);
  event_handler_ = std::move(handler);
}

void KernelDataplane::SetControlPacketHandler(ControlPacketHandler) {
  // Control messages stay on the agent's own socket (Capabilities::control_via_handler).
}

}  // namespace pwire::dataplane::kernel
