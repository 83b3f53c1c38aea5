#!/bin/bash
# OpenSC accepts the simulated CPS3 (issue 7): the real OpenSC tools talk to `carte simulate --persona cps3-durand`
# through pcscd + vpcd and must recognise, list, log in, sign and decipher like with a real CPS3 (cps.md §6.3 F,
# §10.2).
#
# Needs: a running pcscd with the vpcd driver (scripts/pcscd-vpcd.sh start; export PCSCLITE_CSOCK_NAME as it prints),
#        opensc (0.23: opensc-tool, pkcs15-tool, pkcs11-tool, opensc-explorer), openssl, a built `carte`.
# Starts and stops `carte simulate` itself.
#
# Environment:
#   CARTE_BIN          carte binary (default: .build/debug/carte)
#   CARTE_VPCD_PORT    vpcd slot-0 port (default 35963)
#   CARTE_OPENSC_PKCS11  PKCS#11 module (default /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so)
#   CARTE_OPENSC_REPORT  where to write the APDU/byte/time figures of "list certificates, log in, sign"
#                      (default: $TMPDIR/carte-opensc-figures.json)
#   STRICT_OPENSC=1    also fail on the known OpenSC 0.23 + OpenSSL 3 defect (see check 6)
#
# Exit status: 0 when every check passes, 1 at the first failure (with the reason on stderr).
set -u
cd "$(dirname "$0")/.."

CARTE_BIN="${CARTE_BIN:-.build/debug/carte}"
PORT="${CARTE_VPCD_PORT:-35963}"
MODULE="${CARTE_OPENSC_PKCS11:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}"
PERSONA=cps3-durand
PIN=1234            # the synthetic persona's PIN (personas.json), never a real one
SIG_ID=e828bd080f8025000001ff001001
AUT_ID=e828bd080f8025000001ff001002

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carte-opensc.XXXXXX")
chmod 700 "$WORK"
REPORT="${CARTE_OPENSC_REPORT:-${TMPDIR:-/tmp}/carte-opensc-figures.json}"
SIM_PID=""
SIM_IN="$WORK/sim.in"
PASSED=0
KNOWN=0

cleanup() {
    stop_sim
    rm -rf "$WORK"   # the OpenSC debug logs hold VERIFY APDUs: never keep them
}
trap cleanup EXIT

fail() { echo "opensc-checks: FAIL: $*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "opensc-checks: ok   $*"; }
known() { KNOWN=$((KNOWN + 1)); echo "opensc-checks: KNOWN OPENSC LIMITATION: $*" >&2; }

for tool in opensc-tool pkcs15-tool pkcs11-tool opensc-explorer openssl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install opensc openssl)"
done
[ -x "$CARTE_BIN" ] || fail "carte binary not found at $CARTE_BIN (swift build, or set CARTE_BIN)"
[ -r "$MODULE" ] || fail "OpenSC PKCS#11 module not found at $MODULE"
if [ -z "${PCSCLITE_CSOCK_NAME:-}" ] && bash scripts/pcscd-vpcd.sh status >/dev/null 2>&1; then
    eval "$(bash scripts/pcscd-vpcd.sh env)"
    export PCSCLITE_CSOCK_NAME
fi
[ -n "${PCSCLITE_CSOCK_NAME:-}" ] || echo "opensc-checks: note: PCSCLITE_CSOCK_NAME is not set, using the system pcscd" >&2

start_sim() {  # start_sim [transcript-path]
    stop_sim
    rm -f "$SIM_IN"; mkfifo "$SIM_IN"
    if [ -n "${1:-}" ]; then
        ( exec 3<>"$SIM_IN"; CARTE_TRANSCRIPT="$1" exec "$CARTE_BIN" simulate --persona "$PERSONA" --vpcd "$PORT" <&3 \
            >"$WORK/sim.log" 2>&1 ) &
    else
        ( exec 3<>"$SIM_IN"; exec "$CARTE_BIN" simulate --persona "$PERSONA" --vpcd "$PORT" <&3 >"$WORK/sim.log" 2>&1 ) &
    fi
    SIM_PID=$!
    # The first run may create the test PKI (about 20 RSA-2048 keys): allow a minute.
    for _ in $(seq 1 600); do
        grep -q "connected to vpcd" "$WORK/sim.log" 2>/dev/null && break
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$WORK/sim.log" >&2; fail "carte simulate exited"; }
        sleep 0.1
    done
    grep -q "connected to vpcd" "$WORK/sim.log" || { cat "$WORK/sim.log" >&2; fail "carte simulate did not reach vpcd on port $PORT"; }
    # pcscd polls vpcd: wait until the card is visible in reader 0, twice in a row half a second apart (the
    # presence poll has settled).
    seen=0
    for _ in $(seq 1 100); do
        if opensc-tool -r 0 -a >/dev/null 2>&1; then seen=$((seen + 1)); else seen=0; fi
        [ "$seen" -ge 2 ] && return 0
        sleep 0.5
    done
    fail "no card visible in reader 0 after starting carte simulate"
}

