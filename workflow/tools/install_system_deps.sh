#!/usr/bin/env bash
# Installs the system libraries and fonts the report needs, through apt-get when run as root;
# otherwise prints the exact command to run and exits 1. Idempotent: does nothing when all are present.
set -euo pipefail

# Pango (WeasyPrint's text layout), HarfBuzz's subsetter (fast font subsetting: without it WeasyPrint
# spends 7-8 s subsetting the Japanese font), the Japanese font, poppler-utils (pdftoppm, used by tests)
# and chromium (a headless browser: the test of `make preview` watches the page reload in it).
PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-noto-cjk fonts-noto-core poppler-utils python3-venv chromium)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages (${missing[*]}) and no apt-get here; install their equivalents" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing system packages: ${missing[*]}" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fc-cache -f >/dev/null 2>&1 || true
