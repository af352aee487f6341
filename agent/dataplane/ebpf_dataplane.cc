// The eBPF data plane's control side: tunnels (underlay hooks and endpoints), sessions (veth
// pairs and map entries), link events. See ebpf_dataplane.h.
#include "agent/dataplane/ebpf_dataplane.h"

#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "agent/dataplane/ebpf_kernel.h"
#include "agent/dataplane/ebpf_maps.h"
#include "agent/dataplane/userspace_link.h"

namespace pwire::dataplane {
namespace {

constexpr char kHiddenPrefix[] = "pwx";  // the session veth's hidden end

using EndpointKey = std::tuple<std::array<uint8_t, 16>, uint16_t, bool>;

EndpointKey KeyOf(const TunnelConfig& t) { return {t.local.bytes, t.local_port, t.local.is_v6()}; }

class EbpfDataplane final : public Dataplane {
 public:
  EbpfDataplane(const DataplaneOptions& options, std::unique_ptr<LinkControl> link,
                std::unique_ptr<EbpfPrograms> progs)
      : options_(options), link_(std::move(link)), progs_(std::move(progs)) {}
  ~EbpfDataplane() override;

  absl::Status Start();
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

 private:
  using Key = std::pair<uint32_t, uint32_t>;
  struct Tunnel {
    TunnelConfig config;
    EbpfUnderlay underlay;
  };
  struct Session {
    SessionConfig config;
    std::string hidden;  // the veth end the programs use
    int att_ifindex = 0;
    int ifindex = 0;  // of the session interface, so that only ours is deleted by name
    std::string vlan_made;
    std::string bridge_made;
  };
  struct Hook {
    int users = 0;
    bool created_qdisc = false;
  };

  absl::Status UseUnderlay(const TunnelConfig& config, const EbpfUnderlay& ul);
  void ReleaseUnderlay(const TunnelConfig& config, const EbpfUnderlay& ul);
  absl::Status CheckNewSession(const SessionConfig& config, const std::string& ifname) const;
  absl::Status MakeDevices(Session& s, const Tunnel& t);
  absl::Status SetUpLinks(Session& s);
  void RemoveSessionLocked(const Key& key);
  void OnLinkChange(int ifindex, bool up, bool deleted);

  DataplaneOptions options_;
  std::unique_ptr<LinkControl> link_;
  std::unique_ptr<EbpfPrograms> progs_;
  mutable std::mutex mu_;
  std::map<uint32_t, Tunnel> tunnels_;
  std::map<Key, Session> sessions_;
  std::map<int, Hook> underlay_hooks_;         // by underlay ifindex
  std::map<EndpointKey, int> endpoint_users_;  // tunnels per local endpoint

