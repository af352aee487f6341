// sd_notify wrappers. See systemd.h.
#include "agent/core/systemd.h"

#ifdef PWIRE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace pwire::agent {
#ifdef PWIRE_HAVE_SYSTEMD
void NotifyReady() { sd_notify(0, "READY=1\nSTATUS=running"); }
void NotifyStopping() { sd_notify(0, "STOPPING=1"); }
#else
void NotifyReady() {}
void NotifyStopping() {}
#endif
}  // namespace pwire::agent
