/*
 * http.h — the least HTTP/1.1 a keep-alive benchmark server needs, written once for
 * the C servers (the hub's and the libev callback one): find one request at the start
 * of a buffer, say whether the connection stays open, and the fixed responses.
 *
 * A request is read up to its blank line and answered with a 13-byte body. Refused
 * with 400 and a close: a request line or header that breaks RFC 9112's grammar, an
 * HTTP/1.1 request without Host, a version other than 1.0/1.1, a request that has not
 * ended within HTTP_MAX_REQUEST bytes, and any request with a body (Content-Length
 * other than 0, or Transfer-Encoding): these servers read none, so what followed would
 * be misread as the next request.
 */
#ifndef IO_HTTP_H
#define IO_HTTP_H

#include <stddef.h>

#define HTTP_MAX_REQUEST 8192
#define HTTP_BODY "Hello, World!" /* 13 bytes */

typedef enum { HTTP_INCOMPLETE, HTTP_COMPLETE, HTTP_BAD } http_status;

typedef struct http_request {
    size_t length;  /* bytes of the request, its blank line included */
    int keep_alive; /* the connection stays open after the response */
    int head;       /* HEAD: the response has no body */
} http_request;

/* Look for one request at the start of buf[0..len). HTTP_INCOMPLETE when more bytes
 * are needed (HTTP_BAD instead once len reaches HTTP_MAX_REQUEST). */
http_status http_parse(const char *buf, size_t len, http_request *req);

/* The response to a request (parsed as `req`), or the 400 when req is NULL; its length
 * in *len. A static string. */
const char *http_response(const http_request *req, size_t *len);

#endif /* IO_HTTP_H */
