#!/bin/sh
# Start / stop a PRIVATE pcscd with the vpcd driver, without touching the system pcscd.
#
#   scripts/pcscd-vpcd.sh start    # idempotent; prints the line to eval:  export PCSCLITE_CSOCK_NAME=…
#   scripts/pcscd-vpcd.sh stop     # idempotent
#   scripts/pcscd-vpcd.sh status   # exit 0 when running and answering
#   scripts/pcscd-vpcd.sh env      # prints the export line only
#
# How it stays private (pcsc-lite 1.9.9, Debian 12):
# - the CLIENT library honours PCSCLITE_CSOCK_NAME, but the 1.9.9 DAEMON does not (its socket and pid file are
#   fixed at /run/pcscd/pcscd.comm and /run/pcscd/pcscd.pid). So pcscd runs in a private mount namespace
#   (`unshare --mount` as root; as another user `unshare --user --map-root-user --mount`, which needs
#   unprivileged user namespaces) where RUN_DIR/run is bind-mounted over /run/pcscd: its
#   socket appears as RUN_DIR/run/pcscd.comm and the system's /run/pcscd is never used.
#   (pcsc-lite >= 2.0 daemons read PCSCLITE_CSOCK_NAME too; the script then needs no namespace.)
# - `pcscd -c DIR` reads a private reader.conf.d holding only the vpcd entry.
# - vpcd (vsmartcard 0.8) listens in server mode on TCP 35963 (slot 0) and 35964 (slot 1) on ALL interfaces
#   (0.0.0.0): its DEVICENAME `/dev/null:PORT` has no bind-address field; a host name there switches vpcd to
#   reversed mode instead. Run this on a machine whose firewall blocks these ports from outside.
#
# Environment: CARTE_PCSCD_DIR (default /tmp/carte-pcscd), CARTE_VPCD_PORT (default 35963),
#              CARTE_VPCD_DRIVER (default: the installed libifdvpcd.so).
set -eu

DIR="${CARTE_PCSCD_DIR:-/tmp/carte-pcscd}"
RUN="$DIR/run"
CONF="$DIR/reader.conf.d"
LOG="$DIR/pcscd.log"
PIDFILE="$DIR/pcscd.launcher.pid"
SOCK="$RUN/pcscd.comm"
PORT="${CARTE_VPCD_PORT:-35963}"

find_driver() {
    if [ -n "${CARTE_VPCD_DRIVER:-}" ]; then echo "$CARTE_VPCD_DRIVER"; return; fi
    for f in /usr/lib/pcsc/drivers/serial/libifdvpcd.so /usr/lib/pcsc/drivers/serial/libifdvpcd.so.0.8 \
             /usr/local/lib/pcsc/drivers/serial/libifdvpcd.so /usr/lib/pcsc/drivers/serial/libvpcd.so; do
        if [ -e "$f" ]; then echo "$f"; return; fi
    done
    if [ -r /etc/reader.conf.d/vpcd ]; then
        sed -n 's/^LIBPATH[[:space:]]*//p' /etc/reader.conf.d/vpcd | head -n 1
        return
    fi
    echo ""
}

env_line() { echo "export PCSCLITE_CSOCK_NAME=$SOCK"; }

daemon_pid() {
    # pcscd writes its pid into the private run dir (= /run/pcscd inside the namespace).
    if [ -s "$RUN/pcscd.pid" ]; then
        p=$(tr -d '\0' < "$RUN/pcscd.pid" 2>/dev/null || true)
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q pcscd "/proc/$p/comm" 2>/dev/null \
            && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ]; then
            echo "$p"; return
        fi
    fi
    echo ""
}

answering() {
    # The daemon answers when a client can list readers (vpcd's readers appear a moment after start).
    PCSCLITE_CSOCK_NAME="$SOCK" timeout 3 sh -c 'command -v pcsc_scan >/dev/null && pcsc_scan -r 2>/dev/null | grep -q "Virtual PCD"' && return 0
    return 1
}

