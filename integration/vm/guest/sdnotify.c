/* sdnotify [MESSAGE]: sends MESSAGE (default READY=1) to $NOTIFY_SOCKET, as
 * systemd-notify does, from a static binary that runs in the busybox rootfs.
 * Exit 0 when sent, 1 on an error (printed), 2 without NOTIFY_SOCKET. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *msg = argc > 1 ? argv[1] : "READY=1";
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) {
        fprintf(stderr, "sdnotify: NOTIFY_SOCKET not set\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path) {
        fprintf(stderr, "sdnotify: socket path too long\n");
        return 1;
    }
    memcpy(sa.sun_path, path, n);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = 0; /* abstract */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa,
                         offsetof(struct sockaddr_un, sun_path) + n) < 0) {
        fprintf(stderr, "sdnotify: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}