  struct Watch {
    uint32_t tunnel_id;
    uint32_t session_id;
    bool up;
  };
  std::mutex handler_mu_;
  EventHandler event_handler_;
  ControlPacketHandler control_handler_;  // unused: control messages stay on the socket
  std::map<int, Watch> watch_;            // under handler_mu_
  std::unique_ptr<LinkMonitor> monitor_;  // last: stops before the rest goes
};

absl::Status EbpfDataplane::Start() {
  auto monitor = LinkMonitor::Start(
      [this](int ifindex, bool up, bool deleted) { OnLinkChange(ifindex, up, deleted); });
  if (!monitor.ok()) {
    return monitor.status();
  }
  monitor_ = *std::move(monitor);
  return absl::OkStatus();
}

EbpfDataplane::~EbpfDataplane() {
  monitor_.reset();
  std::lock_guard lock(mu_);
  while (!sessions_.empty()) {
    RemoveSessionLocked(sessions_.begin()->first);
  }
  for (const auto& [id, t] : tunnels_) {
    ReleaseUnderlay(t.config, t.underlay);
  }
  tunnels_.clear();
}

void EbpfDataplane::OnLinkChange(int ifindex, bool up, bool deleted) {
  Event e;
  EventHandler handler;
  {
    std::lock_guard lock(handler_mu_);
    auto it = watch_.find(ifindex);
    if (it == watch_.end() || (!deleted && it->second.up == up)) {
      return;
    }
    e.tunnel_id = it->second.tunnel_id;
    e.session_id = it->second.session_id;
    if (deleted) {
      e.kind = Event::Kind::kDrift;
      e.detail = "session interface deleted by someone else";
      watch_.erase(it);
    } else {
      e.kind = up ? Event::Kind::kLinkUp : Event::Kind::kLinkDown;
      e.detail = up ? "session interface up" : "session interface down";
      it->second.up = up;
    }
    handler = event_handler_;
  }
  if (handler) {
    handler(e);
  }
}

Capabilities EbpfDataplane::GetCapabilities() const {
  Capabilities c;
  c.name = "ebpf";
  c.pw_types = {PwType::kEthernet, PwType::kEthernetVlan};
  c.encap_udp = true;
  c.encap_ip = false;  // see EbpfCarries
  c.ipv6 = true;
  c.managed_tunnels = c.static_tunnels = true;
  c.control_via_handler = false;  // control messages pass to the stack, i.e. the agent's socket
  c.asymmetric_sublayer = true;   // PW_F_TX_SUBLAYER and PW_F_RX_SUBLAYER apart
  return c;
}

absl::Status EbpfDataplane::UseUnderlay(const TunnelConfig& config, const EbpfUnderlay& ul) {
  Hook& hook = underlay_hooks_[ul.ifindex];
  if (hook.users == 0) {
    if (absl::Status s = progs_->AttachDecap(ul.ifindex, &hook.created_qdisc); !s.ok()) {
      underlay_hooks_.erase(ul.ifindex);
      return s;
    }
  }
  ++hook.users;
  if (endpoint_users_[KeyOf(config)]++ == 0) {
    if (absl::Status s = progs_->PutEndpoint(BuildEndpoint(config)); !s.ok()) {
      ReleaseUnderlay(config, ul);
      return s;
    }
  }
  return absl::OkStatus();
}

void EbpfDataplane::ReleaseUnderlay(const TunnelConfig& config, const EbpfUnderlay& ul) {
  if (auto e = endpoint_users_.find(KeyOf(config));
      e != endpoint_users_.end() && --e->second <= 0) {
    progs_->RemoveEndpoint(BuildEndpoint(config));
    endpoint_users_.erase(e);
  }
  if (auto h = underlay_hooks_.find(ul.ifindex);
      h != underlay_hooks_.end() && --h->second.users <= 0) {
    progs_->Detach(ul.ifindex, h->second.created_qdisc);
    underlay_hooks_.erase(h);
  }
}

absl::Status EbpfDataplane::CreateTunnel(const TunnelConfig& config) {
  if (config.encap != Encap::kUdp) {
    return absl::UnimplementedError(
        "encap: L2TPv3 over IP is not carried by the eBPF data plane; use the userspace one");
  }
  if (config.local.empty() || config.local.family != config.peer.family) {
    return absl::InvalidArgumentError("local, peer: addresses of one family are needed");
  }
  if (config.mode == TunnelMode::kManaged && config.fd < 0) {
    return absl::InvalidArgumentError("fd: a managed tunnel needs the agent's socket");
  }
  std::lock_guard lock(mu_);
  if (auto it = tunnels_.find(config.local_tunnel_id); it != tunnels_.end()) {
    if (it->second.config.SameAs(config)) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("tunnel ", config.local_tunnel_id,
                     " exists with other parameters: ", it->second.config.DebugString()));
  }
  auto ul = FindUnderlay(config.local);
  if (!ul.ok()) {
    return ul.status();
  }
  if (absl::Status s = UseUnderlay(config, *ul); !s.ok()) {
    return s;
  }
  tunnels_.emplace(config.local_tunnel_id, Tunnel{config, *ul});
  return absl::OkStatus();
}

absl::Status EbpfDataplane::DeleteTunnel(uint32_t tunnel_id) {
  std::lock_guard lock(mu_);
  auto it = tunnels_.find(tunnel_id);
  if (it == tunnels_.end()) {
    return absl::OkStatus();
  }
  std::vector<Key> keys;
  for (const auto& [key, s] : sessions_) {
    if (key.first == tunnel_id) {
      keys.push_back(key);
    }
  }
  for (const Key& k : keys) {
    RemoveSessionLocked(k);
  }
  ReleaseUnderlay(it->second.config, it->second.underlay);
  tunnels_.erase(it);
  return absl::OkStatus();
}

// A session interface left by an earlier run of this data plane (killed before it could clean
// up) is a veth whose peer is a hidden end of ours ("pwx<session id>", the id of that run's
// session): the pair goes, and the session is made anew. (Adopting it without a break in
// forwarding needs pinned maps: not done yet.)
void RemoveStalePair(LinkControl& link, const std::string& ifname) {
  std::ifstream iflink(absl::StrCat("/sys/class/net/", ifname, "/iflink"));
  unsigned peer = 0;
  char name[IF_NAMESIZE] = {};
  if (iflink >> peer && peer != 0 && if_indextoname(peer, name) != nullptr &&
      std::string_view(name).starts_with(kHiddenPrefix) && if_nametoindex(ifname.c_str()) != peer) {
    (void)link.DeleteLink(ifname);
  }
}

absl::Status EbpfDataplane::CheckNewSession(const SessionConfig& config,
                                            const std::string& ifname) const {
  // The data header has no tunnel id (RFC 3931 §4.1.2.1): one session id, one session.
  for (const auto& [k, s] : sessions_) {
    if (k.second == config.local_session_id) {
      return absl::AlreadyExistsError(absl::StrCat("local_session_id: ", config.local_session_id,
                                                   " is taken by tunnel ", k.first));
    }
  }
  if (ifname.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("ifname: '", ifname, "' is too long"));
  }
  if (link_->Exists(ifname)) {
    return absl::AlreadyExistsError(absl::StrCat("ifname: interface ", ifname, " is taken"));
  }
  return absl::OkStatus();
}

