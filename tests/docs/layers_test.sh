#!/usr/bin/env bash
# The layer order of docs/ARCHITECTURE.md ("Layers"): no file of a layer includes a header of a
# layer below it. smbdirect's wire codecs (smbdirect/smbd_wire.h) are their own layer, high in the
# order; the rest of smbdirect/ sits below server/ and rdma/. Fails naming each include that
# reaches down.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../../src" && pwd)
ORDER=(base crypto auth smbdirect_wire smb2 fscc rpc vfs config server rdma smbdirect runtime client fuse tools)
rank() { local i; for i in "${!ORDER[@]}"; do [ "${ORDER[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
layer_of_header() {  # "smb2/create.h" -> smb2; "smbdirect/smbd_wire.h" -> smbdirect_wire
  case "$1" in smbdirect/smbd_wire.h) echo smbdirect_wire ;; *) echo "${1%%/*}" ;; esac
}
bad=0 checked=0
while IFS= read -r f; do
  rel=${f#"$SRC"/}
  case "$rel" in smbdirect/smbd_wire.*) from=smbdirect_wire ;; *) from=${rel%%/*} ;; esac
  from_rank=$(rank "$from")
  [ "$from_rank" -ge 0 ] || { echo "not ok - $rel: directory not in the layer table"; bad=$((bad + 1)); continue; }
  while IFS= read -r inc; do
    to=$(layer_of_header "$inc")
    to_rank=$(rank "$to")
    [ "$to_rank" -ge 0 ] || continue  # not one of ours
    checked=$((checked + 1))
    if [ "$to_rank" -gt "$from_rank" ]; then
      echo "not ok - $rel ($from) includes $inc ($to, a layer below it)"
      bad=$((bad + 1))
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(find "$SRC" -name '*.cc' -o -name '*.h' | sort)
echo "$checked includes of src/ checked against the layer order, $bad reaching down"
[ "$checked" -gt 100 ] && [ "$bad" -eq 0 ]
