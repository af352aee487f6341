// Prometheus text rendering and the tiny HTTP server. See metrics.h.
#include "agent/core/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pwire::agent {
namespace {

constexpr size_t kMaxRequest = 8192;
constexpr size_t kMaxConns = 64;

std::string EscapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrCat(v);
}

absl::StatusOr<sockaddr_storage> ParseListen(std::string_view listen, socklen_t& len) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen '", std::string(listen), "': want host:port"));
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port;
  if (!absl::SimpleAtoi(std::string(listen.substr(colon + 1)), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen '", std::string(listen), "': bad port"));
  }
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (host.empty()) host = "0.0.0.0";
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen '", std::string(listen), "': bad address"));
  }
  return ss;
}

}  // namespace

std::string RenderPrometheus(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    absl::StrAppend(&out, "# HELP ", f.name, " ", f.help, "\n# TYPE ", f.name, " ", f.type, "\n");
    for (const auto& s : f.samples) {
      out += f.name;
      if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
          if (i) out += ',';
          absl::StrAppend(&out, s.labels[i].first, "=\"", EscapeLabel(s.labels[i].second), "\"");
        }
        out += '}';
      }
      absl::StrAppend(&out, " ", FormatValue(s.value), "\n");
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(EventLoop& loop,
                                                                    std::string_view listen,
                                                                    MetricsCollector collector) {
  socklen_t len = 0;
  auto addr = ParseListen(listen, len);
  if (!addr.ok()) return addr.status();
  int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("metrics socket: ", std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&*addr), len) < 0 || ::listen(fd, 16) < 0) {
    auto err = absl::UnavailableError(
        absl::StrCat("metrics endpoint ", std::string(listen), ": ", std::strerror(errno)));
    close(fd);
    return err;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  uint16_t port =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  auto server =
      std::unique_ptr<MetricsServer>(new MetricsServer(loop, fd, port, std::move(collector)));
  auto* self = server.get();
  if (auto s = loop.AddFd(fd, EPOLLIN, [self](uint32_t) { self->OnAccept(); }); !s.ok()) return s;
  return server;
}

MetricsServer::MetricsServer(EventLoop& loop, int fd, uint16_t port, MetricsCollector collector)
    : loop_(loop), fd_(fd), port_(port), collector_(std::move(collector)) {}

MetricsServer::~MetricsServer() {
  while (!conns_.empty()) CloseConn(conns_.begin()->first);
  loop_.RemoveFd(fd_);
  close(fd_);
}

void MetricsServer::OnAccept() {
  for (;;) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    if (conns_.size() >= kMaxConns) {
      close(c);
      continue;
    }
    conns_.emplace(c, Conn{});
    if (!loop_.AddFd(c, EPOLLIN, [this, c](uint32_t ev) { OnConn(c, ev); }).ok()) CloseConn(c);
  }
}

void MetricsServer::OnConn(int fd, uint32_t events) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& conn = it->second;
  if (conn.out.empty()) {
    char buf[2048];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) return;
      CloseConn(fd);
      return;
    }
    conn.in.append(buf, static_cast<size_t>(n));
    if (conn.in.size() > kMaxRequest) {
      CloseConn(fd);
      return;
    }
    if (conn.in.find("\r\n\r\n") == std::string::npos &&
        conn.in.find("\n\n") == std::string::npos) {
      return;
    }
    conn.out = Respond(conn.in);
    (void)loop_.ModifyFd(fd, EPOLLOUT);
  }
  ssize_t n = send(fd, conn.out.data() + conn.sent, conn.out.size() - conn.sent, MSG_NOSIGNAL);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) {
    CloseConn(fd);
    return;
  }
  conn.sent += static_cast<size_t>(n);
  if (conn.sent == conn.out.size()) CloseConn(fd);
}

void MetricsServer::CloseConn(int fd) {
  loop_.RemoveFd(fd);
  close(fd);
  conns_.erase(fd);
}

std::string MetricsServer::Respond(std::string_view request) {
  std::string_view status = "200 OK";
  std::string body;
  std::string type = "text/plain; version=0.0.4; charset=utf-8";
  if (request.starts_with("GET /metrics ") || request.starts_with("GET /metrics?")) {
    body = RenderPrometheus(collector_());
  } else if (request.starts_with("GET /healthz ")) {
    body = "ok\n";
  } else if (!request.starts_with("GET ")) {
    status = "405 Method Not Allowed";
    body = "only GET\n";
  } else {
    status = "404 Not Found";
    body = "try /metrics\n";
  }
  return absl::StrCat("HTTP/1.0 ", std::string(status), "\r\nContent-Type: ", type,
                      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
}

}  // namespace pwire::agent
