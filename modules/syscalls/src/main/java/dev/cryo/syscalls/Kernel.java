package dev.cryo.syscalls;

import dev.cryo.bindings.Linux;

/**
 * The kernel's constants that code outside {@code syscalls} names: system call numbers (for calls run in
 * another task), flags, requests, signals, errno values. Each is the bindings' value (jextract, from the C
 * headers, checked against gcc by the bindings' LayoutTest), held as a static final so that no module but
 * this one reaches the bindings.
 *
 * <p>One line a constant, {@code NAME = Linux.NAME()}, in the groups of bindings/jextract.args. To use another
 * one outside {@code syscalls}, list it in jextract.args (and cryo.h) if it is not there, regenerate the
 * bindings, and add its line to its group here; or better, give the call that needs it a typed method here.
 */
public final class Kernel {
    private Kernel() {}

    // syscall numbers
    public static final int __NR_openat = Linux.__NR_openat();
    public static final int __NR_close = Linux.__NR_close();
    public static final int __NR_tgkill = Linux.__NR_tgkill();
    public static final int __NR_write = Linux.__NR_write();
    public static final int __NR_lseek = Linux.__NR_lseek();
    public static final int __NR_ioctl = Linux.__NR_ioctl();
    public static final int __NR_mmap = Linux.__NR_mmap();
    public static final int __NR_munmap = Linux.__NR_munmap();
    public static final int __NR_mprotect = Linux.__NR_mprotect();
    public static final int __NR_mremap = Linux.__NR_mremap();
    public static final int __NR_madvise = Linux.__NR_madvise();
    public static final int __NR_pipe2 = Linux.__NR_pipe2();
    public static final int __NR_vmsplice = Linux.__NR_vmsplice();
    public static final int __NR_fcntl = Linux.__NR_fcntl();
    public static final int __NR_kill = Linux.__NR_kill();
    public static final int __NR_getpid = Linux.__NR_getpid();
    public static final int __NR_gettid = Linux.__NR_gettid();
    public static final int __NR_getppid = Linux.__NR_getppid();
    public static final int __NR_prctl = Linux.__NR_prctl();
    public static final int __NR_socket = Linux.__NR_socket();
    public static final int __NR_bind = Linux.__NR_bind();
    public static final int __NR_listen = Linux.__NR_listen();
    public static final int __NR_connect = Linux.__NR_connect();
    public static final int __NR_socketpair = Linux.__NR_socketpair();
    public static final int __NR_recvmsg = Linux.__NR_recvmsg();
    public static final int __NR_clone3 = Linux.__NR_clone3();
    public static final int __NR_exit_group = Linux.__NR_exit_group();
    public static final int __NR_rt_sigaction = Linux.__NR_rt_sigaction();
    public static final int __NR_rt_sigprocmask = Linux.__NR_rt_sigprocmask();
    public static final int __NR_rt_sigqueueinfo = Linux.__NR_rt_sigqueueinfo();
    public static final int __NR_rt_tgsigqueueinfo = Linux.__NR_rt_tgsigqueueinfo();
    public static final int __NR_sigaltstack = Linux.__NR_sigaltstack();
    public static final int __NR_getitimer = Linux.__NR_getitimer();
    public static final int __NR_brk = Linux.__NR_brk();
    public static final int __NR_setitimer = Linux.__NR_setitimer();
    public static final int __NR_prlimit64 = Linux.__NR_prlimit64();
    public static final int __NR_dup2 = Linux.__NR_dup2();
    public static final int __NR_dup3 = Linux.__NR_dup3();
    public static final int __NR_userfaultfd = Linux.__NR_userfaultfd();
    public static final int __NR_rseq = Linux.__NR_rseq();
    public static final int __NR_set_robust_list = Linux.__NR_set_robust_list();
    public static final int __NR_get_robust_list = Linux.__NR_get_robust_list();
    public static final int __NR_chdir = Linux.__NR_chdir();
    public static final int __NR_chroot = Linux.__NR_chroot();
    public static final int __NR_setresuid = Linux.__NR_setresuid();
    public static final int __NR_setresgid = Linux.__NR_setresgid();
    public static final int __NR_setgroups = Linux.__NR_setgroups();
    public static final int __NR_capset = Linux.__NR_capset();
    public static final int __NR_memfd_create = Linux.__NR_memfd_create();
    public static final int __NR_eventfd2 = Linux.__NR_eventfd2();
    public static final int __NR_set_tid_address = Linux.__NR_set_tid_address();
    public static final int __NR_setsid = Linux.__NR_setsid();
    public static final int __NR_setpgid = Linux.__NR_setpgid();
    public static final int __NR_getpgid = Linux.__NR_getpgid();
    public static final int __NR_getsid = Linux.__NR_getsid();
    public static final int __NR_nanosleep = Linux.__NR_nanosleep();
    public static final int __NR_clock_nanosleep = Linux.__NR_clock_nanosleep();
    public static final int __NR_restart_syscall = Linux.__NR_restart_syscall();
    public static final int __NR_personality = Linux.__NR_personality();
    public static final int __NR_close_range = Linux.__NR_close_range();
    public static final int __NR_umask = Linux.__NR_umask();
    public static final int __NR_setfsuid = Linux.__NR_setfsuid();
    public static final int __NR_setfsgid = Linux.__NR_setfsgid();
    public static final int __NR_setpriority = Linux.__NR_setpriority();
    public static final int __NR_sched_setscheduler = Linux.__NR_sched_setscheduler();

