#!/bin/sh
# verify.sh — check callrec recordings with standard tools only: sha256sum (or shasum), base64
# (or openssl base64) and openssl, driven by POSIX sh, awk and sed. No callrec code is involved.
#
# usage: verify.sh <dir> <cert.pem>
#
# For every <id>.sha256 in <dir>:
#   - every line is "<sha256-hex>  <name>" with a plain file name starting with <id>, and
#     <id>.json (the metadata) is listed;
#   - `sha256sum -c <id>.sha256` (or `shasum -a 256 -c`) passes: every listed file exists and
#     is unaltered;
#   - no other file named <id>* is present, besides <id>.sha256.SHA256withRSA.sig and
#     <id>.sha256.tsr (an RFC 3161 time-stamp; check it with `openssl ts -verify`);
#   - <id>.sha256.SHA256withRSA.sig (base64) is the RSA SHA-256 signature of <id>.sha256 by the
#     key of <cert.pem>: `openssl dgst -sha256 -verify pub.pem -signature sig.bin <id>.sha256`.
# Audio (*.wav) that no checksum file covers fails, and checkpoint-<n>.json ledger checkpoints
# are signature-checked. The chain between recordings (a deleted recording) is checked by
# `callrec verify`, which reads the metadata.
#
# Prints "OK <id>" or "FAIL <id>: <reasons>" per recording. Exit 0 only if everything holds,
# 1 if anything failed, 2 for usage or I/O errors.
set -u

usage() {
  echo "usage: $0 <dir> <cert.pem>" >&2
  exit 2
}
[ $# -eq 2 ] || usage
dir=$1
cert=$2
[ -d "$dir" ] || { echo "verify.sh: not a folder: $dir" >&2; exit 2; }
[ -r "$cert" ] && [ -f "$cert" ] || { echo "verify.sh: cannot read certificate: $cert" >&2; exit 2; }

tmp=$(mktemp -d) || { echo "verify.sh: mktemp -d failed" >&2; exit 2; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

if ! openssl x509 -in "$cert" -pubkey -noout >"$tmp/pub.pem" 2>"$tmp/err"; then
  echo "verify.sh: not a PEM certificate: $cert" >&2
  exit 2
fi

# sha256sum (coreutils, fast to start) where present, else shasum (Perl; macOS, BSD).
if command -v sha256sum >/dev/null 2>&1; then
  sha256_check() { sha256sum -c "$1"; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_check() { shasum -a 256 -c "$1"; }
else
  echo "verify.sh: needs shasum or sha256sum" >&2
  exit 2
fi

# b64decode <in> <out>: base64 -d, or openssl's decoder where base64 is missing or differs.
b64decode() {
  if command -v base64 >/dev/null 2>&1 && base64 -d <"$1" >"$2" 2>/dev/null; then
    return 0
  fi
  openssl base64 -d -A -in "$1" -out "$2" 2>/dev/null && [ -s "$2" ]
}

# verify_signature <file> <sig-file>: 0 when the signature holds.
verify_signature() {
  b64decode "$2" "$tmp/sig.bin" || return 2
  openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig.bin" "./$1" >"$tmp/dgst" 2>&1 &&
    grep -q '^Verified OK$' "$tmp/dgst"
}

cd "$dir" || exit 2

# owner <file>: the longest <id> of a *.sha256 in the folder that <file> starts with.
owner() {
  best=
  for other in *.sha256; do
    [ -f "$other" ] || continue
    o=${other%.sha256}
    case $1 in
      "$o"*) [ ${#o} -gt ${#best} ] && best=$o ;;
    esac
  done
  printf '%s' "$best"
}

# covered <file>: 0 when some *.sha256 in the folder claims <file> (fast path by name first).
covered() {
  case $1 in
    *-caller.wav) [ -f "${1%-caller.wav}.sha256" ] && return 0 ;;
    *-callee.wav) [ -f "${1%-callee.wav}.sha256" ] && return 0 ;;
  esac
  case $1 in
    *.sha256.SHA256withRSA.sig) [ -f "${1%.SHA256withRSA.sig}" ] && return 0 ;;
    *.wav) [ -f "${1%.wav}.sha256" ] && return 0 ;;
  esac
  [ -n "$(owner "$1")" ]
}

status=0
count=0
failed=0
reasons=
add() { reasons="${reasons:+$reasons; }$1"; }

