#!/usr/bin/env bash
# Debian packages the tests need that no language registry ships: `chromium` (the console's
# browser tests drive it through Playwright's executable_path) with a CJK font, and
# `prometheus` (for `promtool`, which checks deploy/monitoring/alerts.yaml). Run by `make setup`; installs only
# what is missing, and leaves no Prometheus server running (its ports 9090/9100 stay free).
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# A CJK font, so that Chromium draws the console's Chinese (screenshots, text layout) as text.
[[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || missing+=(fonts-wqy-microhei)
if ((${#missing[@]} == 0)); then
    exit 0
fi

as_root=()
if ((EUID != 0)); then
    as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian packages: ${missing[*]}"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The prometheus package enables and starts its server where an init system lets it (a
# container's policy-rc.d usually does not): only promtool is wanted.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    if [[ -d /run/systemd/system ]]; then  # booted with systemd
        "${as_root[@]}" systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/prometheus ]]; then
        "${as_root[@]}" service prometheus stop >/dev/null 2>&1 || true
        "${as_root[@]}" update-rc.d prometheus disable >/dev/null 2>&1 || true
    fi
fi
