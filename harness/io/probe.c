/*
 * probe.c — io_probe: the test tool of harness/io/check.sh.
 *
 *   io_probe send PORT DATA   connect to 127.0.0.1:PORT, send DATA (C escapes \r \n \t
 *                             \\ \xHH are decoded), print what comes back (escaped the
 *                             same way) until the server closes or stays silent for
 *                             300 ms (at most 3 s), then "<closed>" or "<open>"
 *   io_probe SERVER           a faulty echo server, keeping the servers' contract (port
 *                             on stdout, until SIGTERM), so the load generator's checks
 *                             can be seen to fire:
 *       corrupt-server        echoes, with byte 100 of every connection's stream flipped
 *       close-server          closes every connection at its first message
 *       silent-server         reads and never answers
 *       slow-server           echoes each read 10 ms after it arrived: a connection
 *                             cannot complete more than one round trip per 10 ms
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "conn.h"

static size_t unescape(const char *s, char *out)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            out[n++] = *s;
            continue;
        }
        s++;
        switch (*s) {
        case 'r': out[n++] = '\r'; break;
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'x': {
            unsigned v = 0;
            int k = 0;
            for (; k < 2 && s[1] && strchr("0123456789abcdefABCDEF", s[1]); k++, s++)
                v = v * 16 + (unsigned)(s[1] <= '9' ? s[1] - '0' : (s[1] | 0x20) - 'a' + 10);
            out[n++] = (char)v;
            break;
        }
        default: out[n++] = *s; break;
        }
    }
    return n;
}

static void print_escaped(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\n')
            fputs("\\n\n", stdout); /* a line per line, for the reader of a failed check */
        else if (c == '\\')
            fputs("\\\\", stdout);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static int send_mode(int port, const char *data)
{
    char *out = malloc(strlen(data) + 1);
    size_t len = unescape(data, out);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "io_probe: connect to port %d: %s\n", port, strerror(errno));
        return 1;
    }
    for (size_t done = 0; done < len;) {
        ssize_t n = send(fd, out + done, len - done, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close early: what it said is still read */
        done += (size_t)n;
    }
    char buf[4096];
    int closed = 0, waited_ms = 0;
    while (waited_ms < 3000) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 300) <= 0)
            break; /* 300 ms of silence: the answer is complete */
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            closed = 1;
            break;
        }
        print_escaped(buf, (size_t)n);
        waited_ms += 10;
    }
    printf("\n%s\n", closed ? "<closed>" : "<open>");
    close(fd);
    free(out);
    return 0;
}

typedef enum { CORRUPT, CLOSE, SILENT, SLOW } fault;
static fault kind;

static void *faulty(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[IO_BUF];
    uint64_t offset = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0 || kind == CLOSE)
            break;
        if (kind == SILENT)
            continue;
        if (kind == SLOW)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        if (kind == CORRUPT && offset <= 100 && offset + (uint64_t)n > 100)
            buf[100 - offset] ^= (char)0xff;
        offset += (uint64_t)n;
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "send") == 0)
        return send_mode(atoi(argv[2]), argv[3]);
    static const char *const faults[] = {"corrupt-server", "close-server", "silent-server",
                                         "slow-server"};
    for (int f = 0; argc == 2 && f < 4; f++) {
        if (strcmp(argv[1], faults[f]) != 0)
            continue;
        kind = (fault)f;
        int lfd = io_listen(0);
        for (;;) {
            int fd = accept(lfd, NULL, NULL);
            pthread_t t;
            if (fd >= 0 && pthread_create(&t, NULL, faulty, (void *)(intptr_t)fd) == 0)
                pthread_detach(t);
            else if (fd >= 0)
                close(fd);
        }
    }
    fprintf(stderr, "usage: io_probe send PORT DATA | corrupt-server | close-server | "
                    "silent-server | slow-server\n");
    return 2;
}
