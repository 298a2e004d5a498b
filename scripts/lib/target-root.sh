# shellcheck shell=bash
# Shared by install.sh and uninstall.sh: the target system they work on, / or a throwaway root
# given with --root. Expects ROOT, USE_SYSTEMCTL and a die() function; sets ROOT to an absolute
# path, R to the prefix for file operations ("" for /), and leaves systemctl alone for any root but /.
# shellcheck disable=SC2034 # R and USE_SYSTEMCTL are the calling script's variables
settle_target_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
  [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" = / ] || USE_SYSTEMCTL=no
  R=${ROOT%/}
}
