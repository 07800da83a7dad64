/*
 * conn.h — what the C servers of the I/O benchmarks share (harness/io/server_*.c).
 *
 * The contract every server keeps with the harness (harness/io/run.sh), the C ones
 * and harness/io/server_gevent.py alike:
 *   - argv[1] is the mode: "echo" (every byte received is sent back) or "http" (the
 *     keep-alive server of http.h);
 *   - it listens on 127.0.0.1, an ephemeral port (backlog SOMAXCONN), and prints the port
 *     as the first line on stdout;
 *   - it serves until SIGTERM; problems go to stderr, one line each (the load generator
 *     quotes the last one when a point fails).
 * Every server reads with the same IO_BUF-byte buffer per connection and sets
 * TCP_NODELAY on each connection. A client that resets its connection (the load
 * generator ends every point that way) is a normal end, not a problem.
 *
 * The readiness-driven servers (libev callbacks, libuv uv_poll) run the state machine
 * io_conn_ready(); the hub server and the thread-per-connection one run their own loop
 * over the same buffers and io_http_answer().
 */
#ifndef IO_CONN_H
#define IO_CONN_H

#include <stddef.h>

#define IO_BUF 16384

typedef enum { IO_ECHO, IO_HTTP } io_mode;

typedef struct io_conn {
    int fd;
    io_mode mode;
    int closing;             /* HTTP: close once the output is out */
    size_t in_len;           /* HTTP: bytes read and not yet answered */
    size_t out_off, out_len; /* output not yet written: out[out_off..out_len) */
    char *in;                /* IO_BUF bytes: what was read */
    char *out;               /* echo: == in; HTTP: IO_BUF bytes of responses */
} io_conn;

/* What to wait for next; IO_DONE: close the connection (io_conn_free). */
enum { IO_WANT_READ, IO_WANT_WRITE, IO_DONE };

/* Buffers for a connection on fd (TCP_NODELAY set): 0, or -1 (out of memory, noted). */
int io_conn_init(io_conn *c, int fd, io_mode mode);
/* close(2) the descriptor (unless fd < 0: the caller closed it) and free the buffers. */
void io_conn_free(io_conn *c);
/* A connection on the heap: `size` bytes (the caller's struct, holding the io_conn at
 * `offset`; or sizeof(io_conn), 0), the io_conn initialised on fd (io_conn_init). NULL,
 * fd closed and the reason noted, when memory runs out; free() it after io_conn_free(). */
void *io_conn_new(size_t size, size_t offset, int fd, io_mode mode);

/* The socket is ready for what the last call asked (first call: readable). Serves it
 * with at most one recv(2) (a level-triggered loop calls again if more is waiting) and
 * says what to wait for next. */
int io_conn_ready(io_conn *c);

/* HTTP: answer every complete request at the start of c->in, appending the responses
 * to c->out (as long as there is room) and dropping the requests from c->in; sets
 * c->closing after a request that ends the connection or a malformed one (answered
 * with 400). Returns how many requests it answered. */
int io_http_answer(io_conn *c);

/* The listening socket on 127.0.0.1:<ephemeral> (non-blocking if asked), its port
 * printed on stdout; on failure a message and exit(1). */
int io_listen(int nonblocking);
/* A connection from a non-blocking listening socket, itself non-blocking; -1 when none
 * is waiting (an error other than EAGAIN is noted). */
int io_accept(int listen_fd);
/* "echo" or "http" from argv[1] (http only if the server has it), and the options
 * after it: `--loop NAME` into *loop when loop is not NULL. Usage message and exit(2)
 * otherwise. */
io_mode io_args(int argc, char **argv, int has_http, const char **loop);
/* A line on stderr, unless it repeats the previous one (10 000 connections failing the
 * same way say so once). */
void io_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An errno that means the client went away (reset, broken pipe): a normal end. */
int io_client_gone(int err);

#endif /* IO_CONN_H */
