#!/usr/bin/env bash
# Installs, only when missing, the system packages that only the tests need (install.sh covers what vat itself needs):
# nginx with its RTMP module (a real third-party provider), chromium (pages and the report), podman, runc and
# debootstrap (the container image), slurm-wlm and munge (sweeps), bsdutils (script(1), a terminal for the client).
#   test/setup/install-test-deps.sh        (as root, or as a user who may sudo)
# Prints nothing when everything is there.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
# The module is a file nginx loads, not a command.
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || need+=(runc)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
{ command -v slurmctld && command -v slurmd && command -v sbatch; } >/dev/null || need+=(slurm-wlm)
command -v munged >/dev/null || [ -x /usr/sbin/munged ] || need+=(munge)
command -v script >/dev/null || need+=(bsdutils)

if [ "${#need[@]}" -gt 0 ]; then
  echo "installing for the tests: ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
