#!/usr/bin/env bash
# Installs (or upgrades in place) the hearth hub on Raspberry Pi OS / Debian (arm64, armhf, amd64):
# the app in /opt/hearth with production dependencies only, the `hearth` system user (groups gpio
# and bluetooth), the systemd unit, the master key credential and the `hearth` admin command.
# A second run upgrades the app and keeps the data (/var/lib/hearth) and the key. See docs/install.md.
#
#   sudo scripts/install.sh [--root DIR] [--no-systemctl] [--plain-key] [--no-build]
#                           [--node-modules-from DIR]
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install.sh [options]
  --root DIR               install into DIR instead of / (a throwaway root for tests or images);
                           users and groups go into DIR/etc, systemctl is not called
  --no-systemctl           do not reload, enable or start the unit; print what to run instead
  --plain-key              keep the master key as a root-only file even where systemd-creds could
                           encrypt it
  --no-build               use the existing dist/ as is (fail if it is missing)
  --node-modules-from DIR  copy a node_modules tree already built for this Node version (e.g. a
                           checkout's) and prune it to production dependencies, instead of
                           downloading and compiling them with npm (offline installs, tests)
  -h, --help               this text
EOF
}

say() { printf 'hearth-install: %s\n' "$*"; }
die() { printf 'hearth-install: error: %s\n' "$*" >&2; exit 1; }

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=/
USE_SYSTEMCTL=yes
PLAIN_KEY=no
BUILD=yes
NODE_MODULES_FROM=
NODE=${HEARTH_NODE:-/usr/bin/node}

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --no-systemctl) USE_SYSTEMCTL=no; shift ;;
    --plain-key) PLAIN_KEY=yes; shift ;;
    --no-build) BUILD=no; shift ;;
    --node-modules-from) [ $# -ge 2 ] || die "--node-modules-from needs a directory"; NODE_MODULES_FROM=$2; shift 2 ;;
    --node-modules-from=*) NODE_MODULES_FROM=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

# shellcheck source-path=SCRIPTDIR source=lib/target-root.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/target-root.sh"
settle_target_root
# Paths inside the target system; $R prefixes them for file operations.
APP=/opt/hearth
DATA=/var/lib/hearth
ETC=/etc/hearth
KEY=$ETC/hearth.key
KEY_CRED=$ETC/hearth.key.cred
UNIT=/etc/systemd/system/hearth.service
DROPIN_DIR=/etc/systemd/system/hearth.service.d
WANTS_LINK=/etc/systemd/system/multi-user.target.wants/hearth.service
BACKUPS=/var/backups/hearth
CLI_WRAPPER=/usr/local/bin/hearth
SERVICE_USER=hearth
NATIVE_MODULES=(better-sqlite3 epoll unix-dgram)

