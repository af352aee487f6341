// The userspace data plane's control side: tunnels (sockets), sessions (TAP devices), workers.
// See userspace_dataplane.h and userspace_worker.h.
#include "agent/dataplane/userspace_dataplane.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/dataplane/userspace_link.h"
#include "agent/dataplane/userspace_worker.h"

#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace pwire::dataplane {
namespace {

constexpr int kIpProtoL2tp = 115;  // RFC 3931 §4.1.1
constexpr int kSocketBuffer = 4 << 20;

socklen_t ToSockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& out) {
  out = sockaddr_storage{};
  if (a.is_v4()) {
    auto& s = reinterpret_cast<sockaddr_in&>(out);
    s.sin_family = AF_INET;
    s.sin_port = htons(port);
    std::memcpy(&s.sin_addr, a.bytes.data(), 4);
    return sizeof s;
  }
  auto& s = reinterpret_cast<sockaddr_in6&>(out);
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(port);
  std::memcpy(&s.sin6_addr, a.bytes.data(), 16);
  return sizeof s;
}

absl::Status SysError(const std::string& what) {
  int e = errno;
  std::string msg = absl::StrCat(what, ": ", std::strerror(e));
  if (e == EPERM || e == EACCES) {
    return absl::PermissionDeniedError(absl::StrCat(msg, " (needs CAP_NET_RAW/CAP_NET_ADMIN)"));
  }
  if (e == EADDRINUSE) {
    return absl::AlreadyExistsError(msg);
  }
  if (e == EADDRNOTAVAIL) {
    return absl::InvalidArgumentError(msg);
  }
  return absl::InternalError(msg);
}

int PathMtu(const Transport& t) {
  int mtu = 0;
  socklen_t len = sizeof mtu;
  int level = t.v6 ? IPPROTO_IPV6 : IPPROTO_IP;
  int opt = t.v6 ? IPV6_MTU : IP_MTU;
  if (getsockopt(t.fd, level, opt, &mtu, &len) < 0 || mtu < 576) {
    return 1500;  // not connected (a managed socket): assume Ethernet
  }
  return mtu;
}

bool SameTransport(const TunnelConfig& a, const TunnelConfig& b) {
  if (a.mode == TunnelMode::kManaged || b.mode == TunnelMode::kManaged) {
    return a.mode == b.mode && a.fd == b.fd;
  }
  return a.encap == b.encap && a.local == b.local && a.peer == b.peer &&
         (a.encap == Encap::kIp || (a.local_port == b.local_port && a.peer_port == b.peer_port));
}

class UserspaceDataplane final : public Dataplane {
 public:
  UserspaceDataplane(const DataplaneOptions& options, std::unique_ptr<LinkControl> link)
      : options_(options), link_(std::move(link)), hooks_(std::make_shared<Hooks>()) {}
  ~UserspaceDataplane() override;

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
  struct TunnelEntry {
    TunnelConfig config;
    std::shared_ptr<Transport> transport;
  };
  using Key = std::pair<uint32_t, uint32_t>;

  absl::StatusOr<std::shared_ptr<Transport>> OpenTransport(const TunnelConfig& c);
  void ReleaseTransport(const std::shared_ptr<Transport>& t);
  absl::Status SetUpLinks(Session& s);
  void RemoveSessionLocked(const Key& key);
  int workers() const { return static_cast<int>(workers_.size()); }

  DataplaneOptions options_;
  std::unique_ptr<LinkControl> link_;
  std::shared_ptr<Hooks> hooks_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mu_;
  std::map<uint32_t, TunnelEntry> tunnels_;
  std::map<Key, std::shared_ptr<Session>> sessions_;
  Stats retired_;  // traffic of no session, on transports since closed
  int next_rx_worker_ = 0;
  // Session interfaces watched for link state and deletion by someone else.
  struct Watch {
    uint32_t tunnel_id;
    uint32_t session_id;
    bool up;
  };
  void OnLinkChange(int ifindex, bool up, bool deleted);
  std::mutex watch_mu_;
  std::map<int, Watch> watch_;
  std::unique_ptr<LinkMonitor> monitor_;  // last: stops before the rest goes
};

void UserspaceDataplane::OnLinkChange(int ifindex, bool up, bool deleted) {
  Event e;
  {
    std::lock_guard lock(watch_mu_);
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
  }
  EventHandler handler;
  {
    std::lock_guard lock(hooks_->mu);
    handler = hooks_->event;
  }
  if (handler) {
    handler(e);
  }
}

