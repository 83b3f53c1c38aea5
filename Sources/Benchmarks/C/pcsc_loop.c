/* The C reference of `carte bench` "host": the same SCardTransmit loop as our Swift stack, through libpcsclite.
 *
 * Usage: pcsc_loop READER COUNT APDU_HEX
 * Connects to READER (T=0 or T=1, shared), sends APDU_HEX COUNT times, and prints one line:
 *   median_ns=<median round trip> min_ns=<fastest> count=<COUNT>
 * Exit 0 on success, 3 when PC/SC fails (the message on stderr). Build: cc -O2 pcsc_loop.c -lpcsclite
 * (with `pkg-config --cflags libpcsclite`). */
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: pcsc_loop READER COUNT APDU_HEX\n");
        return 2;
    }
    long count = strtol(argv[2], NULL, 10);
    unsigned char apdu[261];
    size_t n = strlen(argv[3]) / 2;
    if (count < 1 || count > 1000000 || n < 4 || n > sizeof apdu) {
        fprintf(stderr, "pcsc_loop: bad COUNT or APDU\n");
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        if (sscanf(argv[3] + 2 * i, "%2x", &b) != 1) { fprintf(stderr, "pcsc_loop: APDU is not hex\n"); return 2; }
        apdu[i] = (unsigned char)b;
    }
    SCARDCONTEXT ctx;
    SCARDHANDLE card;
    DWORD proto;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) { fprintf(stderr, "pcsc_loop: %s\n", pcsc_stringify_error(rv)); return 3; }
    rv = SCardConnect(ctx, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &proto);
    if (rv != SCARD_S_SUCCESS) { fprintf(stderr, "pcsc_loop: %s\n", pcsc_stringify_error(rv)); return 3; }
    const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
    int64_t *t = calloc((size_t)count, sizeof *t);
    if (!t) return 3;
    for (long i = 0; i < count; i++) {
        unsigned char r[258];
        DWORD rl = sizeof r;
        int64_t s = now_ns();
        rv = SCardTransmit(card, pci, apdu, (DWORD)n, NULL, r, &rl);
        t[i] = now_ns() - s;
        if (rv != SCARD_S_SUCCESS) { fprintf(stderr, "pcsc_loop: %s\n", pcsc_stringify_error(rv)); return 3; }
    }
    qsort(t, (size_t)count, sizeof *t, cmp64);
    printf("median_ns=%lld min_ns=%lld count=%ld\n", (long long)t[count / 2], (long long)t[0], count);
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(ctx);
    free(t);
    return 0;
}
