/* The function image's entrypoint: listen on the service's port, then exec the service with the
 * listening socket as file descriptor 3 (LISTEN_FDS=1 and LISTEN_PID, systemd's convention).
 *
 *   ENTRYPOINT ["/usr/local/bin/listen-first", "/usr/bin/python3", "-m", "fn"]   (Dockerfile.fn)
 *
 * Why: the image has no health check (an exec per interval is what an idle replica spent most on),
 * so swarm, and faas-swarm with it, routes to a task as soon as its process has started: about
 * 40 ms later on the real gateway, while Python takes about 0.3 s to load the model and listen. A
 * connection made before anything listens is refused (the gateway answers 500); one made after
 * this bind waits in the backlog until Python accepts it. This program binds within a millisecond
 * of the start, so a woken replica takes its first request without a refusal and without waiting
 * for a check. fn/server/serve.py takes the socket over when it is the address the settings ask
 * for, and binds its own otherwise (a --port flag, say).
 *
 * The address comes from the variables the service reads: `host` (default 0.0.0.0), then `port`
 * or `PORT` (default 8080; fn/server/settings.py; tests/test_listen_first.py holds them equal).
 * Under AWS Lambda (AWS_LAMBDA_RUNTIME_API set) the service serves the Runtime API, not a port,
 * so nothing is bound. Nothing here can stop the start: if the bind fails (the port is taken, a
 * name does not resolve) the service is started without a socket and says why itself when it
 * binds. Compiled in the images' build stage; nothing here but libc. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { LISTEN_FD = 3, BACKLOG = 2048 /* fn/server/serve.py listen() */ };

static const char *setting(const char *const names[], const char *fallback) {
    for (; *names; names++) {
        const char *value = getenv(*names);
        if (value && *value) return value;
    }
    return fallback;
}

/* A listening socket on host:port as fd LISTEN_FD, or -1. */
static int listen_on(const char *host, const char *port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *found;
    if (getaddrinfo(host, port, &hints, &found) != 0) return -1;
    int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol), on = 1;
    int ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
             bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, BACKLOG) == 0;
    freeaddrinfo(found);
    if (!ok) {
        if (fd >= 0) close(fd);
        return -1;
    }
    if (fd != LISTEN_FD) {
        if (dup2(fd, LISTEN_FD) < 0) {
            close(fd);
            return -1;
        }
        close(fd);
    }
    return LISTEN_FD;
}

int main(int argc, char **argv) {
    static const char *const HOST[] = {"host", NULL}, *const PORT[] = {"port", "PORT", NULL};
    static const char *const LAMBDA[] = {"AWS_LAMBDA_RUNTIME_API", NULL};
    char pid[24];
    if (argc < 2) {
        fprintf(stderr, "usage: listen-first COMMAND [ARGUMENT...]\n");
        return 2;
    }
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    if (!setting(LAMBDA, NULL) && listen_on(setting(HOST, "0.0.0.0"), setting(PORT, "8080")) == LISTEN_FD) {
        snprintf(pid, sizeof pid, "%ld", (long)getpid()); /* exec keeps the pid */
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_PID", pid, 1);
    }
    execv(argv[1], argv + 1);
    perror("listen-first: exec");
    return 127;
}
