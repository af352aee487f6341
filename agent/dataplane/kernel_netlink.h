// A generic netlink socket bound to the kernel's "l2tp" family: sends messages built by
// kernel_genl.h, waits for the kernel's answer, and turns kernel errors into clear statuses
// (EPERM without CAP_NET_ADMIN, EEXIST for a taken id or name, EPROTONOSUPPORT for a type or
// encapsulation the kernel lacks). Not thread-safe: one owner at a time.
#pragma once

#include <netlink/handlers.h>
#include <netlink/socket.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/dataplane/kernel_genl.h"

namespace pwire::dataplane::kernel {

struct NlSockFree {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using NlSockPtr = std::unique_ptr<nl_sock, NlSockFree>;

// A status for errno `err` (positive) from the kernel while doing `what`.
absl::Status KernelError(int err, const std::string& what);

// Reads every message waiting on the non-blocking multicast socket `sock` through `cb`
// (whose sequence check it turns off: notifications carry none). Returns when the socket is
// empty; DataLoss (`what` in the message) when reading fails, e.g. ENOBUFS after lost
// notifications, after which the caller must re-read the state.
absl::Status DrainNotifications(nl_sock* sock, nl_cb* cb, const std::string& what);

class GenlSocket {
 public:
  // Connects and resolves the "l2tp" family (which makes the kernel load l2tp_netlink if it
  // can). NotFound when the kernel has no L2TP.
  static absl::StatusOr<std::unique_ptr<GenlSocket>> Open();

  int family_id() const { return family_id_; }
  // Sends `msg` and waits for the kernel's acknowledgement.
  absl::Status Execute(NlMsgPtr msg, const std::string& what);
  // Sends a GET (or dump) and calls `on_reply` for each message of the answer.
  absl::Status Query(NlMsgPtr msg, const std::string& what,
                     const std::function<void(nlmsghdr*)>& on_reply);

 private:
  GenlSocket(NlSockPtr sock, int family_id) : sock_(std::move(sock)), family_id_(family_id) {}
  absl::Status Transact(NlMsgPtr msg, const std::string& what,
                        const std::function<void(nlmsghdr*)>* on_reply);

  NlSockPtr sock_;
  int family_id_;
};

// A socket subscribed to the family's "l2tp" multicast group (announcements of every create,
// delete and modify in this network namespace). Non-blocking; poll fd(), then Drain().
class L2tpMonitor {
 public:
  static absl::StatusOr<std::unique_ptr<L2tpMonitor>> Open();
  int fd() const;
  // Reads every pending notification, calling `on_message` for each.
  absl::Status Drain(const std::function<void(nlmsghdr*)>& on_message);

 private:
  explicit L2tpMonitor(NlSockPtr sock) : sock_(std::move(sock)) {}
  NlSockPtr sock_;
};

}  // namespace pwire::dataplane::kernel
