#!/bin/sh
# Shell-level end-to-end check: the standard PC/SC tools see a simulated card through pcscd + vpcd.
#
# Needs: a private pcscd with vpcd (scripts/pcscd-vpcd.sh start; started here if not running), opensc-tool
# (opensc), pcsc_scan (pcsc-tools), and a built `carte` (CARTE_BIN, default .build/debug/carte).
# Runs `carte simulate --persona vitale2-martin --vpcd 35963` in the background, then checks that
# `opensc-tool -a`, `pcsc_scan` and `carte readers --json` show the persona's ATR. Exit 0 when all do.
set -eu

cd "$(dirname "$0")/.."
CARTE="${CARTE_BIN:-.build/debug/carte}"
PERSONA="${CARTE_E2E_PERSONA:-vitale2-martin}"
EXPECTED_ATR="${CARTE_E2E_ATR:-3B 75 13 00 00 47 09 EA 90 00}"
PORT="${CARTE_VPCD_PORT:-35963}"
TMP="${TMPDIR:-/tmp}/carte-e2e-tools.$$"
mkdir -p "$TMP"

[ -x "$CARTE" ] || { echo "e2e-tools: $CARTE not built (swift build)" >&2; exit 2; }
command -v opensc-tool >/dev/null || { echo "e2e-tools: opensc-tool missing (apt-get install opensc)" >&2; exit 2; }
command -v pcsc_scan >/dev/null || { echo "e2e-tools: pcsc_scan missing (apt-get install pcsc-tools)" >&2; exit 2; }

started_pcscd=0
if ! scripts/pcscd-vpcd.sh status >/dev/null 2>&1; then
    scripts/pcscd-vpcd.sh start >/dev/null
    started_pcscd=1
fi
eval "$(scripts/pcscd-vpcd.sh env)"
export PCSCLITE_CSOCK_NAME

"$CARTE" simulate --persona "$PERSONA" --vpcd "$PORT" </dev/null >"$TMP/simulate.log" 2>&1 &
SIM=$!
cleanup() {
    kill -TERM "$SIM" 2>/dev/null || true
    wait "$SIM" 2>/dev/null || true
    [ "$started_pcscd" = 1 ] && scripts/pcscd-vpcd.sh stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# pcscd notices the card at its next presence poll (about 400 ms).
expected_lower=$(echo "$EXPECTED_ATR" | tr 'A-F' 'a-f' | tr ' ' ':')
ok_opensc=0
i=0
while [ $i -lt 30 ]; do
    if timeout 5 opensc-tool -a >"$TMP/opensc.out" 2>&1 && grep -qi "$expected_lower" "$TMP/opensc.out"; then
        ok_opensc=1
        break
    fi
    i=$((i + 1))
    sleep 0.2
done

# pcsc_scan never ends by itself: give it a few seconds, then read what it printed.
timeout 4 pcsc_scan -c >"$TMP/pcsc_scan.out" 2>&1 </dev/null || true
ok_scan=0
grep -q "$EXPECTED_ATR" "$TMP/pcsc_scan.out" && ok_scan=1

# carte's own view: the reader, its state, the ATR and the recognised kind.
"$CARTE" readers --json >"$TMP/readers.json" 2>&1 || true
atr_hex=$(echo "$EXPECTED_ATR" | tr -d ' ')
ok_readers=0
grep -q "\"atr\":\"$atr_hex\"" "$TMP/readers.json" && grep -q '"state":"present"' "$TMP/readers.json" && ok_readers=1

status=0
if [ $ok_readers = 1 ]; then echo "ok: carte readers shows $EXPECTED_ATR present"; else
    echo "FAIL: carte readers --json does not show $EXPECTED_ATR present:" >&2; cat "$TMP/readers.json" >&2; status=1
fi
if [ $ok_opensc = 1 ]; then echo "ok: opensc-tool -a shows $EXPECTED_ATR"; else
    echo "FAIL: opensc-tool -a does not show $EXPECTED_ATR:" >&2; cat "$TMP/opensc.out" >&2; status=1
fi
if [ $ok_scan = 1 ]; then echo "ok: pcsc_scan shows $EXPECTED_ATR"; else
    echo "FAIL: pcsc_scan does not show $EXPECTED_ATR:" >&2; tail -n 20 "$TMP/pcsc_scan.out" >&2; status=1
fi
if [ $status != 0 ]; then echo "simulate log:" >&2; cat "$TMP/simulate.log" >&2; fi
exit $status