    // ptrace options and events
    public static final int PTRACE_O_TRACECLONE = Linux.PTRACE_O_TRACECLONE();
    public static final int PTRACE_O_TRACEFORK = Linux.PTRACE_O_TRACEFORK();
    public static final int PTRACE_O_TRACESYSGOOD = Linux.PTRACE_O_TRACESYSGOOD();
    public static final int PTRACE_O_EXITKILL = Linux.PTRACE_O_EXITKILL();
    public static final int PTRACE_EVENT_STOP = Linux.PTRACE_EVENT_STOP();
    public static final int PTRACE_EVENT_CLONE = Linux.PTRACE_EVENT_CLONE();
    public static final int PTRACE_EVENT_FORK = Linux.PTRACE_EVENT_FORK();
    public static final int PTRACE_EVENT_VFORK = Linux.PTRACE_EVENT_VFORK();

    // regset note types (elf.h)
    public static final int NT_PRSTATUS = Linux.NT_PRSTATUS();
    public static final int NT_X86_XSTATE = Linux.NT_X86_XSTATE();

    // mman
    public static final int PROT_READ = Linux.PROT_READ();
    public static final int PROT_WRITE = Linux.PROT_WRITE();
    public static final int PROT_EXEC = Linux.PROT_EXEC();
    public static final int MAP_PRIVATE = Linux.MAP_PRIVATE();
    public static final int MAP_SHARED = Linux.MAP_SHARED();
    public static final int MAP_ANONYMOUS = Linux.MAP_ANONYMOUS();
    public static final int MAP_FIXED = Linux.MAP_FIXED();
    public static final int MAP_FIXED_NOREPLACE = Linux.MAP_FIXED_NOREPLACE();
    public static final int MAP_GROWSDOWN = Linux.MAP_GROWSDOWN();
    public static final int MAP_NORESERVE = Linux.MAP_NORESERVE();
    public static final int MREMAP_MAYMOVE = Linux.MREMAP_MAYMOVE();
    public static final int MREMAP_FIXED = Linux.MREMAP_FIXED();
    public static final int MADV_DONTNEED = Linux.MADV_DONTNEED();
    public static final int MADV_DONTFORK = Linux.MADV_DONTFORK();
    public static final int MADV_HUGEPAGE = Linux.MADV_HUGEPAGE();
    public static final int MADV_NOHUGEPAGE = Linux.MADV_NOHUGEPAGE();
    public static final int MADV_WIPEONFORK = Linux.MADV_WIPEONFORK();
    public static final int MADV_DONTDUMP = Linux.MADV_DONTDUMP();
    public static final int MADV_MERGEABLE = Linux.MADV_MERGEABLE();
    public static final int MADV_SEQUENTIAL = Linux.MADV_SEQUENTIAL();
    public static final int MADV_RANDOM = Linux.MADV_RANDOM();

