// Prometheus text rendering and the HTTP endpoint, over a real loopback socket.
#include "agent/core/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"

namespace pwire::agent {
namespace {

TEST(RenderPrometheusTest, FamiliesWithLabelsAndEscaping) {
  std::vector<MetricFamily> f = {
      {"pwire_sessions",
       "Sessions by state.",
       "gauge",
       {{{{"state", "established"}}, 3}, {{{"state", "wait\"ctl"}}, 1}}},
      {"pwire_auth_failures_total", "Auth failures.", "counter", {{{}, 0}}},
  };
  EXPECT_EQ(RenderPrometheus(f),
            "# HELP pwire_sessions Sessions by state.\n"
            "# TYPE pwire_sessions gauge\n"
            "pwire_sessions{state=\"established\"} 3\n"
            "pwire_sessions{state=\"wait\\\"ctl\"} 1\n"
            "# HELP pwire_auth_failures_total Auth failures.\n"
            "# TYPE pwire_auth_failures_total counter\n"
            "pwire_auth_failures_total 0\n");
}

std::string Fetch(uint16_t port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "connect failed";
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(MetricsServerTest, ServesMetricsAndNotFound) {
  auto loop = *EventLoop::Create();
  int scrapes = 0;
  auto server = MetricsServer::Start(*loop, "127.0.0.1:0", [&] {
    ++scrapes;
    return std::vector<MetricFamily>{{"pwire_up", "Up.", "gauge", {{{}, 1}}}};
  });
  ASSERT_TRUE(server.ok()) << server.status();
  uint16_t port = (*server)->port();
  std::string metrics, missing;
  std::thread client([&] {
    metrics = Fetch(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    missing = Fetch(port, "GET /nope HTTP/1.1\r\n\r\n");
    loop->Post([&] { loop->Stop(); });
  });
  loop->Run();
  client.join();
  EXPECT_NE(metrics.find("HTTP/1.0 200 OK"), std::string::npos);
  EXPECT_NE(metrics.find("\r\n\r\n# HELP pwire_up Up.\n# TYPE pwire_up gauge\npwire_up 1\n"),
            std::string::npos);
  EXPECT_NE(missing.find("404"), std::string::npos);
  EXPECT_EQ(scrapes, 1);
}

TEST(MetricsServerTest, BadListenAddressRefused) {
  auto loop = *EventLoop::Create();
  auto server = MetricsServer::Start(*loop, "nonsense", [] { return std::vector<MetricFamily>{}; });
  EXPECT_FALSE(server.ok());
}

}  // namespace
}  // namespace pwire::agent
