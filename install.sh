#!/usr/bin/env bash
# Pilot's one-line server installer. FIRST VERSION: it only prints the plan; the install
# issue completes it. It will, on Debian 12+ / Ubuntu 22.04+, as root:
#   1. check root, OS, architecture, free ports 80/443 and free disk;
#   2. install git, a Docker engine, Caddy and Node.js >= 20 where missing;
#   3. install Pilot into /opt/pilot (built, then pruned to production dependencies),
#      data in /var/lib/pilot, settings in /etc/pilot/pilot.env (mode 0600);
#   4. run Caddy and Pilot as services, wait for /health, and print the admin token
#      and the `git remote add pilot ...` line.
set -euo pipefail

cat <<'PLAN'
install.sh is not complete yet: it does not change this machine.
Until it is, set Pilot up by hand as the README's "Set up and run" section shows.
PLAN
exit 1
