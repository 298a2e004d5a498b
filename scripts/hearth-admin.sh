#!/bin/sh
# `hearth` for an installed hub (installed as /usr/local/bin/hearth by scripts/install.sh): runs the
# CLI as the service user on /var/lib/hearth, with the master key handed over the way systemd hands
# it to the daemon: a copy in a private directory under /run, readable by the service user only,
# removed when the command ends. Running the CLI as root instead would leave root-owned database
# files the daemon could not open.
set -eu
APP=/opt/hearth
DATA=/var/lib/hearth
ETC=/etc/hearth
SERVICE_USER=hearth
NODE=${HEARTH_NODE:-/usr/bin/node}

if [ "$(id -u)" -ne 0 ]; then
  echo "hearth: run as root, e.g. sudo hearth $*" >&2
  exit 1
fi
creds=$(mktemp -d /run/hearth-cli.XXXXXX)
trap 'rm -rf "$creds"' EXIT
trap 'exit 130' INT TERM
if [ -f "$ETC/hearth.key.cred" ]; then
  systemd-creds decrypt --name=hearth.key "$ETC/hearth.key.cred" "$creds/hearth.key"
elif [ -f "$ETC/hearth.key" ]; then
  cp "$ETC/hearth.key" "$creds/hearth.key"
else
  echo "hearth: no master key in $ETC; run the installer (scripts/install.sh) or restore the key from your backup" >&2
  exit 1
fi
# Keys replaced by `hearth key rotate`, kept beside the key: `hearth restore` re-seals an older
# backup with the one it was sealed with.
for retired in "$ETC"/hearth.key.until-*; do
  if [ -f "$retired" ]; then cp "$retired" "$creds/"; fi
done
chmod 0400 "$creds"/hearth.key*
# Read-only for the service user: `hearth key rotate` refuses to write its new key here.
chmod 0500 "$creds"
chown -R "$SERVICE_USER:$SERVICE_USER" "$creds"

status=0
HEARTH_DATA_DIR=${HEARTH_DATA_DIR:-$DATA} CREDENTIALS_DIRECTORY=$creds \
  setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups -- "$NODE" "$APP/bin/hearth.js" "$@" || status=$?
exit "$status"