absl::Status UserspaceDataplane::Start() {
  auto monitor = LinkMonitor::Start(
      [this](int ifindex, bool up, bool deleted) { OnLinkChange(ifindex, up, deleted); });
  if (!monitor.ok()) {
    return monitor.status();
  }
  monitor_ = *std::move(monitor);
  int n = options_.workers > 0
              ? options_.workers
              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, hooks_));
    if (absl::Status s = workers_.back()->Start(); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

UserspaceDataplane::~UserspaceDataplane() {
  monitor_.reset();
  for (auto& w : workers_) {
    w->Stop();
  }
  std::lock_guard lock(mu_);
  for (auto& [key, s] : sessions_) {
    if (!s->vlan_made.empty()) {
      (void)link_->DeleteLink(s->vlan_made);
    }
    if (!s->bridge_made.empty()) {
      (void)link_->DeleteLink(s->bridge_made);
    }
  }
  sessions_.clear();
  for (auto& [id, e] : tunnels_) {
    e.transport->sessions.clear();  // breaks the transport -> session -> transport cycle
  }
  tunnels_.clear();
}

Capabilities UserspaceDataplane::GetCapabilities() const {
  Capabilities c;
  c.name = "userspace";
  c.pw_types = {PwType::kEthernet, PwType::kEthernetVlan};
  c.encap_udp = c.encap_ip = c.ipv6 = true;
  c.managed_tunnels = c.static_tunnels = true;
  c.control_via_handler = true;
  c.asymmetric_sublayer = true;  // one header shape per direction
  return c;
}

absl::StatusOr<std::shared_ptr<Transport>> UserspaceDataplane::OpenTransport(
    const TunnelConfig& c) {
  auto t = std::make_shared<Transport>();
  t->encap = c.encap;
  t->v6 = c.local.is_v6();
  t->tunnel_id = c.local_tunnel_id;
  t->counters = std::make_unique<CounterSlot[]>(static_cast<size_t>(workers()));
  t->peer_len = ToSockaddr(c.peer, c.encap == Encap::kUdp ? c.peer_port : 0, t->peer);
  int one = 1;
  if (c.mode == TunnelMode::kManaged) {
    t->fd = c.fd;
    t->owned = false;
    t->managed = true;
  } else {
    int family = t->v6 ? AF_INET6 : AF_INET;
    int fd = c.encap == Encap::kUdp ? socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)
                                    : socket(family, SOCK_RAW | SOCK_CLOEXEC, kIpProtoL2tp);
    if (fd < 0) {
      return SysError("opening the tunnel socket");
    }
    t->fd = fd;  // closed by ~Transport from here on
    sockaddr_storage local;
    socklen_t local_len = ToSockaddr(c.local, c.encap == Encap::kUdp ? c.local_port : 0, local);
    if (c.encap == Encap::kUdp) {
      // Share the port with an agent socket listening for control connections (which must
      // set SO_REUSEADDR too); our connected socket gets the peer's datagrams.
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kSocketBuffer, sizeof kSocketBuffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kSocketBuffer, sizeof kSocketBuffer);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), local_len) < 0) {
      return SysError(absl::StrCat("binding ", c.local.ToString(), " port ", c.local_port));
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&t->peer), t->peer_len) < 0) {
      return SysError(absl::StrCat("connecting to ", c.peer.ToString()));
    }
  }
  if (c.encap == Encap::kUdp) {
    setsockopt(t->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one);  // best effort
    int no_check_rx = 1;
    socklen_t len = sizeof no_check_rx;
    t->outer_checksum_verified =
        t->v6 && getsockopt(t->fd, IPPROTO_UDP, UDP_NO_CHECK6_RX, &no_check_rx, &len) == 0 &&
        no_check_rx == 0;
  }
  t->rx_worker = next_rx_worker_++ % workers();
  absl::Status added;
  workers_[static_cast<size_t>(t->rx_worker)]->Run([&](Worker& w) { added = w.AddTransport(t); });
  if (!added.ok()) {
    return added;
  }
  return t;
}

void UserspaceDataplane::ReleaseTransport(const std::shared_ptr<Transport>& t) {
  for (const auto& [id, e] : tunnels_) {
    if (e.transport == t) {
      return;  // still used by another tunnel
    }
  }
  workers_[static_cast<size_t>(t->rx_worker)]->Run([&](Worker& w) {
    w.Remove(t->fd);
    t->sessions.clear();
  });
  if (t->managed && t->encap == Encap::kUdp) {
    int zero = 0;  // give the agent its socket back as it was: one message per read
    setsockopt(t->fd, IPPROTO_UDP, UDP_GRO, &zero, sizeof zero);
  }
  for (int i = 0; i < workers(); ++i) {
    t->counters[static_cast<size_t>(i)].AddTo(retired_);
  }
}

