#!/usr/bin/env bash
# Installs everything vat needs on Debian or Ubuntu, builds the vat executable, and measures a short local stream.
#   ./install.sh            (as root, or as a user who may sudo)
# Set VAT_SKIP_DEMO=1 to skip the measurement at the end.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

echo "==> system packages vat needs: ffmpeg (and Node.js with npm, which fetch Bun, when missing)"
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v npm >/dev/null || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

echo "==> dependencies, with Bun from npm (package-lock.json)"
npm ci --no-audit --no-fund

echo "==> the vat executable"
npx --no-install bun run build
if [ -w /usr/local/bin ] || command -v sudo >/dev/null; then
  as_root install -m 0755 dist/vat /usr/local/bin/vat
  echo "    installed /usr/local/bin/vat ($(vat --version))"
fi

if [ "${VAT_SKIP_DEMO:-0}" != "1" ]; then
  echo "==> a 10 s local measurement: vat launch --local (vat serve on loopback, measured into stream_data.db)"
  dist/vat launch --local --id demo --duration 10s --db stream_data.db
fi
