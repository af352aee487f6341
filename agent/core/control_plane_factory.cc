// MakeControlPlane: picks the control plane implementation. See control_plane.h.
#include "agent/core/config.h"
#include "agent/core/control_plane.h"
#include "agent/core/event_loop.h"
#include "agent/core/l2tp_control.h"

namespace pwire::agent {

absl::StatusOr<std::unique_ptr<ControlPlane>> MakeControlPlane(EventLoop& loop,
                                                               const AgentConfig& config,
                                                               dataplane::Dataplane& dataplane) {
  auto cp = std::make_unique<L2tpControlPlane>(loop, config, dataplane,
                                               std::make_unique<base::SystemRandom>());
  if (auto s = cp->Listen(); !s.ok()) return s;
  return cp;
}

}  // namespace pwire::agent