# ---- Node ----------------------------------------------------------------------------------------
# The unit runs /usr/bin/node, so that is the Node checked (HEARTH_NODE overrides it for tests).
if [ ! -x "$NODE" ]; then
  other=$(command -v node || true)
  if [ -n "$other" ]; then
    die "Node.js is at $other but the service runs $NODE; install Node from your distribution or NodeSource (apt-get install nodejs) so that $NODE exists"
  fi
  die "Node.js is not installed; install Node $(sed -n 's/.*"node": *"\([^"]*\)".*/\1/p' "$SRC/package.json") (e.g. from NodeSource: apt-get install nodejs) and run this again"
fi
# engines.node is a space-separated set of comparators such as ">=20.17 <25".
if ! version_problem=$("$NODE" -e '
  const range = require(process.argv[1]).engines.node;
  const have = process.versions.node.split(".").map(Number);
  const cmp = (a, b) => { for (let i = 0; i < 3; i++) { const d = (a[i] ?? 0) - (b[i] ?? 0); if (d) return d; } return 0; };
  const ok = range.split(/\s+/).filter(Boolean).every((c) => {
    const m = /^(>=|<=|>|<|=)?v?(\d+(?:\.\d+){0,2})$/.exec(c);
    if (!m) throw new Error("cannot read engines.node: " + range);
    const d = cmp(have, m[2].split(".").map(Number));
    return { ">=": d >= 0, "<=": d <= 0, ">": d > 0, "<": d < 0 }[m[1]] ?? d === 0;
  });
  if (!ok) { console.log("Node " + process.versions.node + " is too old or too new; hearth needs node " + range); process.exit(1); }
' "$SRC/package.json"); then
  die "${version_problem:-cannot check the Node version}"
fi
say "Node $("$NODE" -p process.versions.node) at $NODE"

# ---- build ---------------------------------------------------------------------------------------
if [ ! -f "$SRC/dist/cli/main.js" ] || { [ "$BUILD" = yes ] && [ -n "$(find "$SRC/src" -name '*.ts' -newer "$SRC/dist/cli/main.js" -print -quit)" ]; }; then
  [ "$BUILD" = yes ] || die "dist/ is missing; build it with \`npm ci && npm run build\` or drop --no-build"
  say "building dist/ (TypeScript)"
  if [ ! -f "$SRC/node_modules/typescript/bin/tsc" ]; then
    (cd "$SRC" && npm ci --ignore-scripts --no-audit --no-fund)
  fi
  (cd "$SRC" && "$NODE" node_modules/typescript/bin/tsc -p tsconfig.json)
fi

# ---- app files -----------------------------------------------------------------------------------
# Staged beside the live copy, then swapped in with two renames, so a failed install leaves the
# previous version running.
umask 022
mkdir -p "$R/opt"
STAGE=$(mktemp -d "$R/opt/.hearth-new.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
chmod 0755 "$STAGE"
cp "$SRC/package.json" "$SRC/package-lock.json" "$STAGE/"
mkdir -p "$STAGE/bin"
cp "$SRC/bin/hearth.js" "$STAGE/bin/"
cp -R "$SRC/dist" "$SRC/schemas" "$SRC/docs" "$STAGE/"
cp "$SRC/README.md" "$STAGE/"
[ -f "$SRC/LICENSE" ] && cp "$SRC/LICENSE" "$STAGE/"
# Files the compiled code reads at run time from the source tree (web UI assets).
RUNTIME_ASSET_DIRS=(src/web/assets)
for asset_dir in "${RUNTIME_ASSET_DIRS[@]}"; do
  if [ -d "$SRC/$asset_dir" ]; then
    mkdir -p "$STAGE/$(dirname "$asset_dir")"
    cp -R "$SRC/$asset_dir" "$STAGE/$asset_dir"
  fi
done

# Production dependencies. They are kept across upgrades when the lock file, Node's ABI and the
# architecture are unchanged (the stamp records them); otherwise installed afresh.
deps_stamp=$(cat "$SRC/package-lock.json" <("$NODE" -p 'process.versions.modules + " " + process.arch + " " + process.platform') | sha256sum | cut -d' ' -f1)
if [ -f "$R$APP/.deps-stamp" ] && [ "$(cat "$R$APP/.deps-stamp")" = "$deps_stamp" ] && [ -d "$R$APP/node_modules" ]; then
  say "dependencies unchanged; keeping them"
  cp -a "$R$APP/node_modules" "$STAGE/node_modules"
elif [ -n "$NODE_MODULES_FROM" ]; then
  [ -d "$NODE_MODULES_FROM" ] || die "--node-modules-from $NODE_MODULES_FROM is not a directory"
  say "copying dependencies from $NODE_MODULES_FROM and pruning them to production"
  cp -a "$NODE_MODULES_FROM" "$STAGE/node_modules"
  (cd "$STAGE" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
else
  # --ignore-scripts: the package's own `prepare` runs tsc, a dev dependency; the native modules
  # are compiled explicitly right after.
  say "installing production dependencies (npm ci --omit=dev)"
  (cd "$STAGE" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund)
  say "compiling native modules: ${NATIVE_MODULES[*]} (a few minutes on a Pi)"
  (cd "$STAGE" && npm rebuild "${NATIVE_MODULES[@]}")
  # Optional: dbus-next falls back to a plain socket without it.
  if [ -d "$STAGE/node_modules/usocket" ]; then
    (cd "$STAGE" && npm rebuild usocket >/dev/null 2>&1) || say "usocket did not compile; D-Bus uses a plain socket instead"
  fi
fi
printf '%s\n' "$deps_stamp" > "$STAGE/.deps-stamp"
# The app must load its native modules before it replaces the running copy.
(cd "$STAGE" && "$NODE" -e 'require("better-sqlite3"); require("unix-dgram")') \
  || die "the installed dependencies do not load with $NODE; nothing was replaced"
chown -R 0:0 "$STAGE"

rm -rf "$R/opt/.hearth-old"
if [ -d "$R$APP" ]; then
  say "upgrading $APP"
  mv "$R$APP" "$R/opt/.hearth-old"
else
  say "installing into $APP"
fi
if ! mv "$STAGE" "$R$APP"; then
  [ ! -d "$R/opt/.hearth-old" ] || mv "$R/opt/.hearth-old" "$R$APP"
  die "could not move the new version into $APP; the previous one is back in place"
fi
trap - EXIT
rm -rf "$R/opt/.hearth-old"

# ---- user and groups -----------------------------------------------------------------------------
# --root makes groupadd/useradd edit DIR/etc; a bare throwaway root gets minimal account files first.
root_args=()
if [ "$ROOT" != / ]; then
  root_args=(--root "$ROOT")
  mkdir -p "$R/etc"
  [ -f "$R/etc/passwd" ] || printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
  [ -f "$R/etc/group" ] || printf 'root:x:0:\n' > "$R/etc/group"
  [ -f "$R/etc/shadow" ] || (umask 077 && printf 'root:*:1::::::\n' > "$R/etc/shadow")
  [ -f "$R/etc/gshadow" ] || (umask 077 && printf 'root:*::\n' > "$R/etc/gshadow")
fi
account_field() { # file name field-number
  awk -F: -v n="$2" -v f="$3" '$1 == n { print $f; exit }' "$R/etc/$1"
}
for group in gpio bluetooth; do
  [ -n "$(account_field group "$group" 1)" ] || groupadd "${root_args[@]}" --system "$group"
done
if [ -z "$(account_field passwd "$SERVICE_USER" 1)" ]; then
  say "creating the system user $SERVICE_USER"
  useradd "${root_args[@]}" --system --user-group --groups gpio,bluetooth \
    --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER" 2> >(grep -v 'missing or non-executable shell' >&2)
else
  usermod "${root_args[@]}" --append --groups gpio,bluetooth "$SERVICE_USER"
fi
HEARTH_UID=$(account_field passwd "$SERVICE_USER" 3)
HEARTH_GID=$(account_field passwd "$SERVICE_USER" 4)

# ---- data dir ------------------------------------------------------------------------------------
# A folder of the service user's, mode 0700; an existing one keeps its contents.
service_user_dir() {
  install -d -m 0755 "$(dirname "$1")"
  if [ -d "$1" ]; then
    chown "$HEARTH_UID:$HEARTH_GID" "$1"
    chmod 0700 "$1"
  else
    install -d -m 0700 -o "$HEARTH_UID" -g "$HEARTH_GID" "$1"
  fi
}
# systemd's StateDirectory= would create it too; creating it here lets the CLI and backups use it
# before the first start.
service_user_dir "$R$DATA"

# ---- master key ----------------------------------------------------------------------------------
# Never replaced: without the key nothing in the database can be read. Encrypted with systemd-creds
# (bound to this machine, TPM2 where present) when installing onto the running system.
install -d -m 0700 -o 0 -g 0 "$R$ETC"
DROPIN=$R$DROPIN_DIR/credential.conf
if [ -f "$R$KEY_CRED" ]; then
  say "keeping the existing encrypted master key $KEY_CRED"
elif [ -f "$R$KEY" ]; then
  say "keeping the existing master key $KEY"
  chown 0:0 "$R$KEY"
  chmod 0600 "$R$KEY"
elif [ "$PLAIN_KEY" = no ] && [ "$ROOT" = / ] && [ -d /run/systemd/system ] && command -v systemd-creds >/dev/null 2>&1; then
  say "creating the master key as an encrypted credential $KEY_CRED"
  head -c 32 /dev/urandom | systemd-creds encrypt --name=hearth.key - "$R$KEY_CRED.tmp"
  chmod 0600 "$R$KEY_CRED.tmp"
  ln "$R$KEY_CRED.tmp" "$R$KEY_CRED" # fails rather than replace a key that appeared meanwhile
  rm -f "$R$KEY_CRED.tmp"
else
  say "creating the master key $KEY (root only, mode 0600)"
  key_tmp=$(mktemp "$R$ETC/.hearth.key.XXXXXX")
  head -c 32 /dev/urandom > "$key_tmp"
  chmod 0600 "$key_tmp"
  ln "$key_tmp" "$R$KEY" # fails rather than replace a key that appeared meanwhile
  rm -f "$key_tmp"
fi
if [ -f "$R$KEY_CRED" ]; then
  # The unit names the plain file; this drop-in swaps in the encrypted one.
  install -d -m 0755 "$R$DROPIN_DIR"
  cat > "$DROPIN" <<EOF
# Written by scripts/install.sh: the master key is an encrypted credential bound to this machine.
[Service]
LoadCredential=
LoadCredentialEncrypted=hearth.key:$KEY_CRED
EOF
  chmod 0644 "$DROPIN"
else
  rm -f "$DROPIN"
fi

# ---- unit and admin command ----------------------------------------------------------------------
install -d -m 0755 "$R/etc/systemd/system"
install -m 0644 "$SRC/systemd/hearth.service" "$R$UNIT"
install -d -m 0755 "$R/usr/local/bin"
install -m 0755 "$SRC/scripts/hearth-admin.sh" "$R$CLI_WRAPPER"
install -m 0755 "$SRC/scripts/backup.sh" "$R$APP/bin/hearth-backup"
# Daily backups (hearth-backup.timer), installed but left for the owner to switch on; the unit may
# only write its backups folder, so that exists, owned by the service user.
for backup_unit in hearth-backup.service hearth-backup.timer; do
  install -m 0644 "$SRC/systemd/$backup_unit" "$R/etc/systemd/system/$backup_unit"
done
service_user_dir "$R$BACKUPS"

# ---- start ---------------------------------------------------------------------------------------
if [ "$USE_SYSTEMCTL" = yes ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable hearth.service >/dev/null
  # A running hub picks up the new version now; a stopped one starts.
  if systemctl is-active --quiet hearth.service; then systemctl restart hearth.service; else systemctl start hearth.service; fi
  say "hearth.service enabled and running (journalctl -u hearth -f)"
elif [ "$ROOT" != / ]; then
  # An image or throwaway root: enabled the way `systemctl enable` does it (the wants symlink), so
  # the hub starts when that system boots.
  install -d -m 0755 "$R$(dirname "$WANTS_LINK")"
  ln -sfn "$UNIT" "$R$WANTS_LINK"
  say "hearth.service enabled in $ROOT: it starts when that system boots; to start it at once there:"
  say "  systemctl daemon-reload && systemctl enable --now hearth.service"
else
  say "systemd was not called; on the target system run:"
  say "  systemctl daemon-reload && systemctl enable --now hearth.service"
fi

# ---- where to find it ----------------------------------------------------------------------------
port=$("$NODE" -e '
  try { const p = require(process.argv[1]).http?.port; if (Number.isInteger(p)) { console.log(p); process.exit(0); } } catch {}
  console.log(8080);
' "$R$DATA/hearth.json" 2>/dev/null || echo 8080)
ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
[ -n "$ip" ] || ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n 1 || true)
say "web UI: http://${ip:-<this-hub-address>}:$port/"
say "admin commands: sudo hearth device add camera <nickname>, sudo hearth device list, ..."
if [ -f "$R$KEY_CRED" ]; then
  say "back up the master key off this machine: sudo systemd-creds decrypt --name=hearth.key $KEY_CRED - > hearth.key"
else
  say "back up the master key off this machine: $KEY (without it no stored data can be read)"
fi
say "daily database backups into $BACKUPS: systemctl enable --now hearth-backup.timer"
