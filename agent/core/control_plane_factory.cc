// MakeControlPlane: picks the control plane implementation. See control_plane.h.
#include "agent/core/config.h"
#include "agent/core/control_plane.h"
#include "agent/core/event_loop.h"

namespace pwire::agent {

absl::StatusOr<std::unique_ptr<ControlPlane>> MakeControlPlane(EventLoop& loop,
                                                               const AgentConfig& config,
                                                               dataplane::Dataplane& dataplane) {
  return std::make_unique<NullControlPlane>();
}

}  // namespace pwire::agent