// The veth pair, the maps and the encapsulation hook of session `s`.
absl::Status EbpfDataplane::MakeDevices(Session& s, const Tunnel& t) {
  const SessionConfig& c = s.config;
  if (absl::Status st = link_->CreateVethPair(c.ifname, s.hidden); !st.ok()) {
    return st;
  }
  // The hidden end only carries frames between the programs and the session interface: no
  // addresses, no IPv6 router solicitations of its own.
  std::ofstream(absl::StrCat("/proc/sys/net/ipv6/conf/", s.hidden, "/disable_ipv6")) << "1\n";
  s.att_ifindex = static_cast<int>(if_nametoindex(s.hidden.c_str()));
  s.ifindex = static_cast<int>(if_nametoindex(c.ifname.c_str()));
  auto value = BuildSessionValue(t.config, c, t.underlay, s.att_ifindex);
  if (!value.ok()) {
    return value.status();
  }
  bool created = false;
  if (absl::Status st = progs_->AttachEncap(s.att_ifindex, &created); !st.ok()) {
    return st;
  }
  if (absl::Status st = progs_->PutSession(c.local_session_id, *value, s.att_ifindex); !st.ok()) {
    return st;
  }
  if (absl::Status st = link_->SetMtuAndUp(s.hidden, c.mtu); !st.ok()) {
    return st;
  }
  return SetUpLinks(s);
}

// The session interface's MTU, VLAN device and bridge (SetUpSessionLinks, shared with userspace).
absl::Status EbpfDataplane::SetUpLinks(Session& s) {
  return SetUpSessionLinks(*link_, s.config, s.vlan_made, s.bridge_made);
}

