#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/Targets with Swift's -sanitize=fuzzer,address and runs each for SECONDS
# (default 10) from its seed corpus Fuzz/corpus/<target>/ (real bytes from the specs).
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]      e.g. scripts/fuzz.sh 60 atr tlv
#
# The modules under test are compiled straight from their sources with swiftc (one static library per module,
# instrumented), into .build-fuzz/ (kept between runs, rebuilt when a source changes). New inputs the fuzzer finds
# go to .build-fuzz/corpus/<target>/ (not committed); a crash stops the run, leaves its input in
# fuzz-artifacts/<target>/ and the script exits 1. Reproduce with: .build-fuzz/bin/fuzz-<target> <crash file>.
# Every crash becomes a regression test in the module's test target.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-10}"
shift || true
OUT=.build-fuzz
mkdir -p "$OUT/bin" "$OUT/corpus" fuzz-artifacts
SWIFTC="${SWIFTC:-swiftc}"
CLANG="${CLANG:-$(dirname "$(command -v "$SWIFTC")")/clang}"
[[ -x "$CLANG" ]] || CLANG=clang
FLAGS=(-swift-version 6 -package-name carte -parse-as-library -enable-testing -sanitize=fuzzer,address -Onone -gline-tables-only)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
# A crash is reported by libFuzzer and ASan; the Swift runtime's own backtracer would only add noise.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"

# module name, source directory, extra flags. Yams (with its C part CYaml, libyaml) and swift-log's Logging come
# from SwiftPM's checkouts (run `swift package resolve` once); they are instrumented like our modules.
CHECKOUTS=.build/checkouts
YAML_INCLUDE="$CHECKOUTS/Yams/Sources/CYaml/include"
declare -A MODULE_DIR=(
    [ISO7816]=Sources/ISO7816 [CarteCrypto]=Sources/CarteCrypto [INS]=Sources/INS [Vitale]=Sources/Vitale
    [CPS]=Sources/CPS [CCID]=Hardware/CCID
    [CYaml]="$CHECKOUTS/Yams/Sources/CYaml/src" [Yams]="$CHECKOUTS/Yams/Sources/Yams"
    [Logging]="$CHECKOUTS/swift-log/Sources/Logging"
)
declare -A MODULE_FLAGS=(
    [CarteCrypto]="-I Sources/COpenSSL" [CCID]="-I Hardware/CLibUSB"
    # Yams is a Swift 5 package; -swift-version 5 after FLAGS' 6 wins.
    [Yams]="-suppress-warnings -swift-version 5 -D SWIFT_PACKAGE -I $YAML_INCLUDE -Xcc -DYAML_DECLARE_STATIC"
    # swift-log's own upcoming features (its Package.swift).
    [Logging]="-suppress-warnings -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature NonisolatedNonsendingByDefault"
)
# C modules: compiled with clang, instrumented for the fuzzer and ASan.
declare -A MODULE_C_FLAGS=([CYaml]="-I $YAML_INCLUDE -DYAML_DECLARE_STATIC")

# target name → modules it links, in dependency order (dependents first)
declare -A TARGET_MODULES=(
    [atr]="ISO7816"
    [tlv]="ISO7816"
    [response-apdu]="ISO7816"
    [vitale]="Vitale INS CarteCrypto ISO7816"
    [certificate]="CarteCrypto ISO7816"
    [cps]="CPS CarteCrypto ISO7816"
    [t1]="ISO7816"
    [ccid]="CCID ISO7816"
    [vpcd]="ISO7816"
    [config]="Yams CYaml Logging ISO7816"
    [api-json]="ISO7816"
)
declare -A TARGET_SOURCE=(
    [atr]=FuzzATR.swift [tlv]=FuzzTLV.swift [response-apdu]=FuzzResponseAPDU.swift [vitale]=FuzzVitale.swift
    [certificate]=FuzzCertificate.swift [cps]=FuzzCPS.swift [t1]=FuzzT1.swift [ccid]=FuzzCCID.swift
    [vpcd]=FuzzVPCD.swift [config]=FuzzConfig.swift [api-json]=FuzzAPIJSON.swift
)
# sources compiled into the target itself (modules that cannot be built alone, e.g. with SwiftPM resources, or the
# Terminal module, whose parsing files depend on Foundation, Yams and Logging only while the rest needs NIO/GRDB)
declare -A TARGET_EXTRA=(
    [vpcd]="Simulators/VirtualPCD/VPCDFrameParser.swift Simulators/VirtualPCD/VPCDControl.swift"
    [config]="Sources/Terminal/TerminalConfiguration.swift Sources/Terminal/ReaderRole.swift Sources/Terminal/TerminalError.swift"
    [api-json]="Sources/Terminal/TerminalAPIBodies.swift Sources/Terminal/PINCode.swift Sources/Terminal/TerminalError.swift"
)
ALL_TARGETS=(atr tlv response-apdu vitale certificate cps t1 ccid vpcd config api-json)

