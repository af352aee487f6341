#!/bin/bash
# /init of the kernel lab's VM (see lab.sh): mounts the basics, loads the L2TP modules, mounts
# the 9p shares, runs the test script and prints one result line for lab.sh to judge.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/netns /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ip link set lo up

finish() {
  # On a line of its own even if the script's last output had no newline.
  printf '\nPWIRE-KERNEL-LAB-RESULT %s\n' "$1"
  sync
  poweroff -f
}

while read -r m; do
  modprobe "$m" || echo "init: modprobe $m failed"
done </pwire/modules
source /pwire/run.conf || finish "FAIL setup"
echo "init: running ${PWIRE_TEST[*]} on $(uname -r)"
cd /tmp
bash "${PWIRE_TEST[@]}"
rc=$?
if [ $rc -eq 0 ]; then finish PASS; else finish "FAIL exit=$rc"; fi