absl::Status EbpfDataplane::CreateSession(const SessionConfig& config) {
  std::lock_guard lock(mu_);
  auto tunnel = tunnels_.find(config.tunnel_id);
  if (tunnel == tunnels_.end()) {
    return absl::NotFoundError(absl::StrCat("tunnel_id: no tunnel ", config.tunnel_id));
  }
  if (absl::Status s = EbpfCarries(tunnel->second.config, config); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSublayers(config, GetCapabilities()); !s.ok()) {
    return s;
  }
  Key key{config.tunnel_id, config.local_session_id};
  if (auto it = sessions_.find(key); it != sessions_.end()) {
    if (it->second.config.SameAs(config)) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("session exists with other parameters: ", it->second.config.DebugString()));
  }
  Session s;
  s.config = config;
  if (s.config.ifname.empty()) {
    s.config.ifname = absl::StrCat(options_.ifname_prefix, config.local_session_id);
  }
  s.hidden = absl::StrCat(kHiddenPrefix, config.local_session_id);
  bool live = std::any_of(sessions_.begin(), sessions_.end(), [&](const auto& kv) {
    return kv.second.config.ifname == s.config.ifname;
  });
  if (!live) {
    RemoveStalePair(*link_, s.config.ifname);
  }
  if (absl::Status st = CheckNewSession(config, s.config.ifname); !st.ok()) {
    return st;
  }
  const EbpfUnderlay& ul = tunnel->second.underlay;
  if (s.config.mtu == 0) {
    s.config.mtu = ComputeSessionMtu(ul.mtu, Encap::kUdp, tunnel->second.config.local.family,
                                     config.peer_cookie.size(), config.tx_sublayer, config.pw_type);
  }
  absl::Status made = MakeDevices(s, tunnel->second);
  sessions_.emplace(key, s);
  if (!made.ok()) {
    RemoveSessionLocked(key);
    return made;
  }
  if (int ifindex = static_cast<int>(if_nametoindex(s.config.ifname.c_str())); ifindex != 0) {
    std::lock_guard hlock(handler_mu_);
    watch_[ifindex] = Watch{config.tunnel_id, config.local_session_id, true};
  }
  return absl::OkStatus();
}

void EbpfDataplane::RemoveSessionLocked(const Key& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    return;
  }
  Session& s = it->second;
  {
    std::lock_guard hlock(handler_mu_);
    std::erase_if(watch_, [&](const auto& kv) {
      return kv.second.tunnel_id == key.first && kv.second.session_id == key.second;
    });
  }
  progs_->RemoveSession(key.second, s.att_ifindex);
  for (const std::string& name : {s.vlan_made, s.bridge_made}) {
    if (!name.empty()) {
      (void)link_->DeleteLink(name);
    }
  }
  // The veth pair goes with its visible end, unless that name is someone else's by now.
  if (s.ifindex != 0 && static_cast<int>(if_nametoindex(s.config.ifname.c_str())) == s.ifindex) {
    (void)link_->DeleteLink(s.config.ifname);
  }
  sessions_.erase(it);
}

absl::Status EbpfDataplane::DeleteSession(uint32_t tunnel_id, uint32_t session_id) {
  std::lock_guard lock(mu_);
  RemoveSessionLocked({tunnel_id, session_id});
  return absl::OkStatus();
}

absl::StatusOr<Snapshot> EbpfDataplane::List() const {
  std::lock_guard lock(mu_);
  Snapshot snap;
  for (const auto& [id, t] : tunnels_) {
    snap.tunnels.push_back(t.config);
  }
  for (const auto& [key, s] : sessions_) {
    snap.sessions.push_back(s.config);
  }
  return snap;
}

absl::StatusOr<Stats> EbpfDataplane::SessionStats(uint32_t tunnel_id, uint32_t session_id) const {
  std::lock_guard lock(mu_);
  if (sessions_.find({tunnel_id, session_id}) == sessions_.end()) {
    return absl::NotFoundError(absl::StrCat("no session ", tunnel_id, "/", session_id));
  }
  auto per_cpu = progs_->ReadCounters(session_id);
  if (!per_cpu.ok()) {
    return per_cpu.status();
  }
  return SumCounters(*per_cpu);
}

Stats EbpfDataplane::GlobalStats() const {
  std::lock_guard lock(mu_);
  return SumGlobal(progs_->ReadGlobal());
}

void EbpfDataplane::SetEventHandler(EventHandler handler) {
  std::lock_guard lock(handler_mu_);
  event_handler_ = std::move(handler);
}

void EbpfDataplane::SetControlPacketHandler(ControlPacketHandler handler) {
  std::lock_guard lock(handler_mu_);
  control_handler_ = std::move(handler);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dataplane>> NewEbpfDataplane(const DataplaneOptions& options) {
  auto progs = EbpfPrograms::Load();
  if (!progs.ok()) {
    return progs.status();
  }
  auto link = LinkControl::Open();
  if (!link.ok()) {
    return link.status();
  }
  auto dp = std::make_unique<EbpfDataplane>(options, *std::move(link), *std::move(progs));
  if (absl::Status s = dp->Start(); !s.ok()) {
    return s;
  }
  return dp;
}

}  // namespace pwire::dataplane
