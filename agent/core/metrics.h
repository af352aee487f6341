// Prometheus text exposition for pwire-agent: metric families built fresh at each scrape from
// the agent's live state (collectors), and a tiny HTTP/1.0 server on the agent's event loop
// that answers GET /metrics and GET /healthz.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/core/event_loop.h"

namespace pwire::agent {

struct MetricSample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct MetricFamily {
  std::string name;
  std::string help;
  std::string type;  // counter | gauge
  std::vector<MetricSample> samples;
};

// Renders families in the Prometheus text format 0.0.4, escaping label values.
std::string RenderPrometheus(const std::vector<MetricFamily>& families);

using MetricsCollector = std::function<std::vector<MetricFamily>()>;

// Serves the collector's families over HTTP on `listen` ("host:port"). Runs on `loop`.
class MetricsServer {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(EventLoop& loop,
                                                              std::string_view listen,
                                                              MetricsCollector collector);
  ~MetricsServer();
  uint16_t port() const { return port_; }

 private:
  struct Conn {
    std::string in;
    std::string out;
    size_t sent = 0;
  };
  MetricsServer(EventLoop& loop, int fd, uint16_t port, MetricsCollector collector);
  void OnAccept();
  void OnConn(int fd, uint32_t events);
  void CloseConn(int fd);
  std::string Respond(std::string_view request);

  EventLoop& loop_;
  int fd_;
  uint16_t port_;
  MetricsCollector collector_;
  std::unordered_map<int, Conn> conns_;
};

}  // namespace pwire::agent
