// The kernel data plane's monitor thread and entry points. The monitor listens to the "l2tp"
// multicast group and to rtnetlink link notifications, and re-reads the kernel's state on each
// notification and every probe interval (the kernel announces nothing when a managed tunnel
// goes away with its socket), reporting drift, closed tunnels and link changes as Events.
#include <poll.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "agent/dataplane/kernel_dataplane.h"
#include "agent/dataplane/kernel_entry.h"
#include "agent/dataplane/kernel_uapi.h"

namespace pwire::dataplane {
namespace kernel {

void KernelDataplane::MonitorLoop() {
  absl::StatusOr<std::unique_ptr<L2tpMonitor>> l2tp = L2tpMonitor::Open();
  absl::StatusOr<std::unique_ptr<LinkMonitor>> link = LinkMonitor::Open();
  int timeout_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(probe_interval_).count());
  while (true) {
    pollfd fds[3] = {{.fd = stop_fd_, .events = POLLIN, .revents = 0},
                     {.fd = l2tp.ok() ? (*l2tp)->fd() : -1, .events = POLLIN, .revents = 0},
                     {.fd = link.ok() ? (*link)->fd() : -1, .events = POLLIN, .revents = 0}};
    if (poll(fds, 3, timeout_ms) < 0 && errno != EINTR) {
      return;
    }
    if (fds[0].revents != 0) {
      return;
    }
    std::vector<Event> events;
    if (fds[1].revents != 0) {
      (void)(*l2tp)->Drain([&](nlmsghdr* hdr) {
        absl::StatusOr<uint8_t> cmd = CommandOf(hdr);
        if (!cmd.ok()) {
          return;
        }
        std::lock_guard lock(mu_);
        if (*cmd == L2TP_CMD_SESSION_MODIFY) {
          absl::StatusOr<KernelSession> s = ParseSession(hdr);
          if (s.ok() && sessions_.contains({s->tunnel_id, s->session_id})) {
            events.push_back({Event::Kind::kDrift, s->tunnel_id, s->session_id,
                              "session modified by someone else"});
          }
        } else if (*cmd == L2TP_CMD_TUNNEL_MODIFY) {
          absl::StatusOr<KernelTunnel> t = ParseTunnel(hdr);
          if (t.ok() && tunnels_.contains(t->tunnel_id)) {
            events.push_back(
                {Event::Kind::kDrift, t->tunnel_id, 0, "tunnel modified by someone else"});
          }
        }
      });
    }
    if (fds[2].revents != 0) {
      (void)(*link)->Drain([&](const LinkInfo& info, bool deleted) {
        std::lock_guard lock(mu_);
        for (const auto& [key, c] : sessions_) {
          if (c.ifname != info.name) {
            continue;
          }
          bool running = !deleted && info.up && info.running;
          auto [it, inserted] = link_running_.try_emplace(info.name, !running);
          if (it->second != running || inserted) {
            it->second = running;
            events.push_back({running ? Event::Kind::kLinkUp : Event::Kind::kLinkDown, key.first,
                              key.second, absl::StrCat(info.name, running ? " up" : " down")});
          }
        }
      });
    }
    CheckDrift(&events);
    Emit(events);
  }
}

void KernelDataplane::CheckDrift(std::vector<Event>* events) {
  std::lock_guard lock(mu_);
  if (tunnels_.empty() && sessions_.empty()) {
    return;
  }
  absl::StatusOr<Kernel> k = DumpLocked();
  if (!k.ok()) {
    return;
  }
  for (auto it = tunnels_.begin(); it != tunnels_.end();) {
    uint32_t id = it->first;
    if (k->tunnels.contains(id)) {
      ++it;
      continue;
    }
    if (it->second.mode == TunnelMode::kManaged) {
      events->push_back({Event::Kind::kTunnelClosed, id, 0,
                         "the kernel deleted the managed tunnel (its socket was closed)"});
    } else {
      events->push_back({Event::Kind::kDrift, id, 0, "tunnel removed by someone else"});
    }
    std::erase_if(sessions_, [&](const auto& kv) { return kv.first.first == id; });
    it = tunnels_.erase(it);
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (k->sessions.contains(it->first)) {
      ++it;
      continue;
    }
    events->push_back({Event::Kind::kDrift, it->first.first, it->first.second,
                       "session removed by someone else"});
    link_running_.erase(it->second.ifname);
    it = sessions_.erase(it);
  }
}

void KernelDataplane::Emit(const std::vector<Event>& events) {
  if (events.empty()) {
    return;
  }
  std::lock_guard lock(handler_mu_);
  if (!event_handler_) {
    return;
  }
  for (const Event& e : events) {
    event_handler_(e);
  }
}

}  // namespace kernel

bool KernelL2tpAvailable() { return kernel::GenlSocket::Open().ok(); }

absl::StatusOr<std::unique_ptr<Dataplane>> NewKernelDataplane(const DataplaneOptions& options) {
  absl::StatusOr<std::unique_ptr<kernel::KernelDataplane>> dp =
      kernel::KernelDataplane::Create(options);
  if (!dp.ok()) {
    return dp.status();
  }
  return std::unique_ptr<Dataplane>(*std::move(dp));
}

}  // namespace pwire::dataplane