stop_sim() {
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        echo quit > "$SIM_IN" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        # Let pcscd see the card go before anything else talks to reader 0.
        for _ in $(seq 1 50); do
            opensc-tool -r 0 -a >/dev/null 2>&1 || break
            sleep 0.2
        done
    fi
    SIM_PID=""
}

p11() { pkcs11-tool --module "$MODULE" "$@"; }

# DigestInfo (RFC 8017 §9.2 note 1) of a file: prefix ‖ digest, binary.
digest_info() {  # digest_info sha256|sha1 FILE OUT
    case "$1" in
        sha256) prefix=3031300d060960864801650304020105000420 ;;
        sha1) prefix=3021300906052b0e03021a05000414 ;;
    esac
    { printf "$(printf '%s' "$prefix" | sed 's/../\\x&/g')"; openssl dgst "-$1" -binary "$2"; } > "$3"
}

tries_left() {  # prints the tries left of CHV1 as OpenSC's IAS-ECC driver reads them (GET DATA on the CHV SDO)
    printf 'pin_info CHV1\n' | opensc-explorer -r 0 2>&1 | sed -n 's/^\([0-9]*\) tries left\./\1/p' | tail -n 1
}

start_sim

# 1. The card is recognised as a CPx card by the IAS-ECC driver.
name=$(OPENSC_DEBUG=3 opensc-tool -r 0 -n 2>"$WORK/name.log")
[ "$name" = "IAS-ECC" ] || fail "opensc-tool -n printed '$name', expected IAS-ECC"
grep -q "'IAS/ECC CPx' card matched" "$WORK/name.log" || fail "the iasecc driver did not match the ATR as 'IAS/ECC CPx'"
ok "opensc-tool -n: IAS-ECC, matched as 'IAS/ECC CPx'"

# 2. Certificates, with our subjects.
pkcs15-tool -r 0 --list-certificates >"$WORK/certs.txt" 2>&1 || { cat "$WORK/certs.txt" >&2; fail "pkcs15-tool --list-certificates"; }
grep -q "X.509 Certificate \[Certificat de Signature CPS\]" "$WORK/certs.txt" || fail "signature certificate not listed"
grep -q "X.509 Certificate \[Certificat d'Authentification CPS\]" "$WORK/certs.txt" || fail "authentication certificate not listed"
for id in $SIG_ID $AUT_ID; do
    pkcs15-tool -r 0 --read-certificate "$id" >"$WORK/$id.pem" 2>/dev/null || fail "pkcs15-tool --read-certificate $id"
    subject=$(openssl x509 -in "$WORK/$id.pem" -noout -subject -nameopt RFC2253) || fail "certificate $id does not parse"
    case "$subject" in
        *CN=899700412345*SN=DURAND*GN=ALICE*|*GN=ALICE*SN=DURAND*CN=899700412345*|*SN=DURAND*CN=899700412345*GN=ALICE*) ;;
        *) fail "certificate $id subject is '$subject'" ;;
    esac
    openssl x509 -in "$WORK/$id.pem" -noout -pubkey >"$WORK/$id.pub" || fail "no public key in certificate $id"
done
ok "pkcs15-tool --list-certificates: signature and authentication certificates of DURAND ALICE"

# 3. Keys.
pkcs15-tool -r 0 --list-keys >"$WORK/keys.txt" 2>&1 || fail "pkcs15-tool --list-keys"
grep -q "Private RSA Key \[CPS_PRIV_SIG\]" "$WORK/keys.txt" || fail "CPS_PRIV_SIG not listed"
grep -q "Private RSA Key \[CPS_PRIV_AUT\]" "$WORK/keys.txt" || fail "CPS_PRIV_AUT not listed"
grep -q "Key ref        : 129 (0x81)" "$WORK/keys.txt" || fail "key reference 0x81 not listed"
grep -q "Key ref        : 130 (0x82)" "$WORK/keys.txt" || fail "key reference 0x82 not listed"
ok "pkcs15-tool --list-keys: CPS_PRIV_SIG (0x81) and CPS_PRIV_AUT (0x82)"

