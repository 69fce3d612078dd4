#!/usr/bin/env bash
# Installs the servers the tests talk to (Debian packages), idempotently. They are started by the tests
# themselves on loopback and random ports, never as system services.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
# mosquitto_pub: the compose mosquitto service's healthcheck command, run against Debian's mosquitto.
[ -x /usr/bin/mosquitto_pub ] || need+=(mosquitto-clients)
# Time-series servers for the InfluxDB writer tests: influxdb 1.6 (v1 /write, InfluxQL /query) and
# VictoriaMetrics (v2 /api/v2/write, /api/v1/export).
[ -x /usr/bin/influxd ] || need+=(influxdb)
[ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
# Redis for the aedes cluster (mqemitter-redis + aedes-persistence-redis): several broker processes, one state.
[ -x /usr/bin/redis-server ] || need+=(redis-server)
# Browser tests of the operations console drive Debian's chromium with playwright-core.
[ -x /usr/bin/chromium ] || need+=(chromium)
# A Japanese font, so the console's screenshots show 繋がる and 見守り instead of empty boxes.
[ -d /usr/share/fonts/opentype/ipafont-gothic ] || need+=(fonts-ipafont-gothic)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${need[*]} from Debian"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # No service may start during install: tests start their own instances on random ports.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
echo "install-test-deps: mosquitto $(/usr/sbin/mosquitto -h 2>/dev/null | head -1 | awk '{print $3}')"
echo "install-test-deps: redis $(/usr/bin/redis-server --version 2>/dev/null | awk '{print $3}')"
echo "install-test-deps: influxdb $(dpkg-query -W -f='${Version}' influxdb 2>/dev/null), victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null)"
