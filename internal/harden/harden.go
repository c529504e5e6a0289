// Package harden closes azexec's own process to the processes it starts and
// to core dumps.
//
// A supervising azexec (--inject endpoint, --supervise, an auth file on
// disk) keeps running next to COMMAND as the same user, and it holds what
// COMMAND must not have: the client secret or certificate password of the
// identity, the keyring's passphrase, every resolved value. Same-user
// processes may normally read each other's /proc/PID/environ and
// /proc/PID/mem and attach with ptrace, and a crash (GOTRACEBACK=crash, a
// SIGABRT) writes the whole heap to a core file. So, before anything secret
// is read, Process does what ssh-agent and gpg-agent do:
//
//   - Linux: prctl(PR_SET_DUMPABLE, 0). The kernel then refuses ptrace
//     attach and /proc/PID/{environ,mem,maps,...} to every process without
//     CAP_SYS_PTRACE (the /proc files become root's), and it never writes a
//     core file for the process, whatever core_pattern says (a pipe to
//     systemd-coredump or apport included). execve resets the flag, so
//     COMMAND itself stays dumpable and debuggable as usual.
//   - Every Unix, Linux included: the soft RLIMIT_CORE becomes 0, so that
//     no core file is written where nothing else stops it (other Unix
//     systems have no PR_SET_DUMPABLE), and a pipe handler that honours the
//     limit (systemd-coredump, apport) stores nothing. The hard limit is
//     left as it was, so the original soft limit can be restored.
//
// What remains:
//   - The initial environment block (what /proc/self/environ shows) cannot
//     be cleared from user space; non-dumpable makes it unreadable to
//     others instead. On other Unix systems a same-user process can still
//     read it (macOS: ps -E and sysctl KERN_PROCARGS2) and, where the
//     system allows same-user debugging, attach to azexec; only the core
//     file is stopped there.
//   - Windows: nothing here applies. Same-user processes can open azexec
//     with PROCESS_VM_READ; keep secrets out of the environment azexec is
//     started with, or run COMMAND as another user.
//   - root, or anyone with CAP_SYS_PTRACE, reads everything anyway.
//   - The soft core limit 0 is inherited by a supervised COMMAND, because Go
//     cannot run code between fork and exec: see RestoreForExec.
package harden