# 4. PIN object and its counter (pkcs15-tool 0.23 never asks the card for tries; opensc-explorer's pin_info goes
#    through the same iasecc driver code as pkcs11 C_GetTokenInfo: empty VERIFY + GET DATA on the CHV SDO).
pkcs15-tool -r 0 --list-pins >"$WORK/pins.txt" 2>&1 || fail "pkcs15-tool --list-pins"
grep -q "PIN \[Code Porteur\]" "$WORK/pins.txt" || fail "PIN not listed"
grep -q "Reference      : 1 (0x01)" "$WORK/pins.txt" || fail "PIN reference 01 not listed"
[ "$(tries_left)" = 3 ] || fail "PIN tries left is '$(tries_left)', expected 3"
ok "pkcs15-tool --list-pins: Code Porteur, reference 01; 3 tries left"

# 5. RSA-PKCS over a DigestInfo: INTERNAL AUTHENTICATE with key 0x82; verified with the certificate's key.
echo -n "ordonnance simulee pour la verification OpenSC" > "$WORK/msg.bin"
for alg in sha256 sha1; do
    digest_info $alg "$WORK/msg.bin" "$WORK/di-$alg.bin"
    OPENSC_DEBUG=9 p11 --login --pin "$PIN" --sign --mechanism RSA-PKCS --id $AUT_ID -i "$WORK/di-$alg.bin" \
        -o "$WORK/sig-$alg.bin" >"$WORK/sign-$alg.log" 2>&1 || { grep -E "error" "$WORK/sign-$alg.log" >&2; fail "RSA-PKCS sign ($alg DigestInfo)"; }
    grep -q "^00 22 41 A4 06 84 01 82 80 01 02" "$WORK/sign-$alg.log" || fail "no MSE SET AT for key 82 in the APDUs"
    grep -q "^00 88 00 00" "$WORK/sign-$alg.log" || fail "RSA-PKCS did not take the INTERNAL AUTHENTICATE path"
    openssl dgst -$alg -verify "$WORK/$AUT_ID.pub" -signature "$WORK/sig-$alg.bin" "$WORK/msg.bin" >/dev/null \
        || fail "the RSA-PKCS signature over the $alg DigestInfo does not verify"
done
ok "pkcs11-tool RSA-PKCS over SHA-256 and SHA-1 DigestInfos: INTERNAL AUTHENTICATE, signatures verify (openssl dgst)"

# 6. SHA256-RSA-PKCS / SHA1-RSA-PKCS with the signature key 0x81: OpenSC's iasecc driver takes the IAS-ECC path
#    (MSE HT + MSE DST + PSO HASH + PSO CDS, cps.md §6.3 F). OpenSC 0.23 built against OpenSSL 3 (Debian 12) cannot
#    compute the partial hash it must send in PSO HASH (iasecc_qsign_data_* return "Not supported" without
#    OpenSSL < 3), so the signature fails inside OpenSC before PSO HASH, for any IAS-ECC card. The check accepts
#    exactly that failure (after checking the MSE APDUs the card accepted) and verifies the signature otherwise.
for pair in "SHA256-RSA-PKCS sha256 40 42" "SHA1-RSA-PKCS sha1 10 12"; do
    set -- $pair
    mech=$1; alg=$2; ht=$3; dst=$4
    if OPENSC_DEBUG=9 p11 --login --pin "$PIN" --sign --mechanism "$mech" --id $SIG_ID -i "$WORK/msg.bin" \
        -o "$WORK/sig-$mech.bin" >"$WORK/sign-$mech.log" 2>&1; then
        grep -q "^00 2A 90 A0" "$WORK/sign-$mech.log" || fail "$mech did not use PSO HASH"
        openssl dgst -$alg -verify "$WORK/$SIG_ID.pub" -signature "$WORK/sig-$mech.bin" "$WORK/msg.bin" >/dev/null \
            || fail "the $mech signature does not verify"
        ok "pkcs11-tool $mech with key 0x81: PSO HASH + PSO CDS, signature verifies"
    else
        grep -q "^00 22 41 AA 03 80 01 $ht" "$WORK/sign-$mech.log" || fail "$mech: no MSE SET HT alg $ht"
        grep -q "^00 22 41 B6 06 84 01 81 80 01 $dst" "$WORK/sign-$mech.log" || fail "$mech: no MSE SET DST alg $dst key 81"
        if grep -q "iasecc_qsign_data_$alg: returning with: -1408" "$WORK/sign-$mech.log"; then
            known "$mech with key 0x81: the card accepted MSE HT/DST; OpenSC 0.23 + OpenSSL 3 cannot build PSO HASH (iasecc_qsign_data_$alg: Not supported)"
            [ "${STRICT_OPENSC:-0}" = 1 ] && fail "$mech (STRICT_OPENSC=1)"
        else
            grep -E "error|returning with: -" "$WORK/sign-$mech.log" | tail -n 5 >&2
            fail "$mech with key 0x81 failed for another reason"
        fi
    fi
