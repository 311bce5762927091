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
#include <sched.h>
#include <sys/personality.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
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

/* json [PATH...]: everything the differential harness (integration/diff) compares, as
 * one JSON object; each PATH (masked/read-only candidates) is described too. */
static void js(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c > 0x7e) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}
static void jkey(const char *k) { js(k); putchar(':'); }
static void jfile(const char *k, const char *path) {
    char b[8192] = ""; FILE *f = fopen(path, "r");
    if (f) { size_t n = fread(b, 1, sizeof b - 1, f); b[n] = 0; fclose(f); }
    jkey(k); if (f) js(b); else printf("null"); putchar(',');
}
static int json(int argc, char **argv) {
    printf("{");
    FILE *st = fopen("/proc/self/status", "r"); char line[512];
    jkey("status"); printf("{");
    int first = 1;
    while (st && fgets(line, sizeof line, st)) {
        const char *want[] = {"Cap", "NoNewPrivs", "Seccomp:", "SigIgn", "SigBlk", "Uid", "Gid", "Groups"};
        for (unsigned i = 0; i < sizeof want / sizeof *want; i++)
            if (!strncmp(line, want[i], strlen(want[i]))) {
                char *colon = strchr(line, ':'); if (!colon) break;
                *colon = 0; char *v = colon + 1; while (*v == ' ' || *v == '\t') v++;
                v[strcspn(v, "\n")] = 0;
                if (!first) { putchar(','); } first = 0; jkey(line); js(v); break;
            }
    }
    if (st) fclose(st);
    printf("},");
    gid_t groups[256]; int n = getgroups(256, groups);
    printf("\"uid\":%u,\"gid\":%u,\"groups\":[", getuid(), getgid());
    for (int i = 0; i < n; i++) printf(i ? ",%u" : "%u", groups[i]);
    mode_t um = umask(0); umask(um);
    printf("],\"umask\":\"%03o\",", um);
    char cwd[PATH_MAX]; jkey("cwd"); if (getcwd(cwd, sizeof cwd)) js(cwd); else printf("null"); putchar(',');
    jkey("env"); putchar('[');
    for (char **e = environ; *e; e++) { if (e != environ) putchar(','); js(*e); }
    printf("],");
    jkey("rlimits"); putchar('{');
    for (int r = 0; r < RLIM_NLIMITS; r++) {
        struct rlimit l; getrlimit(r, &l);
        printf("%s\"%d\":[\"%llu\",\"%llu\"]", r ? "," : "", r, (unsigned long long)l.rlim_cur, (unsigned long long)l.rlim_max);
    }
    printf("},");
    struct utsname u; uname(&u);
    jkey("hostname"); js(u.nodename); putchar(','); jkey("domainname"); js(u.domainname); putchar(',');
    jkey("ns"); putchar('{');
    const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        char p[64], t[128]; snprintf(p, sizeof p, "/proc/self/ns/%s", names[i]);
        ssize_t k = readlink(p, t, sizeof t - 1); t[k > 0 ? k : 0] = 0;
        if (i) { putchar(','); } jkey(names[i]); js(t);
    }
    printf("},");
    jfile("mountinfo", "/proc/self/mountinfo");
    jfile("oom_score_adj", "/proc/self/oom_score_adj");
    jfile("loginuid", "/proc/self/loginuid");
    printf("\"personality\":%d,", personality(0xffffffff));
    struct sched_param sp = {0}; sched_getparam(0, &sp);
    printf("\"sched\":[%d,%d],", sched_getscheduler(0), sp.sched_priority);
    printf("\"nice\":%d,", getpriority(PRIO_PROCESS, 0));
    printf("\"ioprio\":%ld,", syscall(SYS_ioprio_get, 1, 0));
    jkey("sysctl"); putchar('{');
    const char *sc[] = {"kernel/domainname", "kernel/shm_rmid_forced", "kernel/msgmax", "net/ipv4/ip_forward",
                        "net/core/somaxconn", "net/ipv4/ping_group_range", "fs/mqueue/queues_max"};
    for (unsigned i = 0; i < sizeof sc / sizeof *sc; i++) {
        char p[128], b[128] = ""; snprintf(p, sizeof p, "/proc/sys/%s", sc[i]);
        FILE *f = fopen(p, "r"); if (f) { if (!fgets(b, sizeof b, f)) b[0] = 0; fclose(f); }
        b[strcspn(b, "\n")] = 0; if (i) { putchar(','); } jkey(sc[i]); if (f) js(b); else printf("null");
    }
    printf("},");
    jkey("dev"); putchar('[');
    DIR *d = opendir("/dev"); struct dirent *e; first = 1;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[300], desc[400]; struct stat s; snprintf(p, sizeof p, "/dev/%s", e->d_name);
        if (lstat(p, &s)) continue;
        char t = S_ISCHR(s.st_mode) ? 'c' : S_ISBLK(s.st_mode) ? 'b' : S_ISDIR(s.st_mode) ? 'd' : S_ISLNK(s.st_mode) ? 'l' : 'f';
        char lnk[256] = ""; if (t == 'l') { ssize_t k = readlink(p, lnk, sizeof lnk - 1); lnk[k > 0 ? k : 0] = 0; }
        if (t == 'c' || t == 'b')
            snprintf(desc, sizeof desc, "%s %c %u:%u %04o %u:%u", e->d_name, t, major(s.st_rdev), minor(s.st_rdev), s.st_mode & 07777, s.st_uid, s.st_gid);
        else snprintf(desc, sizeof desc, "%s %c %s", e->d_name, t, lnk);
        if (!first) { putchar(','); } first = 0; js(desc);
    }
    if (d) closedir(d);
    printf("],");
    jkey("paths"); putchar('{');
    for (int i = 0; i < argc; i++) {
        struct stat s; struct statvfs v; char desc[256];
        if (lstat(argv[i], &s)) snprintf(desc, sizeof desc, "missing");
        else {
            int fd = open(argv[i], O_RDONLY | O_NONBLOCK | O_NOCTTY); char b[16]; long r = -1;
            if (fd >= 0) { if (!S_ISDIR(s.st_mode)) r = read(fd, b, sizeof b); close(fd); }
            int ro = !statvfs(argv[i], &v) && (v.f_flag & ST_RDONLY);
            snprintf(desc, sizeof desc, "%s open=%s read=%s ro=%d w=%d", S_ISDIR(s.st_mode) ? "dir" : S_ISCHR(s.st_mode) ? "chr" : "file",
                     fd >= 0 ? "ok" : "err", r > 0 ? "data" : r == 0 ? "empty" : "none", ro, access(argv[i], W_OK) == 0);
        }
        if (i) { putchar(','); } jkey(argv[i]); js(desc);
    }
    printf("}}\n");
    return 0;
}

