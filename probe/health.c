/* The images' health check: exit 0 when this container's service answers GET /_/ready with 200.
 *
 *   HEALTHCHECK CMD ["/usr/local/bin/health"]         (Dockerfile.fn: port 8080)
 *   HEALTHCHECK CMD ["/usr/local/bin/health", "8000"] (Dockerfile.server)
 *
 * Docker runs it every `interval` in every replica, idle or not, and swarm (OpenFaaS's faas-swarm)
 * routes to a task only once it has passed: so its interval bounds what it adds to a cold start,
 * and its cost is what an idle replica spends on being watched. A Python check cost 38.6 ms of CPU
 * per run (an interpreter start); this one costs what an exec costs, so the interval can be short.
 * The port comes from the variables the service reads, `port` then `PORT` (fn/server/settings.py;
 * tests/test_health.py holds the two equal), else the first argument, else 8080.
 * Compiled in the images' build stage; nothing here but libc. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *PORT_VARIABLES[] = {"port", "PORT"};

static int port_from(const char *name, const char *text) {
    char *end;
    long port = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "health: %s (%s) is not a port\n", text, name);
        exit(1);
    }
    return (int)port;
}

/* 1 when 127.0.0.1:port answers GET /_/ready with a 200 status line within 2 s. */
static int ready(int port) {
    static const char request[] = "GET /_/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    struct timeval timeout = {2, 0};
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    char status[64] = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    int ok = connect(fd, (struct sockaddr *)&address, sizeof address) == 0 &&
             send(fd, request, sizeof request - 1, 0) == (ssize_t)(sizeof request - 1) &&
             recv(fd, status, sizeof status - 1, 0) >= 12 &&
             strncmp(status, "HTTP/1.", 7) == 0 && strncmp(status + 8, " 200", 4) == 0;
    close(fd);
    return ok;
}

int main(int argc, char **argv) {
    const char *name = "argument 1", *text = argc > 1 ? argv[1] : "8080";
    for (size_t i = 0; i < sizeof PORT_VARIABLES / sizeof *PORT_VARIABLES; i++) {
        const char *value = getenv(PORT_VARIABLES[i]);
        if (value && *value) { name = PORT_VARIABLES[i]; text = value; break; }
    }
    return ready(port_from(name, text)) ? 0 : 1;
}