    // open flags
    public static final int O_RDONLY = Linux.O_RDONLY();
    public static final int O_WRONLY = Linux.O_WRONLY();
    public static final int O_RDWR = Linux.O_RDWR();
    public static final int O_CREAT = Linux.O_CREAT();
    public static final int O_EXCL = Linux.O_EXCL();
    public static final int O_TRUNC = Linux.O_TRUNC();
    public static final int O_NONBLOCK = Linux.O_NONBLOCK();
    public static final int O_DIRECTORY = Linux.O_DIRECTORY();
    public static final int O_NOFOLLOW = Linux.O_NOFOLLOW();
    public static final int O_CLOEXEC = Linux.O_CLOEXEC();
    public static final int O_NOCTTY = Linux.O_NOCTTY();
    public static final int O_ACCMODE = Linux.O_ACCMODE();

    // at / fcntl / splice / lseek
    public static final int AT_FDCWD = Linux.AT_FDCWD();
    public static final int F_SETFL = Linux.F_SETFL();
    public static final int F_SETFD = Linux.F_SETFD();
    public static final int F_DUPFD_CLOEXEC = Linux.F_DUPFD_CLOEXEC();
    public static final int F_GETPIPE_SZ = Linux.F_GETPIPE_SZ();
    public static final int F_SETPIPE_SZ = Linux.F_SETPIPE_SZ();
    public static final int F_SETOWN_EX = Linux.F_SETOWN_EX();
    public static final int F_SETSIG = Linux.F_SETSIG();
    public static final int FD_CLOEXEC = Linux.FD_CLOEXEC();
    public static final int SPLICE_F_MOVE = Linux.SPLICE_F_MOVE();
    public static final int SPLICE_F_NONBLOCK = Linux.SPLICE_F_NONBLOCK();
    public static final int SPLICE_F_MORE = Linux.SPLICE_F_MORE();
    public static final int SEEK_SET = Linux.SEEK_SET();
    public static final int SEEK_END = Linux.SEEK_END();
    public static final int SEEK_DATA = Linux.SEEK_DATA();
    public static final int SEEK_HOLE = Linux.SEEK_HOLE();

    // signals
    public static final int SIGILL = Linux.SIGILL();
    public static final int SIGTRAP = Linux.SIGTRAP();
    public static final int SIGKILL = Linux.SIGKILL();
    public static final int SIGUSR1 = Linux.SIGUSR1();
    public static final int SIGUSR2 = Linux.SIGUSR2();
    public static final int SIGTERM = Linux.SIGTERM();
    public static final int SIGCHLD = Linux.SIGCHLD();
    public static final int SIGURG = Linux.SIGURG();
    public static final int SIGWINCH = Linux.SIGWINCH();
    public static final int SIGSTOP = Linux.SIGSTOP();
    public static final int SIGTSTP = Linux.SIGTSTP();
    public static final int SIGTTIN = Linux.SIGTTIN();
    public static final int SIGTTOU = Linux.SIGTTOU();
    public static final int CRYO_KERNEL_NSIG = Linux.CRYO_KERNEL_NSIG();
    public static final int SIG_SETMASK = Linux.SIG_SETMASK();
    public static final int SS_DISABLE = Linux.SS_DISABLE();
    public static final int ITIMER_REAL = Linux.ITIMER_REAL();
    public static final int ITIMER_VIRTUAL = Linux.ITIMER_VIRTUAL();
    public static final int ITIMER_PROF = Linux.ITIMER_PROF();

    // wait
    public static final int __WALL = Linux.__WALL();
    public static final int WNOHANG = Linux.WNOHANG();

    // errno (and the restart codes a stopped task shows in rax)
    public static final int EPERM = Linux.EPERM();
    public static final int ENOENT = Linux.ENOENT();
    public static final int ESRCH = Linux.ESRCH();
    public static final int ENXIO = Linux.ENXIO();
    public static final int EBADF = Linux.EBADF();
    public static final int EACCES = Linux.EACCES();
    public static final int EXDEV = Linux.EXDEV();
    public static final int ENOTDIR = Linux.ENOTDIR();
    public static final int EOPNOTSUPP = Linux.EOPNOTSUPP();
    public static final int ECONNREFUSED = Linux.ECONNREFUSED();
    public static final int EBADRQC = Linux.EBADRQC();
    public static final int ECANCELED = Linux.ECANCELED();