for sum in *.sha256; do
  [ -f "$sum" ] || continue
  count=$((count + 1))
  id=${sum%.sha256}
  sig="$sum.SHA256withRSA.sig"
  reasons=

  # 1. The checksum file's form: safe to hand to shasum -c only if every name is plain and
  #    belongs to this recording. awk writes the listed names to $tmp/names and prints problems.
  : >"$tmp/names"
  awk -v id="$id" -v sum="$sum" -v out="$tmp/names" '
    {
      n++
      hex = substr($0, 1, 64); sep = substr($0, 65, 2); name = substr($0, 67)
      if (length($0) < 67 || hex !~ /^[0-9a-f]+$/ || sep != "  " || name ~ /[\/\\\r]/ || name ~ /^-/) { bad = 1; next }
      print name > out
      if (index(name, id) != 1) { print sum " lists " name ", which is not a file of " id; unsafe = 1 }
      if (name in seen) print sum " lists " name " twice"
      seen[name] = 1
    }
    END {
      if (n == 0) { print sum " is empty"; exit 2 }
      if (bad) { print sum " is not in shasum -a 256 form (\"<sha256-hex>  <name>\" lines of plain names)"; exit 2 }
      if (!((id ".json") in seen)) print sum " does not list the metadata " id ".json"
      exit unsafe
    }' "./$sum" >"$tmp/form"
  form=$? # 0 well-formed, 1 lists files of another recording, 2 unreadable as a checksum file
  [ -z "$(tail -c 1 "./$sum")" ] || add "$sum does not end with a line break"
  while IFS= read -r line; do add "$line"; done <"$tmp/form"
  listed="
$(cat "$tmp/names")
"

  # 2. shasum -c: every listed file present and unaltered.
  if [ "$form" -eq 0 ]; then
    if ! sha256_check "./$sum" >"$tmp/check" 2>&1; then
      sed -n 's/: FAILED open or read$/ is missing/p; s/: FAILED$/ does not match its checksum (altered)/p' \
        "$tmp/check" >"$tmp/found"
      [ -s "$tmp/found" ] || echo "shasum -c failed: $(tr '\n' ' ' <"$tmp/check")" >"$tmp/found"
      while IFS= read -r line; do add "$line"; done <"$tmp/found"
    fi
  fi

  # 3. No unlisted file of this recording (not checked when the list itself is unreadable).
  if [ "$form" -ne 2 ]; then
    for f in "$id"*; do
      [ -f "$f" ] || continue
      case $f in
        "$sum" | "$sig" | "$sum.tsr") continue ;;
      esac
      case $listed in
        *"
$f
"*) continue ;;
      esac
      [ "$(owner "$f")" = "$id" ] && add "extra file $f is not in $sum"
    done
  fi

  # 4. The signature over the checksum file's bytes.
  if [ ! -f "$sig" ]; then
    add "no signature file $sig"
  else
    verify_signature "$sum" "$sig"
    case $? in
      0) ;;
      2) add "$sig is not base64" ;;
      *) add "signature does not verify with $cert ($sum altered, or signed by another key)" ;;
    esac
  fi

  if [ -z "$reasons" ]; then
    echo "OK $id"
  else
    echo "FAIL $id: $reasons"
    failed=$((failed + 1))
    status=1
  fi
done

# Audio and signatures that no checksum file covers (a removed or never written <id>.sha256).
for f in *.wav *.sha256.SHA256withRSA.sig; do
  [ -f "$f" ] || continue
  if ! covered "$f"; then
    echo "FAIL $f: not covered by any checksum file"
    failed=$((failed + 1))
    status=1
  fi
done

# Signed ledger checkpoints, if the folder holds any.
for cp in checkpoint-*.json; do
  [ -f "$cp" ] || continue
  head=$(sed -n 's/^ *"sequence": *\([0-9]*\),*$/\1/p' "./$cp")
  if [ -f "$cp.SHA256withRSA.sig" ] && verify_signature "$cp" "$cp.SHA256withRSA.sig"; then
    echo "OK $cp: signature valid (chain head ${head:-?})"
  else
    echo "FAIL $cp: missing or invalid signature $cp.SHA256withRSA.sig"
    status=1
  fi
done

if [ "$count" -eq 0 ]; then
  echo "FAIL: no *.sha256 checksum files in $dir"
  exit 1
fi
if [ "$status" -eq 0 ]; then
  echo "verified: $count recording(s), signatures valid with $cert"
else
  echo "verification FAILED: $count recording(s), $failed failed"
fi
exit "$status"
