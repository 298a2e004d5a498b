#!/usr/bin/env bash
# Removes the hearth app, its unit and admin command. The data (/var/lib/hearth), the master key
# (/etc/hearth) and the hearth user stay unless --purge is given. See docs/install.md.
#
#   sudo scripts/uninstall.sh [--purge] [--root DIR] [--no-systemctl]
set -euo pipefail

say() { printf 'hearth-uninstall: %s\n' "$*"; }
die() { printf 'hearth-uninstall: error: %s\n' "$*" >&2; exit 1; }

ROOT=/
USE_SYSTEMCTL=yes
PURGE=no
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --no-systemctl) USE_SYSTEMCTL=no; shift ;;
    --purge) PURGE=yes; shift ;;
    -h|--help) echo "usage: uninstall.sh [--purge] [--root DIR] [--no-systemctl]"; exit 0 ;;
    *) die "unknown option: $1" ;;
  esac
done
# shellcheck source-path=SCRIPTDIR source=lib/target-root.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/target-root.sh"
settle_target_root

if [ "$USE_SYSTEMCTL" = yes ] && [ -d /run/systemd/system ]; then
  systemctl disable --now hearth.service hearth-backup.timer >/dev/null 2>&1 || true
fi
# The wants symlink is what `systemctl disable` removes; in a --root it is removed here.
rm -f "$R/etc/systemd/system/hearth.service" "$R/etc/systemd/system/multi-user.target.wants/hearth.service" "$R/usr/local/bin/hearth"
rm -f "$R/etc/systemd/system/hearth-backup.service" "$R/etc/systemd/system/hearth-backup.timer" "$R/etc/systemd/system/timers.target.wants/hearth-backup.timer"
rm -rf "$R/etc/systemd/system/hearth.service.d" "$R/opt/hearth"
if [ "$USE_SYSTEMCTL" = yes ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
say "removed /opt/hearth, the units and /usr/local/bin/hearth"

if [ "$PURGE" = yes ]; then
  rm -rf "$R/var/lib/hearth" "$R/etc/hearth"
  if awk -F: '$1 == "hearth" { found = 1 } END { exit !found }' "$R/etc/passwd" 2>/dev/null; then
    if [ "$ROOT" = / ]; then userdel hearth; else userdel --root "$ROOT" hearth; fi
  fi
  say "purged the data (/var/lib/hearth), the master key (/etc/hearth) and the hearth user"
  [ ! -d "$R/var/backups/hearth" ] || say "backups in /var/backups/hearth were left; delete them yourself if you no longer need them"
else
  say "kept the data (/var/lib/hearth), the master key (/etc/hearth) and the hearth user; --purge removes them"
fi
