#!/usr/bin/env bash
# Kiosk page screenshot test (issue 6): starts `carte serve --simulate` on 127.0.0.1, drives a simulated session
# (the pharmacist's CPS on the pinpad, PIN typed on the simulated pinpad; the family Vitale on the contact reader)
# into the authenticated state, then with headless Chromium takes a screenshot of /kiosk/ and dumps its DOM.
# Passes when the PNG exists and the DOM shows "Authenticated as PAUL MOREAU" and the patient's beneficiaries;
# then enrols the DESFire badge presented on the badge reader over the API and checks that a tap authenticates.
#
# Needs: chromium (Debian package `chromium`), curl, python3; a built carte (swift build) or CARTE=/path/to/carte.
# Output: $KIOSK_OUT (default .build/kiosk) holds kiosk.png, kiosk-dom.html and serve.log.
set -euo pipefail
cd "$(dirname "$0")/.."

CARTE="${CARTE:-$(swift build --show-bin-path 2>/dev/null)/carte}"
OUT="${KIOSK_OUT:-.build/kiosk}"
PORT="${KIOSK_PORT:-$((20000 + RANDOM % 20000))}"
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"

if [ ! -x "$CARTE" ]; then echo "kiosk-screenshot: no carte binary at $CARTE (run swift build)" >&2; exit 1; fi
if [ -z "$CHROMIUM" ]; then echo "kiosk-screenshot: chromium is not installed (apt-get install chromium)" >&2; exit 1; fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d)"
TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
printf '%s\n' "$TOKEN" > "$WORK/token"
chmod 600 "$WORK/token"
rm -f "$OUT/kiosk.png" "$OUT/kiosk-dom.html"

"$CARTE" serve --simulate --listen "127.0.0.1:$PORT" --token-file "$WORK/token" --db "$WORK/audit.sqlite" \
  > "$OUT/serve.log" 2>&1 &
SERVE_PID=$!
cleanup() {
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BASE="http://127.0.0.1:$PORT"
api() { curl -sS -f -H "Authorization: Bearer $TOKEN" "$@"; }

for _ in $(seq 1 100); do
  if api "$BASE/v1/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVE_PID" 2>/dev/null; then echo "kiosk-screenshot: carte serve exited:" >&2; cat "$OUT/serve.log" >&2; exit 1; fi
  sleep 0.2
done
api "$BASE/v1/health" >/dev/null

# Unauthenticated calls are refused.
code="$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/readers")"
[ "$code" = 401 ] || { echo "kiosk-screenshot: /v1/readers without token answered $code, not 401" >&2; exit 1; }

reader_id() { api "$BASE/v1/readers" | python3 -c "import json,sys; print(next(r['id'] for r in json.load(sys.stdin) if r['role']=='$1'))"; }
PRO="$(reader_id professional)"
PAT="$(reader_id patient)"
post() { api -X POST -H 'Content-Type: application/json' -d "$2" "$BASE/v1/simulator/readers/$1" >/dev/null; }
# The simulated pharmacist types his synthetic persona PIN on the simulated pinpad (read from the fixture).
PHARMACIST_PIN="$(python3 -c "import json; print(next(p['pin'] for p in json.load(open('Simulators/CardSimulator/Fixtures/personas.json'))['professionals'] if p['id']=='cps3-moreau-pharmacist'))")"
post "$PRO/keypad" "{\"digits\":\"$PHARMACIST_PIN\"}"
post "$PRO/insert" '{"persona":"cps3-moreau-pharmacist"}'
post "$PAT/insert" '{"persona":"vitale2-bernard-family"}'

state() { api "$BASE/v1/readers" | python3 -c "import json,sys; print(next(r['state'] for r in json.load(sys.stdin) if r['id']=='$1'))"; }
for _ in $(seq 1 100); do
  if [ "$(state "$PRO")" = authenticated ] && [ "$(state "$PAT")" = patientIdentified ]; then break; fi
  sleep 0.1
done
[ "$(state "$PRO")" = authenticated ] || { echo "kiosk-screenshot: professional reader is $(state "$PRO"), not authenticated" >&2; exit 1; }

URL="$BASE/kiosk/#token=$TOKEN"
FLAGS=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --no-first-run
       --user-data-dir="$WORK/chromium" --window-size=1280,720 --virtual-time-budget=4000 --timeout=3000)
"$CHROMIUM" "${FLAGS[@]}" --screenshot="$OUT/kiosk.png" "$URL" >/dev/null 2>&1 || true
"$CHROMIUM" "${FLAGS[@]}" --dump-dom "$URL" > "$OUT/kiosk-dom.html" 2>/dev/null || true

fail=0
if [ -s "$OUT/kiosk.png" ] && [ "$(head -c 8 "$OUT/kiosk.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
  echo "kiosk-screenshot: $OUT/kiosk.png ($(stat -c %s "$OUT/kiosk.png") bytes)"
else
  echo "kiosk-screenshot: no PNG screenshot was written" >&2; fail=1
fi
for text in "Authenticated as PAUL MOREAU" "Pharmacien" "Beneficiary chosen: THOMAS BERNARD" "INS 2 74"; do
  if grep -qF "$text" "$OUT/kiosk-dom.html"; then echo "kiosk-screenshot: page shows '$text'"
  else echo "kiosk-screenshot: page does not show '$text'" >&2; fail=1; fi
done
FAMILY_NIR="$(python3 -c "import json; print(next(p['insured']['nir'] for p in json.load(open('Simulators/CardSimulator/Fixtures/personas.json'))['patients'] if p['id']=='vitale2-bernard-family'))")"
if grep -q "$FAMILY_NIR\|$PHARMACIST_PIN" "$OUT/kiosk-dom.html"; then
  echo "kiosk-screenshot: the page shows a clear NIR or the PIN" >&2; fail=1
fi

# Badge enrolment over the API: the DESFire badge presented on the badge reader (authenticated by DESFire AES, its
# number read under the session) is bound to the pharmacist's CPS+PIN session; a tap then authenticates at `badge`.
BADGE="$(reader_id badge)"
SESSION="$(api "$BASE/v1/readers" | python3 -c "import json,sys; print(next(r['session'] for r in json.load(sys.stdin) if r['id']=='$PRO'))")"
wait_state() { for _ in $(seq 1 100); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
post "$BADGE/insert" '{"persona":"desfire-durand"}'
wait_state "$BADGE" refused || { echo "kiosk-screenshot: the unenrolled badge was not refused" >&2; fail=1; }
enrolled="$(api -X POST -H 'Content-Type: application/json' -d "{\"session\":\"$SESSION\",\"badgeReader\":\"$BADGE\"}" \
  "$BASE/v1/badges/enrol" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])" || true)"
if [ "$enrolled" = B-000417 ]; then echo "kiosk-screenshot: badge $enrolled enrolled for session $SESSION"
else echo "kiosk-screenshot: badge enrolment failed ($enrolled)" >&2; fail=1; fi
post "$BADGE/remove" '{}'
wait_state "$BADGE" idle || true
post "$BADGE/insert" '{"persona":"desfire-durand"}'
if wait_state "$BADGE" authenticated; then echo "kiosk-screenshot: badge tap authenticated (tap & go)"
else echo "kiosk-screenshot: the enrolled badge's tap gave $(state "$BADGE")" >&2; fail=1; fi
exit "$fail"
