/* http.c — one HTTP/1.1 request at a time (http.h); grammar from RFC 9112 / 9110. */
#include <string.h>
#include <strings.h>
#include "http.h"

#define HEADERS "Content-Type: text/plain\r\nContent-Length: 13\r\n"
static const char ok_keep[] = "HTTP/1.1 200 OK\r\n" HEADERS "\r\n" HTTP_BODY;
static const char ok_close[] = "HTTP/1.1 200 OK\r\n" HEADERS "Connection: close\r\n\r\n" HTTP_BODY;
static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 0\r\nConnection: close\r\n\r\n";
#define BODY_LEN (sizeof HTTP_BODY - 1)

const char *http_response(const http_request *req, size_t *len)
{
    if (!req) {
        *len = sizeof bad - 1;
        return bad;
    }
    const char *r = req->keep_alive ? ok_keep : ok_close;
    *len = (req->keep_alive ? sizeof ok_keep : sizeof ok_close) - 1 - (req->head ? BODY_LEN : 0);
    return r;
}

/* tchar of RFC 9110: the characters of a method or a header name. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Length of the run of tchars at s (at most n). */
static size_t token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

/* Does the comma-separated list value[0..n) hold `word` (case-insensitive)? */
static int list_has(const char *value, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i < n;) {
        while (i < n && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
            i++;
        size_t j = i;
        while (j < n && value[j] != ',')
            j++;
        size_t k = j;
        while (k > i && (value[k - 1] == ' ' || value[k - 1] == '\t'))
            k--;
        if (k - i == w && strncasecmp(value + i, word, w) == 0)
            return 1;
        i = j;
    }
    return 0;
}

static int field_is(const char *name, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

/* Parse the header block buf[0..end) (request line + headers, each ending in CRLF, the
 * blank line excluded). */
static http_status parse_head(const char *buf, size_t end, http_request *req)
{
    const char *p = buf, *stop = buf + end;
    /* request-line = method SP request-target SP HTTP-version CRLF */
    size_t m = token(p, (size_t)(stop - p));
    if (m == 0 || p + m >= stop || p[m] != ' ')
        return HTTP_BAD;
    req->head = m == 4 && memcmp(p, "HEAD", 4) == 0;
    p += m + 1;
    const char *target = p;
    while (p < stop && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == target || p >= stop || *p != ' ')
        return HTTP_BAD;
    p++;
    if (stop - p < 10 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
        p[8] != '\r' || p[9] != '\n')
        return HTTP_BAD;
    int minor = p[7] - '0';
    p += 10;
    int host = 0, conn_close = 0, conn_keep = 0;
    /* field-line = field-name ":" OWS field-value OWS CRLF */
    while (p < stop) {
        const char *eol = memchr(p, '\r', (size_t)(stop - p));
        if (!eol || eol + 1 >= stop || eol[1] != '\n')
            return HTTP_BAD;
        size_t n = token(p, (size_t)(eol - p));
        if (n == 0 || p + n >= eol || p[n] != ':')
            return HTTP_BAD; /* no name, or whitespace before the colon */
        const char *v = p + n + 1;
        for (const char *q = v; q < eol; q++)
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
                return HTTP_BAD;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        size_t vn = (size_t)(eol - v);
        if (field_is(p, n, "host"))
            host++;
        else if (field_is(p, n, "connection")) {
            conn_close |= list_has(v, vn, "close");
            conn_keep |= list_has(v, vn, "keep-alive");
        } else if (field_is(p, n, "transfer-encoding"))
            return HTTP_BAD; /* a body: not read by this server */
        else if (field_is(p, n, "content-length")) {
            while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
                vn--;
            if (vn == 0)
                return HTTP_BAD;
            for (size_t i = 0; i < vn; i++)
                if (v[i] != '0')
                    return HTTP_BAD; /* not a number, or a body */
        }
        p = eol + 2;
    }
    if (minor == 1 && host != 1)
        return HTTP_BAD; /* RFC 9112 3.2: exactly one Host in an HTTP/1.1 request */
    req->keep_alive = minor == 1 ? !conn_close : conn_keep && !conn_close;
    return HTTP_COMPLETE;
}

http_status http_parse(const char *buf, size_t len, http_request *req)
{
    size_t skip = 0;
    while (skip + 1 < len && buf[skip] == '\r' && buf[skip + 1] == '\n')
        skip += 2; /* RFC 9112 2.2: empty lines before a request line are ignored */
    const char *start = buf + skip;
    size_t n = len - skip;
    for (size_t i = 0; i + 3 < n; i++)
        if (memcmp(start + i, "\r\n\r\n", 4) == 0) {
            if (skip + i + 4 > HTTP_MAX_REQUEST)
                return HTTP_BAD;
            req->length = skip + i + 4;
            return parse_head(start, i + 2, req);
        }
    return len >= HTTP_MAX_REQUEST ? HTTP_BAD : HTTP_INCOMPLETE;
}
