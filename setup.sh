#!/usr/bin/env bash
# Sets the project up on a fresh Debian/Ubuntu machine: a Vulkan driver when no usable one exists
# (Mesa's lavapipe, which runs WebGPU on the CPU), headless Chromium for the HTML report test, then npm ci.
# Needs root or sudo for the system packages. Other systems: install a Vulkan driver for your GPU
# (or Mesa >= 23 with lavapipe), Node.js >= 20, then run `npm ci`.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

need_apt=0
# Dawn needs Mesa >= 23 for lavapipe; bookworm ships 22.3.6, so take bookworm-backports' Mesa there.
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
# A vendor driver that is not Mesa (NVIDIA's) brings its own ICD; Intel/AMD/CPU drivers all come from Mesa itself.
have_vendor_icd() { ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ /usr/local/nvidia/share/vulkan/icd.d/ 2>/dev/null | grep -q nvidia; }

if command -v apt-get >/dev/null 2>&1; then
  . /etc/os-release
  pkgs=()
  v=$(mesa_version)
  if ! have_vendor_icd && { [ -z "$v" ] || dpkg --compare-versions "$v" lt 23; }; then
    if [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
      src=/etc/apt/sources.list.d/bookworm-backports.sources
      if [ ! -f "$src" ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $SUDO tee "$src" >/dev/null
      fi
      need_apt=1; mesa_target="-t bookworm-backports"
    else
      need_apt=1; mesa_target=""
    fi
  fi
  command -v chromium >/dev/null 2>&1 || { need_apt=1; pkgs+=(chromium); }
  command -v node >/dev/null 2>&1 || { need_apt=1; pkgs+=(nodejs npm); }
  if [ "$need_apt" = 1 ]; then
    $SUDO apt-get update -qq
    if [ -n "${mesa_target+x}" ]; then $SUDO apt-get install -y -qq ${mesa_target} mesa-vulkan-drivers >/dev/null; fi
    if [ ${#pkgs[@]} -gt 0 ]; then $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null; fi
  fi
else
  echo "setup.sh: no apt-get here; install a Vulkan driver (Mesa >= 23 lavapipe works on any CPU) and Chromium yourself" >&2
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "setup.sh: Node.js $(node --version) is too old; install Node.js 20 or newer (e.g. from nodejs.org or NodeSource) and re-run" >&2
  exit 1
fi
npm ci --no-audit --no-fund