    // clone
    public static final int CLONE_VM = Linux.CLONE_VM();
    public static final int CLONE_FS = Linux.CLONE_FS();
    public static final int CLONE_FILES = Linux.CLONE_FILES();
    public static final int CLONE_SIGHAND = Linux.CLONE_SIGHAND();
    public static final int CLONE_THREAD = Linux.CLONE_THREAD();
    public static final int CLONE_SYSVSEM = Linux.CLONE_SYSVSEM();
    public static final int CLONE_NEWIPC = Linux.CLONE_NEWIPC();
    public static final int CLONE_NEWPID = Linux.CLONE_NEWPID();

    // prctl / arch_prctl
    public static final int PR_SET_MM = Linux.PR_SET_MM();
    public static final int PR_SET_MM_MAP = Linux.PR_SET_MM_MAP();
    public static final int PR_SET_NAME = Linux.PR_SET_NAME();
    public static final int PR_SET_CHILD_SUBREAPER = Linux.PR_SET_CHILD_SUBREAPER();
    public static final int PR_GET_DUMPABLE = Linux.PR_GET_DUMPABLE();
    public static final int PR_GET_TID_ADDRESS = Linux.PR_GET_TID_ADDRESS();
    public static final int PR_GET_SECUREBITS = Linux.PR_GET_SECUREBITS();
    public static final int PR_SET_SECUREBITS = Linux.PR_SET_SECUREBITS();
    public static final int PR_SET_DUMPABLE = Linux.PR_SET_DUMPABLE();
    public static final int PR_CAPBSET_DROP = Linux.PR_CAPBSET_DROP();
    public static final int CRYO_SUID_DUMP_ROOT = Linux.CRYO_SUID_DUMP_ROOT();
    public static final int _LINUX_CAPABILITY_VERSION_3 = Linux._LINUX_CAPABILITY_VERSION_3();
    public static final int PRIO_PROCESS = Linux.PRIO_PROCESS();

    // sockets
    public static final int AF_UNIX = Linux.AF_UNIX();
    public static final int AF_INET = Linux.AF_INET();
    public static final int AF_INET6 = Linux.AF_INET6();
    public static final int SOCK_STREAM = Linux.SOCK_STREAM();
    public static final int SOCK_DGRAM = Linux.SOCK_DGRAM();
    public static final int SOCK_SEQPACKET = Linux.SOCK_SEQPACKET();
    public static final int SOCK_CLOEXEC = Linux.SOCK_CLOEXEC();
    public static final int SOL_SOCKET = Linux.SOL_SOCKET();
    public static final int SO_REUSEADDR = Linux.SO_REUSEADDR();
    public static final int SO_SNDBUF = Linux.SO_SNDBUF();
    public static final int SO_RCVBUF = Linux.SO_RCVBUF();
    public static final int SO_PEEK_OFF = Linux.SO_PEEK_OFF();
    public static final int SO_TYPE = Linux.SO_TYPE();
    public static final int SO_DOMAIN = Linux.SO_DOMAIN();
    public static final int SO_RCVTIMEO = Linux.SO_RCVTIMEO();
    public static final int SO_SNDTIMEO = Linux.SO_SNDTIMEO();
    public static final int IPPROTO_TCP = Linux.IPPROTO_TCP();
    public static final int TCP_CORK = Linux.TCP_CORK();
    public static final int TCP_NODELAY = Linux.TCP_NODELAY();
    public static final int IPV6_V6ONLY = Linux.IPV6_V6ONLY();
    public static final int SHUT_RD = Linux.SHUT_RD();
    public static final int SHUT_WR = Linux.SHUT_WR();
    public static final int SHUT_RDWR = Linux.SHUT_RDWR();
    public static final int MSG_DONTWAIT = Linux.MSG_DONTWAIT();
    public static final int SCM_RIGHTS = Linux.SCM_RIGHTS();

    // poll
    public static final int POLLIN = Linux.POLLIN();