/* cgroup: sizes the process from its own cgroup files the way a JVM does
 * (CgroupSubsystemFactory): find the controller's mount in /proc/self/mountinfo,
 * map the process's path from /proc/self/cgroup onto it (mount root "/" -> mount
 * point + path; else strip the mount root), read the limit files there. Prints
 * `layout=v1|v2 memory=N|max cpu_quota=N|max cpu_period=N pids=N|max`. */
static int cg_dir(const char *ctrl, int v2, char *out, size_t outsz) {
    char line[4096], root[PATH_MAX], mnt[PATH_MAX], path[PATH_MAX] = "";
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (!b) continue;
        *a = *b = 0; /* line: the hierarchy ID, a + 1: its controllers */
        int match = v2 ? !strcmp(line, "0") && a[1] == 0 : 0;
        if (!v2) { char *t, *sv = NULL, c[256]; snprintf(c, sizeof c, "%s", a + 1);
            for (t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) if (!strcmp(t, ctrl)) match = 1; }
        if (match) { snprintf(path, sizeof path, "%s", b + 1); break; }
    }
    fclose(f);
    if (!path[0]) return -1;
    f = fopen("/proc/self/mountinfo", "r");
    if (!f) return -1;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - ");
        if (!sep) continue;
        char fstype[64], src[256], opts[1024] = "";
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2) continue;
        if (sscanf(sep + 3, "%63s %255s %1023s", fstype, src, opts) < 2) continue;
        if (v2) { found = !strcmp(fstype, "cgroup2"); continue; }
        if (strcmp(fstype, "cgroup")) continue;
        char *t, *sv = NULL;
        for (t = strtok_r(opts, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) if (!strcmp(t, ctrl)) found = 1;
    }
    fclose(f);
    if (!found) return -1;
    size_t rl = strlen(root);
    if (!strcmp(root, "/")) snprintf(out, outsz, "%s%s", mnt, strcmp(path, "/") ? path : "");
    else if (!strncmp(path, root, rl) && (path[rl] == 0 || path[rl] == '/')) snprintf(out, outsz, "%s%s", mnt, path + rl);
    else return -1;
    return 0;
}