done

# 7. A wrong PIN through PKCS#11 decrements the counter; the right PIN afterwards resets it to 3.
p11 --login --pin 9999 --list-objects >"$WORK/wrong.txt" 2>&1 && fail "login with a wrong PIN succeeded"
grep -q "CKR_PIN_INCORRECT" "$WORK/wrong.txt" || { cat "$WORK/wrong.txt" >&2; fail "wrong PIN did not give CKR_PIN_INCORRECT"; }
[ "$(tries_left)" = 2 ] || fail "after a wrong PIN the card shows '$(tries_left)' tries, expected 2"
p11 --login --pin "$PIN" --list-objects >"$WORK/right.txt" 2>&1 || fail "login with the right PIN failed"
[ "$(tries_left)" = 3 ] || fail "after the right PIN the card shows '$(tries_left)' tries, expected 3"
ok "pkcs11-tool: wrong PIN → CKR_PIN_INCORRECT and 2 tries; right PIN → 3 tries"

# 8. pkcs11-tool --test: everything that applies to a card without key generation. Allowed errors: only the
#    OpenSC 0.23 + OpenSSL 3 hash-on-card defect of check 6 (C_Sign CKR_FUNCTION_NOT_SUPPORTED with CPS_PRIV_SIG).
p11 --test --login --pin "$PIN" >"$WORK/test.txt" 2>&1
errors=$(sed -n 's/^\([0-9]*\) errors$/\1/p' "$WORK/test.txt")
[ -n "$errors" ] || { tail -n 20 "$WORK/test.txt" >&2; fail "pkcs11-tool --test did not finish"; }
grep -q "RSA-PKCS: OK" "$WORK/test.txt" || fail "pkcs11-tool --test: no RSA-PKCS OK"
[ "$(grep -c 'RSA-PKCS: OK' "$WORK/test.txt")" -ge 2 ] || fail "pkcs11-tool --test: signature and decryption with CPS_PRIV_AUT must both be OK"
unexpected=$(grep "ERR" "$WORK/test.txt" | grep -vc "C_Sign() returned CKR_FUNCTION_NOT_SUPPORTED")
[ "$unexpected" = 0 ] || { grep "ERR" "$WORK/test.txt" >&2; fail "pkcs11-tool --test: unexpected errors"; }
if [ "$errors" != 0 ]; then
    known "pkcs11-tool --test: $errors error(s), all C_Sign CKR_FUNCTION_NOT_SUPPORTED on CPS_PRIV_SIG (check 6)"
    [ "${STRICT_OPENSC:-0}" = 1 ] && fail "pkcs11-tool --test (STRICT_OPENSC=1)"
fi
ok "pkcs11-tool --test --login: RSA-PKCS signature and decryption OK with CPS_PRIV_AUT"

# 9. Figures for "list certificates, log in, sign" done by OpenSC on a fresh card (carte bench reads them).
start_sim "$WORK/transcript.json"
pkcs15-tool -r 0 --list-certificates >"$WORK/m1.txt" 2>&1 || { tail -n 5 "$WORK/m1.txt" >&2; fail "measurement: list certificates"; }
p11 --login --pin "$PIN" --sign --mechanism RSA-PKCS --id $AUT_ID -i "$WORK/di-sha256.bin" -o "$WORK/sig-m.bin" \
    >"$WORK/m2.txt" 2>&1 || { tail -n 5 "$WORK/m2.txt" >&2; fail "measurement: log in and sign"; }
stop_sim
[ -s "$WORK/transcript.json" ] || fail "carte simulate wrote no transcript summary"
cp "$WORK/transcript.json" "$REPORT"
echo "opensc-checks: figures (OpenSC: list certificates, log in, sign RSA-PKCS): $(cat "$REPORT")"
ok "figures written to $REPORT"

echo "opensc-checks: $PASSED checks passed, $KNOWN known OpenSC limitation(s)"
exit 0
