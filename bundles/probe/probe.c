/* probe: a tiny static program run inside test containers (like crun's tests/init.c).
 * Each subcommand prints one fact about the process it runs as, one item per line. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static int cat(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "probe: %s: %s\n", path, strerror(errno)); return 1; }
    char buf[4096]; size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}

static int ids(void) {
    gid_t groups[256]; int n = getgroups(256, groups);
    printf("uid=%u gid=%u euid=%u egid=%u groups=", getuid(), getgid(), geteuid(), getegid());
    for (int i = 0; i < n; i++) printf(i ? ",%u" : "%u", groups[i]);
    printf("\numask=%03o\n", umask(0));
    return 0;
}

static int fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) { perror("probe: /proc/self/fd"); return 1; }
    int self = dirfd(d); struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
        char p[300], t[PATH_MAX]; snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(p, t, sizeof t - 1); t[n > 0 ? n : 0] = 0;
        printf("%s %s\n", e->d_name, t);
    }
    closedir(d);
    return 0;
}

static int ns(void) {
    const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        char p[64], t[128]; snprintf(p, sizeof p, "/proc/self/ns/%s", names[i]);
        ssize_t n = readlink(p, t, sizeof t - 1); t[n > 0 ? n : 0] = 0;
        printf("%s %s\n", names[i], t);
    }
    return 0;
}

static int rlimits(void) {
    struct { int r; const char *n; } l[] = {{RLIMIT_NOFILE, "NOFILE"}, {RLIMIT_NPROC, "NPROC"}, {RLIMIT_CORE, "CORE"}, {RLIMIT_STACK, "STACK"}};
    for (unsigned i = 0; i < sizeof l / sizeof *l; i++) {
        struct rlimit r; getrlimit(l[i].r, &r);
        printf("%s %llu %llu\n", l[i].n, (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max);
    }
    return 0;
}

static int writefile(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { printf("write %s: %s\n", path, strerror(errno)); return 2; }
    if (write(fd, "x", 1) != 1) { printf("write %s: %s\n", path, strerror(errno)); return 2; }
    close(fd); printf("write %s: ok\n", path);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: probe ids|caps|cwd|env|rlimits|mounts|fds|ns|hostname|personality|set-personality N|exit N|write FILE|cat FILE\n"); return 64; }
    const char *c = argv[1];
    if (!strcmp(c, "ids")) return ids();
    if (!strcmp(c, "caps")) return cat("/proc/self/status");
    if (!strcmp(c, "cwd")) { char b[PATH_MAX]; if (!getcwd(b, sizeof b)) { perror("probe: getcwd"); return 1; } puts(b); return 0; }
    if (!strcmp(c, "env")) { for (char **e = environ; *e; e++) puts(*e); return 0; }
    if (!strcmp(c, "rlimits")) return rlimits();
    if (!strcmp(c, "mounts")) return cat("/proc/self/mountinfo");
    if (!strcmp(c, "fds")) return fds();
    if (!strcmp(c, "ns")) return ns();
    if (!strcmp(c, "hostname")) { char b[256]; gethostname(b, sizeof b); puts(b); return 0; }
    if (!strcmp(c, "personality")) { printf("%#x\n", personality(0xffffffff)); return 0; }
    if (!strcmp(c, "set-personality") && argc > 2) {
        if (personality(strtoul(argv[2], NULL, 0)) == -1) { perror("probe: personality"); return 1; }
        printf("%#x\n", personality(0xffffffff));
        return 0;
    }
    if (!strcmp(c, "exit") && argc > 2) return atoi(argv[2]);
    if (!strcmp(c, "write") && argc > 2) return writefile(argv[2]);
    if (!strcmp(c, "cat") && argc > 2) return cat(argv[2]);
    fprintf(stderr, "probe: unknown command %s\n", c);
    return 64;
}
