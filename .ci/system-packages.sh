#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing (xmllint checks written
# XML against MESA's XSDs; a Mosquitto broker for the MQTT tests; Chromium for the console's browser test). Runs as `npm test`'s pretest step and from .ci/run.
set -euo pipefail
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
# The MQTT tests run a real Mosquitto of their own (the refusal tests need its ACLs and MQTT 5 reason codes).
command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || missing+=(mosquitto)
# test/console.test.ts drives the operations console in a real Chromium through playwright-core (which downloads no browser).
command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || missing+=(chromium)
((${#missing[@]} == 0)) && exit 0
if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
  echo "handover: the tests need: ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
  exit 1
fi
as_root=(); [[ $(id -u) -ne 0 ]] && as_root=(sudo)
echo "handover: installing ${missing[*]} from Debian's packages" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
