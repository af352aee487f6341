// The kernel's L2TP user API (<linux/l2tp.h>), included after glibc's <netinet/in.h>: the kernel
// header pulls in <linux/in.h>, which clashes with glibc's definitions unless glibc comes first.
// Include this instead of <linux/l2tp.h>.
#pragma once

// clang-format off
#include <netinet/in.h>
#include <linux/l2tp.h>
// clang-format on