# Starts "$@" in the background, detached from our stdio, with every inherited descriptor above 2 closed: pcscd
# must not keep the caller's sockets or pipes open (a test's vpcd connection, a CI runner's output pipe).
launch() {
    nohup bash -c 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"; done; exec "$@"' \
        carte-pcscd "$@" >"$LOG" 2>&1 </dev/null &
}

start() {
    if [ -n "$(daemon_pid)" ] && [ -S "$SOCK" ]; then
        echo "pcscd (private, pid $(daemon_pid)) already running" >&2
        env_line
        return 0
    fi
    command -v pcscd >/dev/null || { echo "pcscd is not installed (apt-get install pcscd)" >&2; exit 1; }
    driver=$(find_driver)
    [ -n "$driver" ] && [ -e "$driver" ] || { echo "vpcd driver not found (apt-get install vsmartcard-vpcd)" >&2; exit 1; }
    mkdir -p "$RUN" "$CONF"
    rm -f "$RUN/pcscd.comm" "$RUN/pcscd.pid"
    hex=$(printf '0x%X' "$PORT")
    cat > "$CONF/vpcd" <<CONFEOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$hex
LIBPATH      $driver
CHANNELID    $hex
CONFEOF
    if pcscd --version 2>/dev/null | grep -Eq 'version (1\.|0\.)'; then
        # 1.x daemon: socket path is compiled in; isolate /run/pcscd in a private mount namespace.
        command -v unshare >/dev/null || { echo "unshare (util-linux) is needed for a private pcscd 1.x" >&2; exit 1; }
        if [ "$(id -u)" = 0 ]; then
            launch unshare --mount --propagation private sh -c \
                "mkdir -p /run/pcscd && mount --bind '$RUN' /run/pcscd && exec pcscd --foreground -c '$CONF'"
        else
            # Not root: a user namespace maps us to root inside; /run (root-owned) is covered by a tmpfs there.
            launch unshare --user --map-root-user --mount --propagation private sh -c \
                "mount -t tmpfs tmpfs /run && mkdir -p /run/pcscd && mount --bind '$RUN' /run/pcscd && exec pcscd --foreground -c '$CONF'"
        fi
    else
        PCSCLITE_CSOCK_NAME="$SOCK" launch pcscd --foreground -c "$CONF"
    fi
    echo $! > "$PIDFILE"
    i=0
    while [ $i -lt 50 ]; do
        if [ -S "$SOCK" ] && [ -n "$(daemon_pid)" ] && answering; then
            echo "pcscd (private, pid $(daemon_pid)) ready; vpcd slots on ports $PORT and $((PORT + 1)); log $LOG" >&2
            env_line
            return 0
        fi
        i=$((i + 1))
        sleep 0.1
    done
    echo "pcscd did not become ready in 5 s; log:" >&2
    tail -n 20 "$LOG" >&2 || true
    stop >/dev/null 2>&1 || true
    exit 1
}

stop() {
    p=$(daemon_pid)
    if [ -n "$p" ]; then
        kill -TERM "$p" 2>/dev/null || true
        i=0
        while [ $i -lt 30 ] && kill -0 "$p" 2>/dev/null; do i=$((i + 1)); sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    fi
    if [ -s "$PIDFILE" ]; then
        lp=$(cat "$PIDFILE")
        if kill -0 "$lp" 2>/dev/null && grep -Eq 'unshare|pcscd' "/proc/$lp/comm" 2>/dev/null; then
            kill -TERM "$lp" 2>/dev/null || true
        fi
        rm -f "$PIDFILE"
    fi
    rm -f "$RUN/pcscd.comm" "$RUN/pcscd.pid"
    echo "pcscd (private) stopped" >&2
}

status() {
    p=$(daemon_pid)
    if [ -n "$p" ] && [ -S "$SOCK" ] && answering; then
        echo "pcscd (private) running, pid $p, socket $SOCK" >&2
        env_line
        return 0
    fi
    echo "pcscd (private) not running" >&2
    return 1
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) status ;;
    env) env_line ;;
    *) echo "usage: $0 start|stop|restart|status|env" >&2; exit 2 ;;
esac
