// Generic netlink transport for the "l2tp" family (see kernel_netlink.h).
#include "agent/dataplane/kernel_netlink.h"

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/dataplane/kernel_uapi.h"

namespace pwire::dataplane::kernel {
namespace {

struct Reply {
  int error = 0;  // errno from the kernel's NLMSG_ERROR, positive
  bool done = false;
  const std::function<void(nlmsghdr*)>* on_reply = nullptr;
};

int OnError(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* r = static_cast<Reply*>(arg);
  r->error = -err->error;
  r->done = true;
  return NL_STOP;
}

int OnAck(nl_msg*, void* arg) {
  static_cast<Reply*>(arg)->done = true;
  return NL_STOP;
}

int OnValid(nl_msg* msg, void* arg) {
  auto* r = static_cast<Reply*>(arg);
  if (r->on_reply != nullptr) {
    (*r->on_reply)(nlmsg_hdr(msg));
  }
  return NL_OK;
}

absl::StatusOr<NlSockPtr> Connect() {
  NlSockPtr sock(nl_socket_alloc());
  if (sock == nullptr) {
    return absl::ResourceExhaustedError("nl_socket_alloc failed");
  }
  if (int rc = genl_connect(sock.get()); rc < 0) {
    return absl::UnavailableError(absl::StrCat("generic netlink: ", nl_geterror(rc)));
  }
  return sock;
}

}  // namespace

absl::Status KernelError(int err, const std::string& what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(
          absl::StrCat(msg, " (the kernel data plane needs CAP_NET_ADMIN)"));
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOENT:
    case ENODEV:
      return absl::NotFoundError(msg);
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
    case EOPNOTSUPP:
      return absl::UnimplementedError(absl::StrCat(
          msg, " (this kernel lacks it: is the l2tp_eth, l2tp_ip or l2tp_ip6 module there?)"));
    case EINVAL:
    case EBADF:
    case ERANGE:
      return absl::InvalidArgumentError(msg);
    case EBUSY:
    case EALREADY:
      return absl::FailedPreconditionError(msg);
    case ENOMEM:
    case ENOBUFS:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<std::unique_ptr<GenlSocket>> GenlSocket::Open() {
  absl::StatusOr<NlSockPtr> sock = Connect();
  if (!sock.ok()) {
    return sock.status();
  }
  int family = genl_ctrl_resolve(sock->get(), L2TP_GENL_NAME);
  if (family < 0) {
    return absl::NotFoundError(
        "the kernel has no \"l2tp\" generic netlink family (modules l2tp_core, l2tp_netlink)");
  }
  return std::unique_ptr<GenlSocket>(new GenlSocket(*std::move(sock), family));
}

absl::Status GenlSocket::Execute(NlMsgPtr msg, const std::string& what) {
  return Transact(std::move(msg), what, nullptr);
}

absl::Status GenlSocket::Query(NlMsgPtr msg, const std::string& what,
                               const std::function<void(nlmsghdr*)>& on_reply) {
  return Transact(std::move(msg), what, &on_reply);
}

absl::Status GenlSocket::Transact(NlMsgPtr msg, const std::string& what,
                                  const std::function<void(nlmsghdr*)>* on_reply) {
  if (msg == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": no message"));
  }
  nlmsghdr* hdr = nlmsg_hdr(msg.get());
  bool dump = (hdr->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!dump) {
    hdr->nlmsg_flags |= NLM_F_ACK;  // a GET answers with the object, then an ACK
  }
  Reply reply;
  reply.on_reply = on_reply;
  std::unique_ptr<nl_cb, decltype(&nl_cb_put)> cb(nl_cb_alloc(NL_CB_DEFAULT), &nl_cb_put);
  if (cb == nullptr) {
    return absl::ResourceExhaustedError("nl_cb_alloc failed");
  }
  nl_cb_err(cb.get(), NL_CB_CUSTOM, &OnError, &reply);
  nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, &OnAck, &reply);
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, &OnValid, &reply);
  if (int rc = nl_send_auto(sock_.get(), msg.get()); rc < 0) {
    return absl::UnavailableError(absl::StrCat(what, ": send: ", nl_geterror(rc)));
  }
  // A dump ends with NLMSG_DONE (nl_recvmsgs returns); a request ends with its ACK or error.
  while (true) {
    int rc = nl_recvmsgs(sock_.get(), cb.get());
    if (reply.error != 0) {
      return KernelError(reply.error, what);
    }
    if (rc < 0) {
      return absl::InternalError(absl::StrCat(what, ": ", nl_geterror(rc)));
    }
    if (dump || reply.done) {
      return absl::OkStatus();
    }
  }
}

absl::StatusOr<std::unique_ptr<L2tpMonitor>> L2tpMonitor::Open() {
  absl::StatusOr<NlSockPtr> sock = Connect();
  if (!sock.ok()) {
    return sock.status();
  }
  nl_socket_disable_seq_check(sock->get());
  int group = genl_ctrl_resolve_grp(sock->get(), L2TP_GENL_NAME, L2TP_GENL_MCGROUP);
  if (group < 0) {
    return absl::NotFoundError("no \"l2tp\" multicast group");
  }
  if (int rc = nl_socket_add_membership(sock->get(), group); rc < 0) {
    return absl::InternalError(absl::StrCat("join l2tp multicast: ", nl_geterror(rc)));
  }
  nl_socket_set_nonblocking(sock->get());
  return std::unique_ptr<L2tpMonitor>(new L2tpMonitor(*std::move(sock)));
}

absl::Status DrainNotifications(nl_sock* sock, nl_cb* cb, const std::string& what) {
  nl_cb_set(
      cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, [](nl_msg*, void*) -> int { return NL_OK; }, nullptr);
  // One datagram per nl_recvmsgs; poll first so that an empty socket ends the loop.
  pollfd pfd{.fd = nl_socket_get_fd(sock), .events = POLLIN, .revents = 0};
  while (poll(&pfd, 1, 0) > 0) {
    int rc = nl_recvmsgs(sock, cb);
    if (rc == -NLE_AGAIN) {
      return absl::OkStatus();
    }
    // NLE_NOMEM here is ENOBUFS: notifications were lost.
    if (rc < 0) {
      return absl::DataLossError(absl::StrCat(what, ": ", nl_geterror(rc)));
    }
  }
  return absl::OkStatus();
}

int L2tpMonitor::fd() const { return nl_socket_get_fd(sock_.get()); }

absl::Status L2tpMonitor::Drain(const std::function<void(nlmsghdr*)>& on_message) {
  Reply reply;
  reply.on_reply = &on_message;
  std::unique_ptr<nl_cb, decltype(&nl_cb_put)> cb(nl_cb_alloc(NL_CB_DEFAULT), &nl_cb_put);
  if (cb == nullptr) {
    return absl::ResourceExhaustedError("nl_cb_alloc failed");
  }
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, &OnValid, &reply);
  return DrainNotifications(sock_.get(), cb.get(), "l2tp multicast");
}

}  // namespace pwire::dataplane::kernel
