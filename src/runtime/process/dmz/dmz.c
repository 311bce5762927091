/* k3rt-dmz: the container init's last hop. k3rt execs this tiny static program from
 * a sealed memfd, and it execs the user's program: argv = [path, argv0, args...].
 * So the init never execs with k3rt's own binary as /proc/self/exe, and a
 * malicious `#!/proc/self/exe` program can only reach this sealed copy
 * (CVE-2019-5736). No libc: three raw syscalls. */
#include <asm/unistd.h>

static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

__attribute__((noreturn, used)) void dmz_main(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    long err = -1;
    if (argc >= 2)
        err = sys3(__NR_execve, (long)argv[0], (long)(argv + 1), (long)envp);
    char msg[] = "k3rt-dmz: exec failed: errno   \n";
    long e = -err;
    msg[29] = (char)('0' + (e / 100) % 10);
    msg[30] = (char)('0' + (e / 10) % 10);
    msg[31] = (char)('0' + e % 10);
    sys3(__NR_write, 2, (long)msg, sizeof msg - 1);
    sys3(__NR_exit_group, 127, 0, 0);
    for (;;) {
    }
}

__asm__(".globl _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call dmz_main\n");
