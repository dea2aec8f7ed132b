#!/usr/bin/env bash
# The man pages under man/ against the programs and docs/CONFIG.md:
# - every long option (and short option) that a program's --help prints is in its man page;
# - every long option in the man page's OPTIONS section is in --help;
# - every mount option of mount.smbdirect --help is an item of mount.smbdirect.8's OPTIONS;
# - every key of docs/CONFIG.md ([global] table, Shares list) is an item of smbdirectd.conf.5;
# - every page renders without groff warnings.
# Usage: manpages_test.sh BINDIR [MANDIR]   (MANDIR defaults to man/ of this tree)
set -uo pipefail

bindir=${1:?usage: manpages_test.sh BINDIR [MANDIR]}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mandir=${2:-$root/man}
config_md=$root/docs/CONFIG.md
passed=0 failed=0

ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() {  # check DESCRIPTION MISSING...
  local what=$1; shift
  if (($#)); then not_ok "$what: missing $*"; else ok "$what"; fi
}

# troff source as text: font escapes dropped, \- as -, \e as \, no quotes.
plain() {
  sed -E -e 's/\\f(\[[^]]*\]|[A-Z])//g' -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g' \
    -e 's/\\\((lq|rq)//g' "$1"
}
# The lines of section .SH NAME.
section() {
  plain "$1" | awk -v want="$2" '
    /^\.SH / { s = $0; sub(/^\.SH +/, "", s); gsub(/"/, "", s); on = (s == want); next }
    on'
}
# The item headers (.TP lines) of a section, one entry a line ("-c, --config FILE" gives two).
items() {
  section "$1" "$2" | awk '
    tp { l = $0; sub(/^\.[A-Z]+ +/, "", l); gsub(/"/, "", l); print l; tp = 0; next }
    /^\.TP/ { tp = 1 }' |
    tr ',' '\n' | sed -E 's/^ +//; s/ +$//' | grep -v '^$'
}
long_opts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
short_opts() { tr -s '|[](),:. \t' '\n' | grep -xE -- '-[A-Za-z]' | sort -u; }
has_word() {  # has_word TEXT OPTION: OPTION stands alone in TEXT
  grep -qE -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)" <<<"$1"
}

# check_program PAGE NAME HELP_RC HELP_TEXT: options of --help against the page and back.
check_program() {
  local page=$1 name=$2 rc=$3 help=$4 text missing=() o
  text=$(plain "$mandir/$page")
  for o in $(long_opts <<<"$help") $(short_opts <<<"$help"); do
    has_word "$text" "$o" || missing+=("$o")
  done
  check "$page documents every option of $name --help" "${missing[@]}"
  missing=()
  for o in $(items "$mandir/$page" OPTIONS | long_opts); do
    has_word "$help" "$o" && continue
    [[ $o == --help && $rc == 0 ]] && continue  # accepted, though not listed
    missing+=("$o")
  done
  check "every long option in the OPTIONS of $page is in $name --help" "${missing[@]}"
}

for page in smbdirectd.8 smbdirect.1 mount.smbdirect.8 smbdirectd.conf.5; do
  if [[ ! -f $mandir/$page ]]; then
    not_ok "$page exists in $mandir"
  elif ! command -v groff >/dev/null; then
    ok "$page renders without warnings # SKIP no groff"
  else
    warnings=$(groff -man -ww -z "$mandir/$page" 2>&1)
    if [[ -z $warnings ]]; then ok "$page renders without warnings"
    else not_ok "$page renders without warnings: $warnings"; fi
  fi
done

# smbdirectd: the daemon's options and those of `smbdirectd user`.
if [[ -x $bindir/smbdirectd ]]; then
  help=$("$bindir/smbdirectd" --help 2>&1); rc=$?
  check_program smbdirectd.8 smbdirectd "$rc" "$help"
  help=$("$bindir/smbdirectd" user --help 2>&1)
  missing=()
  for o in $(long_opts <<<"$help") $(short_opts <<<"$help"); do
    has_word "$(plain "$mandir/smbdirectd.8")" "$o" || missing+=("$o")
  done
  check "smbdirectd.8 documents every option of smbdirectd user --help" "${missing[@]}"
else
  not_ok "$bindir/smbdirectd exists"
fi

# smbdirect: the CLI and its rdma subcommand.
if [[ -x $bindir/smbdirect ]]; then
  help=$("$bindir/smbdirect" --help 2>&1); rc=$?
  check_program smbdirect.1 smbdirect "$rc" "$help"
  help=$("$bindir/smbdirect" rdma --help 2>&1)
  missing=()
  for o in $(short_opts <<<"$help"); do
    has_word "$(plain "$mandir/smbdirect.1")" "$o" || missing+=("$o")
  done
  check "smbdirect.1 documents every flag of smbdirect rdma --help" "${missing[@]}"
else
  not_ok "$bindir/smbdirect exists"
fi

# mount.smbdirect (built only with FUSE): flags and mount options.
if [[ -x $bindir/mount.smbdirect ]]; then
  help=$("$bindir/mount.smbdirect" --help 2>&1); rc=$?
  check_program mount.smbdirect.8 mount.smbdirect "$rc" "$help"
  documented=$(items "$mandir/mount.smbdirect.8" OPTIONS | grep -v '^-' | grep -oE '^[a-z_]+')
  missing=()
  for k in $(tr '\n' ' ' <<<"$help" | sed -E 's/.*comma-separated\)://; s/The password.*//' |
             tr ',' '\n' | sed -E 's/^ +//; s/[ .]+$//' | grep -E '^[a-z_]+(=|$)' | grep -oE '^[a-z_]+'); do
    grep -qx -- "$k" <<<"$documented" || missing+=("$k")
  done
  check "mount.smbdirect.8 documents every mount option of mount.smbdirect --help" "${missing[@]}"
else
  ok "mount.smbdirect.8 against mount.smbdirect --help # SKIP built without FUSE"
fi

# smbdirectd.conf.5: every key docs/CONFIG.md documents, in the right section.
global_keys() {  # first column of the [global] table; "a, b" is two keys, "x y / z" is "x y", "x z"
  awk -F'|' '/^## /{ on = ($0 ~ /^## \[global\]/); next }
             on && /^\|/ && $2 !~ /^ *(key|-+) *$/ { print $2 }' "$config_md" |
    tr ',' '\n' | sed -E 's/^ +//; s/ +$//' | grep -v '^$' |
    while IFS= read -r k; do
      if [[ $k == *" / "* ]]; then
        first=${k%% / *}; prefix=${first% *}
        echo "$first"
        rest=${k#* / }
        tr '/' '\n' <<<"$rest" | sed -E 's/^ +//; s/ +$//' | sed "s/^/$prefix /"
      else
        echo "$k"
      fi
    done
}
share_keys() {  # the `key` names of the Shares section
  awk '/^## /{ on = ($0 ~ /^## Shares/); next } on' "$config_md" |
    grep -oE '`[^`]+`' | tr -d '`' | grep -E '^[a-z][a-z ]*[a-z]$' | sort -u
}
conf=$mandir/smbdirectd.conf.5
if [[ -f $config_md && -f $conf ]]; then
  for part in "GLOBAL PARAMETERS:global_keys:the [global] table" "SHARE PARAMETERS:share_keys:Shares"; do
    IFS=: read -r sec fn what <<<"$part"
    documented=$(items "$conf" "$sec" | tr 'A-Z' 'a-z')
    keys=$($fn)
    missing=()
    while IFS= read -r k; do
      [[ -z $k ]] && continue
      grep -qxF -- "$k" <<<"$documented" || missing+=("'$k'")
    done <<<"$keys"
    if [[ -z $keys ]]; then
      not_ok "docs/CONFIG.md has keys in $what"
    else
      check "smbdirectd.conf.5 $sec lists every key of docs/CONFIG.md $what ($(wc -l <<<"$keys"))" "${missing[@]}"
    fi
  done
else
  not_ok "docs/CONFIG.md and smbdirectd.conf.5 exist"
fi

echo "$passed passed, $failed failed"
((failed == 0))
