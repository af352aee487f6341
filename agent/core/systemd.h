// sd_notify for pwire-agent under systemd (Type=notify): READY=1 once the agent runs,
// STOPPING=1 on shutdown. No-ops when not started by systemd or built without libsystemd.
#pragma once

namespace pwire::agent {
void NotifyReady();
void NotifyStopping();
}  // namespace pwire::agent