    // sockets: families, types and options (issue 13)
    public static final int AF_NETLINK = Linux.AF_NETLINK();
    public static final int AF_PACKET = Linux.AF_PACKET();
    public static final int SOCK_RAW = Linux.SOCK_RAW();
    public static final int SO_PROTOCOL = Linux.SO_PROTOCOL();
    public static final int SO_REUSEPORT = Linux.SO_REUSEPORT();
    public static final int SO_KEEPALIVE = Linux.SO_KEEPALIVE();
    public static final int SO_BROADCAST = Linux.SO_BROADCAST();
    public static final int SO_PRIORITY = Linux.SO_PRIORITY();
    public static final int SO_RCVLOWAT = Linux.SO_RCVLOWAT();
    public static final int SO_MARK = Linux.SO_MARK();
    public static final int SO_PASSCRED = Linux.SO_PASSCRED();
    public static final int SO_PASSSEC = Linux.SO_PASSSEC();
    public static final int SO_DONTROUTE = Linux.SO_DONTROUTE();
    public static final int SO_NO_CHECK = Linux.SO_NO_CHECK();
    public static final int SO_OOBINLINE = Linux.SO_OOBINLINE();
    public static final int SO_LINGER = Linux.SO_LINGER();
    public static final int SO_BINDTODEVICE = Linux.SO_BINDTODEVICE();
    public static final int SO_SNDBUFFORCE = Linux.SO_SNDBUFFORCE();
    public static final int SO_RCVBUFFORCE = Linux.SO_RCVBUFFORCE();
    public static final int SO_BUF_LOCK = Linux.SO_BUF_LOCK();
    public static final int MSG_CMSG_CLOEXEC = Linux.MSG_CMSG_CLOEXEC();
    public static final int SOL_IP = Linux.SOL_IP();
    public static final int SOL_IPV6 = Linux.SOL_IPV6();
    public static final int SOL_TCP = Linux.SOL_TCP();
    public static final int SOL_UDP = Linux.SOL_UDP();
    public static final int IPPROTO_UDP = Linux.IPPROTO_UDP();
    public static final int IPPROTO_UDPLITE = Linux.IPPROTO_UDPLITE();
    public static final int IP_FREEBIND = Linux.IP_FREEBIND();
    public static final int IPV6_FREEBIND = Linux.IPV6_FREEBIND();
    public static final int UDP_CORK = Linux.UDP_CORK();

    // TCP states (netinet/tcp.h), options and repair (TCP_REPAIR, Linux 3.5; TCP_REPAIR_WINDOW, 4.8)
    public static final int TCP_ESTABLISHED = Linux.TCP_ESTABLISHED();
    public static final int TCP_SYN_SENT = Linux.TCP_SYN_SENT();
    public static final int TCP_SYN_RECV = Linux.TCP_SYN_RECV();
    public static final int TCP_FIN_WAIT1 = Linux.TCP_FIN_WAIT1();
    public static final int TCP_FIN_WAIT2 = Linux.TCP_FIN_WAIT2();
    public static final int TCP_TIME_WAIT = Linux.TCP_TIME_WAIT();
    public static final int TCP_CLOSE = Linux.TCP_CLOSE();
    public static final int TCP_CLOSE_WAIT = Linux.TCP_CLOSE_WAIT();
    public static final int TCP_LAST_ACK = Linux.TCP_LAST_ACK();
    public static final int TCP_LISTEN = Linux.TCP_LISTEN();
    public static final int TCP_CLOSING = Linux.TCP_CLOSING();
    public static final int TCP_KEEPCNT = Linux.TCP_KEEPCNT();
    public static final int TCP_KEEPIDLE = Linux.TCP_KEEPIDLE();
    public static final int TCP_KEEPINTVL = Linux.TCP_KEEPINTVL();
    public static final int TCPI_OPT_TIMESTAMPS = Linux.TCPI_OPT_TIMESTAMPS();
    public static final int TCPI_OPT_WSCALE = Linux.TCPI_OPT_WSCALE();

    // eventfd / memfd
    public static final int EFD_SEMAPHORE = Linux.EFD_SEMAPHORE();
    public static final int MFD_CLOEXEC = Linux.MFD_CLOEXEC();
    public static final int MFD_ALLOW_SEALING = Linux.MFD_ALLOW_SEALING();
    public static final int F_SEAL_SHRINK = Linux.F_SEAL_SHRINK();

