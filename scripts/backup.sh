#!/bin/sh
# A dated, online backup of the hub's database for cron or a systemd timer (installed as
# /opt/hearth/bin/hearth-backup). The copy is consistent while the daemon runs, still sealed, and
# holds no key: keep the master key backed up separately. Beside each backup, <file>.key-fingerprint
# names the key it needs (`hearth key fingerprint`). See docs/install.md.
#
#   hearth-backup [--dir DIR] [--keep N] [--data-dir DIR]
set -eu

DIR=/var/backups/hearth
KEEP=7
DATA_DIR=${HEARTH_DATA_DIR:-/var/lib/hearth}
SERVICE_USER=hearth
NODE=${HEARTH_NODE:-/usr/bin/node}
[ -x "$NODE" ] || NODE=$(command -v node)

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --data-dir) DATA_DIR=$2; shift 2 ;;
    -h|--help) echo "usage: hearth-backup [--dir DIR (default /var/backups/hearth)] [--keep N (default 7)] [--data-dir DIR]"; exit 0 ;;
    *) echo "hearth-backup: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$KEEP" in '' | *[!0-9]*) echo "hearth-backup: --keep takes a whole number" >&2; exit 2 ;; esac
[ "$KEEP" -ge 1 ] || { echo "hearth-backup: --keep must be at least 1" >&2; exit 2; }

# Installed: bin/hearth-backup beside bin/hearth.js; in a checkout: scripts/ beside bin/.
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/hearth.js" ]; then CLI=$here/hearth.js; else CLI=$here/../bin/hearth.js; fi

# As root on an installed hub, write as the service user, so the daemon's files stay its own.
run_as=
if [ "$(id -u)" -eq 0 ] && id "$SERVICE_USER" >/dev/null 2>&1; then
  run_as="setpriv --reuid=$SERVICE_USER --regid=$SERVICE_USER --init-groups --"
  install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DIR"
else
  (umask 077 && mkdir -p "$DIR")
fi

file=$DIR/hearth-$(date -u +%Y%m%dT%H%M%SZ).db
# shellcheck disable=SC2086 # $run_as is a command prefix, split on purpose
$run_as "$NODE" "$CLI" backup "$file" --data-dir "$DATA_DIR"

# Keep the newest $KEEP backups (the names sort by time).
n=0
for old in $(printf '%s\n' "$DIR"/hearth-????????T??????Z.db | sort -r); do
  [ -f "$old" ] || continue
  n=$((n + 1))
  [ "$n" -le "$KEEP" ] || rm -f "$old" "$old.key-fingerprint"
done