build_c_module() {
    local m="$1" dir="${MODULE_DIR[$1]}" lib="$OUT/lib$1.a" objdir="$OUT/obj/$1" f objs=()
    if [[ -f "$lib" ]] && [[ -z "$(find "$dir" -name '*.[ch]' -newer "$lib" | head -1)" ]]; then return 0; fi
    echo "fuzz: building C module $m (instrumented)"
    mkdir -p "$objdir"
    for f in $(find "$dir" -name '*.c' | sort); do
        # shellcheck disable=SC2086
        "$CLANG" -fsanitize=fuzzer-no-link,address -O1 -gline-tables-only -fPIC ${MODULE_C_FLAGS[$m]:-} \
            -c "$f" -o "$objdir/$(basename "$f" .c).o"
        objs+=("$objdir/$(basename "$f" .c).o")
    done
    rm -f "$lib"
    ar rcs "$lib" "${objs[@]}"
}

build_module() {
    local m="$1" dir="${MODULE_DIR[$1]}" lib="$OUT/lib$1.a"
    [[ -d "$dir" ]] || { echo "fuzz: $dir is missing (run swift package resolve)" >&2; exit 2; }
    if [[ -n "${MODULE_C_FLAGS[$m]:-}" ]]; then build_c_module "$m"; return; fi
    if [[ -f "$lib" ]] && [[ -z "$(find "$dir" -name '*.swift' -newer "$lib" | head -1)" ]]; then return 0; fi
    echo "fuzz: building module $m (instrumented)"
    # shellcheck disable=SC2086
    "$SWIFTC" "${FLAGS[@]}" ${MODULE_FLAGS[$m]:-} -I "$OUT" -I Sources/COpenSSL -module-name "$m" -wmo \
        -emit-module -emit-module-path "$OUT/$m.swiftmodule" -emit-library -static -o "$lib" \
        $(find "$dir" -name '*.swift' | sort)
}

build_target() {
    local t="$1" bin="$OUT/bin/fuzz-$1" libs=() m mods
    read -r -a mods <<<"${TARGET_MODULES[$t]:-}"
    # dependencies first
    for ((i = ${#mods[@]} - 1; i >= 0; i--)); do
        m="${mods[$i]}"
        [[ " ${BUILT[*]:-} " == *" $m "* ]] || { build_module "$m"; BUILT+=("$m"); }
    done
    for m in "${mods[@]+"${mods[@]}"}"; do libs+=("$OUT/lib$m.a"); done
    local src="Fuzz/Targets/${TARGET_SOURCE[$t]}" extra=()
    read -r -a extra <<<"${TARGET_EXTRA[$t]:-}"
    if [[ -x "$bin" ]] && [[ -z "$(find "$src" Fuzz/Targets/FuzzSupport.swift "${extra[@]+"${extra[@]}"}" "${libs[@]+"${libs[@]}"}" -newer "$bin" | head -1)" ]]
    then return 0; fi
    echo "fuzz: linking fuzz-$t"
    "$SWIFTC" "${FLAGS[@]}" -I "$OUT" -I Sources/COpenSSL -I Hardware/CLibUSB -I "$YAML_INCLUDE" \
        -module-name "Fuzz_${t//-/_}" Fuzz/Targets/FuzzSupport.swift "$src" "${extra[@]+"${extra[@]}"}" \
        "${libs[@]+"${libs[@]}"}" -lssl -lcrypto -lusb-1.0 -o "$bin" 2>&1 \
        | grep -v "Cannot export local symbol" || true
    [[ -x "$bin" ]] || { echo "fuzz: could not build fuzz-$t" >&2; exit 2; }
}

TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")
BUILT=()
for t in "${TARGETS[@]}"; do
    [[ -n "${TARGET_SOURCE[$t]:-}" ]] || { echo "fuzz: unknown target $t (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
    build_target "$t"
done

status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "$OUT/corpus/$t" "fuzz-artifacts/$t" "Fuzz/corpus/$t"
    echo "fuzz: running fuzz-$t for ${SECONDS_PER_TARGET}s"
    if ! "$OUT/bin/fuzz-$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="fuzz-artifacts/$t/" "$OUT/corpus/$t" "Fuzz/corpus/$t" \
        >"$OUT/$t.log" 2>&1; then
        echo "fuzz: fuzz-$t FOUND A CRASH — see $OUT/$t.log and fuzz-artifacts/$t/" >&2
        grep -E "ERROR|Fatal error|invariant|SUMMARY|Test unit written" "$OUT/$t.log" | head -10 >&2 || true
        status=1
    else
        grep -E "stat::number_of_executed_units|cov: " "$OUT/$t.log" | tail -2 | tr '\n' ' '
        echo
    fi
done
exit $status