    // userfaultfd
    public static final int UFFD_EVENT_FORK = Linux.UFFD_EVENT_FORK();
    public static final int UFFD_EVENT_REMAP = Linux.UFFD_EVENT_REMAP();
    public static final int UFFD_EVENT_REMOVE = Linux.UFFD_EVENT_REMOVE();
    public static final int UFFD_EVENT_UNMAP = Linux.UFFD_EVENT_UNMAP();

    // rlimits
    public static final int RLIMIT_STACK = Linux.RLIMIT_STACK();
    public static final int RLIMIT_NOFILE = Linux.RLIMIT_NOFILE();
    public static final int RLIMIT_NLIMITS = Linux.RLIMIT_NLIMITS();

    // kernel objects: epoll, timerfd, signalfd, inotify, locks, ptys, SysV IPC, kcmp
    public static final int __NR_epoll_create1 = Linux.__NR_epoll_create1();
    public static final int __NR_epoll_ctl = Linux.__NR_epoll_ctl();
    public static final int __NR_timerfd_create = Linux.__NR_timerfd_create();
    public static final int __NR_timerfd_settime = Linux.__NR_timerfd_settime();
    public static final int __NR_clock_gettime = Linux.__NR_clock_gettime();
    public static final int __NR_signalfd4 = Linux.__NR_signalfd4();
    public static final int __NR_inotify_init1 = Linux.__NR_inotify_init1();
    public static final int __NR_inotify_add_watch = Linux.__NR_inotify_add_watch();
    public static final int __NR_inotify_rm_watch = Linux.__NR_inotify_rm_watch();
    public static final int __NR_flock = Linux.__NR_flock();
    public static final int __NR_mlock = Linux.__NR_mlock();
    public static final int __NR_shmat = Linux.__NR_shmat();
    public static final int __NR_shmctl = Linux.__NR_shmctl();
    public static final int EPOLL_CLOEXEC = Linux.EPOLL_CLOEXEC();
    public static final int EPOLL_CTL_ADD = Linux.EPOLL_CTL_ADD();
    public static final int TFD_CLOEXEC = Linux.TFD_CLOEXEC();
    public static final int TFD_TIMER_ABSTIME = Linux.TFD_TIMER_ABSTIME();
    public static final int TFD_TIMER_CANCEL_ON_SET = Linux.TFD_TIMER_CANCEL_ON_SET();
    public static final long TFD_IOC_SET_TICKS = Linux.TFD_IOC_SET_TICKS();
    public static final int SFD_CLOEXEC = Linux.SFD_CLOEXEC();
    public static final int IN_CLOEXEC = Linux.IN_CLOEXEC();
    public static final int FIONREAD = Linux.FIONREAD();
    public static final int F_GETLK = Linux.F_GETLK();
    public static final int F_SETLK = Linux.F_SETLK();
    public static final int F_OFD_GETLK = Linux.F_OFD_GETLK();
    public static final int F_OFD_SETLK = Linux.F_OFD_SETLK();
    public static final int F_RDLCK = Linux.F_RDLCK();
    public static final int F_WRLCK = Linux.F_WRLCK();
    public static final int LOCK_SH = Linux.LOCK_SH();
    public static final int LOCK_EX = Linux.LOCK_EX();
    public static final int LOCK_NB = Linux.LOCK_NB();
    public static final int MAP_LOCKED = Linux.MAP_LOCKED();
    public static final int TIOCSPGRP = Linux.TIOCSPGRP();
    public static final int TIOCNOTTY = Linux.TIOCNOTTY();
    public static final int IPC_CREAT = Linux.IPC_CREAT();
    public static final int IPC_EXCL = Linux.IPC_EXCL();
    public static final int IPC_STAT = Linux.IPC_STAT();
    public static final int SHM_RDONLY = Linux.SHM_RDONLY();
    public static final int SHM_DEST = Linux.SHM_DEST();
    public static final int SHM_LOCKED = Linux.SHM_LOCKED();
    public static final int SHM_EXEC = Linux.SHM_EXEC();
    public static final int SHM_REMAP = Linux.SHM_REMAP();
}