absl::Status UserspaceDataplane::CreateTunnel(const TunnelConfig& config) {
  if (config.local.empty() || config.local.family != config.peer.family) {
    return absl::InvalidArgumentError("tunnel local and peer addresses must be of one family");
  }
  if (config.mode == TunnelMode::kManaged && config.fd < 0) {
    return absl::InvalidArgumentError("a managed tunnel needs the agent's socket (fd)");
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
  std::shared_ptr<Transport> transport;
  for (const auto& [id, e] : tunnels_) {
    if (SameTransport(e.config, config)) {
      transport = e.transport;
    }
  }
  if (!transport) {
    auto opened = OpenTransport(config);
    if (!opened.ok()) {
      return opened.status();
    }
    transport = *std::move(opened);
  }
  transport->SetTunnel(config.local_tunnel_id, true);
  tunnels_.emplace(config.local_tunnel_id, TunnelEntry{config, transport});
  return absl::OkStatus();
}

absl::Status UserspaceDataplane::DeleteTunnel(uint32_t tunnel_id) {
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
  std::shared_ptr<Transport> t = it->second.transport;
  t->SetTunnel(tunnel_id, false);
  tunnels_.erase(it);
  ReleaseTransport(t);
  return absl::OkStatus();
}

absl::Status UserspaceDataplane::SetUpLinks(Session& s) {
  return SetUpSessionLinks(*link_, s.config, s.vlan_made, s.bridge_made);
}

absl::Status UserspaceDataplane::CreateSession(const SessionConfig& config) {
  for (const auto* cookie : {&config.cookie, &config.peer_cookie}) {
    if (cookie->size() != 0 && cookie->size() != 4 && cookie->size() != 8) {
      return absl::InvalidArgumentError("cookies are 0, 4 or 8 bytes (RFC 3931 §4.1)");
    }
  }
  if (absl::Status s = CheckSublayers(config, GetCapabilities()); !s.ok()) {
    return s;
  }
  if (config.pw_type != PwType::kEthernet && config.pw_type != PwType::kEthernetVlan) {
    return absl::UnimplementedError(absl::StrCat("pseudowire type ",
                                                 static_cast<unsigned>(config.pw_type),
                                                 " is not carried by the userspace data plane"));
  }
  if (config.local_session_id == 0) {
    return absl::InvalidArgumentError("session id 0 is reserved (RFC 3931 §4.1)");
  }
  std::lock_guard lock(mu_);
  auto tunnel = tunnels_.find(config.tunnel_id);
  if (tunnel == tunnels_.end()) {
    return absl::NotFoundError(absl::StrCat("no tunnel ", config.tunnel_id));
  }
  Key key{config.tunnel_id, config.local_session_id};
  if (auto it = sessions_.find(key); it != sessions_.end()) {
    if (it->second->config.SameAs(config)) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("session exists with other parameters: ", it->second->config.DebugString()));
  }
  std::shared_ptr<Transport> t = tunnel->second.transport;
  std::string ifname = config.ifname.empty()
                           ? absl::StrCat(options_.ifname_prefix, config.local_session_id)
                           : config.ifname;
  for (const auto& [k, s] : sessions_) {
    if (s->transport == t && k.second == config.local_session_id) {
      return absl::AlreadyExistsError(absl::StrCat("session id ", config.local_session_id,
                                                   " is taken on this transport by tunnel ",
                                                   k.first));
    }
  }
  if (link_->Exists(ifname)) {
    return absl::AlreadyExistsError(absl::StrCat("interface name ", ifname, " is taken"));
  }
  auto s = std::make_shared<Session>();
  s->config = config;
  s->config.ifname = ifname;
  s->transport = t;
  // RFC 3931 §5.4.4: each direction has the sublayer its receiver asked for.
  s->tx_shape = HeaderShape{t->encap, config.peer_cookie.size(), config.tx_sublayer};
  s->rx_shape = HeaderShape{t->encap, config.cookie.size(), config.rx_sublayer};
  s->counters = std::make_unique<CounterSlot[]>(static_cast<size_t>(workers()));
  if (config.recv_seq && config.rx_sublayer == Sublayer::kDefault &&
      config.reorder_timeout > base::Duration{0}) {
    s->reorder = std::make_unique<ReorderQueue>(config.reorder_timeout);
  }
  int path_mtu = PathMtu(*t);
  IpAddress::Family family = t->v6 ? IpAddress::Family::kV6 : IpAddress::Family::kV4;
  s->max_gso_segment = static_cast<size_t>(path_mtu - (t->v6 ? 40 : 20) - 8);
  if (s->config.mtu == 0) {
    s->config.mtu = ComputeSessionMtu(path_mtu, t->encap, family, config.peer_cookie.size(),
                                      config.tx_sublayer, config.pw_type);
  }
  int queues = config.send_seq ? 1 : (options_.queues > 0 ? options_.queues : workers());
  auto fds = OpenTap(ifname, queues, /*offloads=*/true);
  if (!fds.ok()) {
    return fds.status();
  }
  s->tap_fds = *std::move(fds);
  if (absl::Status st = SetUpLinks(*s); !st.ok()) {
    if (!s->vlan_made.empty()) {
      (void)link_->DeleteLink(s->vlan_made);
    }
    if (!s->bridge_made.empty()) {
      (void)link_->DeleteLink(s->bridge_made);
    }
    return st;
  }
  workers_[static_cast<size_t>(t->rx_worker)]->Run(
      [&](Worker&) { t->sessions[config.local_session_id] = s; });
  for (size_t q = 0; q < s->tap_fds.size(); ++q) {
    absl::Status added;
    workers_[q % workers_.size()]->Run([&](Worker& w) { added = w.AddTap(s->tap_fds[q], s); });
    if (!added.ok()) {
      sessions_.emplace(key, s);
      RemoveSessionLocked(key);
      return added;
    }
  }
  sessions_.emplace(key, s);
  if (int ifindex = static_cast<int>(if_nametoindex(ifname.c_str())); ifindex != 0) {
    std::lock_guard wlock(watch_mu_);
    watch_[ifindex] = Watch{config.tunnel_id, config.local_session_id, true};
  }
  return absl::OkStatus();
}