static void cg_read(const char *dir, const char *file, char *out, size_t n) {
    char p[PATH_MAX * 2]; snprintf(p, sizeof p, "%s/%s", dir, file);
    snprintf(out, n, "?");
    FILE *f = fopen(p, "r");
    if (!f) return;
    if (fgets(out, n, f)) out[strcspn(out, "\n")] = 0;
    fclose(f);
}

static int cgroup_limits(void) {
    char line[4096]; int v2 = 0;
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) { perror("probe: mountinfo"); return 1; }
    while (fgets(line, sizeof line, f)) { char *sep = strstr(line, " - ");
        if (sep && !strncmp(sep + 3, "cgroup2 ", 8) && strstr(line, " /sys/fs/cgroup ")) v2 = 1; }
    fclose(f);
    char d[PATH_MAX], mem[64] = "?", q[64] = "?", per[64] = "?", pids[64] = "?";
    if (v2) {
        if (cg_dir("", 1, d, sizeof d) == 0) {
            char cpu[128]; cg_read(d, "memory.max", mem, sizeof mem); cg_read(d, "pids.max", pids, sizeof pids);
            cg_read(d, "cpu.max", cpu, sizeof cpu); sscanf(cpu, "%63s %63s", q, per);
        }
    } else {
        if (cg_dir("memory", 0, d, sizeof d) == 0) {
            cg_read(d, "memory.limit_in_bytes", mem, sizeof mem);
            if (strtoull(mem, NULL, 10) >= 0x7ffffffffffff000ULL) snprintf(mem, sizeof mem, "max");
        }
        if (cg_dir("cpu", 0, d, sizeof d) == 0) {
            cg_read(d, "cpu.cfs_quota_us", q, sizeof q); cg_read(d, "cpu.cfs_period_us", per, sizeof per);
            if (!strcmp(q, "-1")) snprintf(q, sizeof q, "max");
        }
        if (cg_dir("pids", 0, d, sizeof d) == 0) cg_read(d, "pids.max", pids, sizeof pids);
    }
    printf("layout=%s memory=%s cpu_quota=%s cpu_period=%s pids=%s\n", v2 ? "v2" : "v1", mem, q, per, pids);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: probe json [PATH...]|ids|caps|cwd|env|rlimits|mounts|fds|ns|hostname|personality|set-personality N|exit N|write FILE|cat FILE|cgroup\n"); return 64; }
    const char *c = argv[1];
    if (!strcmp(c, "json")) return json(argc - 2, argv + 2);
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
    if (!strcmp(c, "cgroup")) return cgroup_limits();
    fprintf(stderr, "probe: unknown command %s\n", c);
    return 64;
}