void UserspaceDataplane::RemoveSessionLocked(const Key& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    return;
  }
  std::shared_ptr<Session> s = it->second;
  {
    std::lock_guard wlock(watch_mu_);
    std::erase_if(watch_, [&](const auto& kv) {
      return kv.second.tunnel_id == key.first && kv.second.session_id == key.second;
    });
  }
  for (auto& w : workers_) {
    w->Run([&](Worker& me) {
      me.Forget(s.get());
      for (int fd : s->tap_fds) {
        me.Remove(fd);
      }
      if (me.index() == s->transport->rx_worker) {
        auto found = s->transport->sessions.find(key.second);
        if (found != s->transport->sessions.end() && found->second == s) {
          s->transport->sessions.erase(found);
        }
      }
    });
  }
  if (!s->vlan_made.empty()) {
    (void)link_->DeleteLink(s->vlan_made);
  }
  if (!s->bridge_made.empty()) {
    (void)link_->DeleteLink(s->bridge_made);
  }
  sessions_.erase(it);  // the TAP goes away with its last queue fd
}

absl::Status UserspaceDataplane::DeleteSession(uint32_t tunnel_id, uint32_t session_id) {
  std::lock_guard lock(mu_);
  RemoveSessionLocked({tunnel_id, session_id});
  return absl::OkStatus();
}

absl::StatusOr<Snapshot> UserspaceDataplane::List() const {
  std::lock_guard lock(mu_);
  Snapshot snap;
  for (const auto& [id, e] : tunnels_) {
    snap.tunnels.push_back(e.config);
  }
  for (const auto& [key, s] : sessions_) {
    snap.sessions.push_back(s->config);
  }
  return snap;
}

absl::StatusOr<Stats> UserspaceDataplane::SessionStats(uint32_t tunnel_id,
                                                       uint32_t session_id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find({tunnel_id, session_id});
  if (it == sessions_.end()) {
    return absl::NotFoundError(absl::StrCat("no session ", tunnel_id, "/", session_id));
  }
  Stats st;
  for (int i = 0; i < workers(); ++i) {
    it->second->counters[static_cast<size_t>(i)].AddTo(st);
  }
  return st;
}

Stats UserspaceDataplane::GlobalStats() const {
  std::lock_guard lock(mu_);
  Stats st = retired_;
  std::vector<const Transport*> seen;
  for (const auto& [id, e] : tunnels_) {
    if (std::find(seen.begin(), seen.end(), e.transport.get()) != seen.end()) {
      continue;
    }
    seen.push_back(e.transport.get());
    for (int i = 0; i < workers(); ++i) {
      e.transport->counters[static_cast<size_t>(i)].AddTo(st);
    }
  }
  return st;
}

void UserspaceDataplane::SetEventHandler(EventHandler handler) {
  std::lock_guard lock(hooks_->mu);
  hooks_->event = std::move(handler);
}

void UserspaceDataplane::SetControlPacketHandler(ControlPacketHandler handler) {
  std::lock_guard lock(hooks_->mu);
  hooks_->control = std::move(handler);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dataplane>> NewUserspaceDataplane(const DataplaneOptions& options) {
  auto link = LinkControl::Open();
  if (!link.ok()) {
    return link.status();
  }
  auto dp = std::make_unique<UserspaceDataplane>(options, *std::move(link));
  if (absl::Status s = dp->Start(); !s.ok()) {
    return s;
  }
  return dp;
}

}  // namespace pwire::dataplane
