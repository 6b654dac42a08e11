/*
 * cryo.h - the C declarations that cryo's FFM bindings are generated from.
 *
 * Regenerate the Java sources (from the repository root, with jextract on the PATH):
 *
 *     jextract @bindings/jextract.args bindings/cryo.h
 *
 * bindings/jextract.args selects exactly which functions, structs, typedefs and
 * constants are generated (into bindings/src/main/java/dev/cryo/bindings/).
 * The layout test (LayoutTest) compiles this header with gcc and compares every
 * struct size/offset and a sample of constants with the generated Java layouts.
 *
 * Target: x86-64 Linux, glibc. The system headers are Debian's (linux-libc-dev
 * 6.1); everything the running kernel (6.18) has but 6.1's UAPI headers lack is
 * declared below from the kernel's UAPI layout, each block guarded so that newer
 * headers that already declare it win.
 */
#ifndef CRYO_H
#define CRYO_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sched.h>
#include <elf.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>       /* UDP_CORK */
#include <linux/sockios.h>     /* SIOCINQ, SIOCOUTQ, SIOCOUTQNSD */
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/inet_diag.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/types.h>
#include <linux/ptrace.h>      /* kernel names: struct ptrace_syscall_info, ptrace_peeksiginfo_args, ... */
#include <linux/sched.h>       /* struct clone_args, CLONE_INTO_CGROUP */
#include <linux/userfaultfd.h>
#include <linux/fs.h>
#include <linux/falloc.h>     /* FALLOC_FL_PUNCH_HOLE, FALLOC_FL_KEEP_SIZE */
#include <linux/rseq.h>
#include <linux/futex.h>       /* struct robust_list_head */
#include <asm/prctl.h>         /* ARCH_SET_FS ... */
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <sys/inotify.h>
#include <sys/file.h>          /* flock(2): LOCK_SH, LOCK_EX, LOCK_NB */
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/sem.h>
#include <sys/msg.h>
#include <linux/kcmp.h>        /* KCMP_FILE, KCMP_EPOLL_TFD, struct kcmp_epoll_slot */
#include <linux/capability.h>  /* CAP_SYS_PTRACE, _LINUX_CAPABILITY_VERSION_3 */

/* ------------------------------------------------------------------------ */
/* Kernel values that glibc spells differently or not at all.               */

/* glibc's SIGRTMIN is a function call (__libc_current_sigrtmin()); the kernel's is 32. */
#define CRYO_KERNEL_SIGRTMIN 32
/* glibc's _NSIG is 65 (__SIGRTMAX + 1); the kernel's _NSIG (bits in a sigset) is 64. */
#define CRYO_KERNEL_NSIG 64
/* glibc defines O_LARGEFILE as 0 on x86-64; the kernel's flag (seen in fdinfo "flags:") is 0100000. */
#define CRYO_KERNEL_O_LARGEFILE 0100000

/*
 * struct rseq is declared __attribute__((aligned(4 * sizeof(__u64)))) and rseq(2) rejects a
 * misaligned area; jextract's layout cannot carry that alignment (it has the natural 8), so
 * allocate it with rseq.sizeof() and this alignment.
 */
#define CRYO_RSEQ_ALIGN __alignof__(struct rseq)

/* Not exported by glibc; the kernel's value from arch/x86/include/uapi/asm/signal.h. */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/*
 * The kernel's struct sigaction as rt_sigaction(2) reads and writes it on x86-64
 * (arch/x86/include/asm/signal.h: sa_handler, sa_flags, sa_restorer, sa_mask),
 * with sigset_t being one u64 (_NSIG 64).
 */
struct kernel_sigaction {
    __u64 handler;
    __u64 flags;
    __u64 restorer;
    __u64 mask;
};

/* ------------------------------------------------------------------------ */
/* PAGEMAP_SCAN (Linux 6.7, include/uapi/linux/fs.h)                        */

#ifndef PAGEMAP_SCAN
/* Bitmasks provided in pm_scan_arg masks and reported in page_region.categories. */
#define PAGE_IS_WPALLOWED   (1 << 0)
#define PAGE_IS_WRITTEN     (1 << 1)
#define PAGE_IS_FILE        (1 << 2)
#define PAGE_IS_PRESENT     (1 << 3)
#define PAGE_IS_SWAPPED     (1 << 4)
#define PAGE_IS_PFNZERO     (1 << 5)
#define PAGE_IS_HUGE        (1 << 6)
#define PAGE_IS_SOFT_DIRTY  (1 << 7)

struct page_region {
    __u64 start;
    __u64 end;          /* exclusive */
    __u64 categories;   /* PAGE_IS_* */
};

/* Flags for the PAGEMAP_SCAN ioctl */
#define PM_SCAN_WP_MATCHING     (1 << 0)  /* write-protect the pages matched */
#define PM_SCAN_CHECK_WPASYNC   (1 << 1)  /* abort when a non-WP-enabled page is found */

struct pm_scan_arg {
    __u64 size;
    __u64 flags;
    __u64 start;
    __u64 end;
    __u64 walk_end;
    __u64 vec;
    __u64 vec_len;
    __u64 max_pages;
    __u64 category_inverted;
    __u64 category_mask;
    __u64 category_anyof_mask;
    __u64 return_mask;
};

/* _IOWR('f', 16, struct pm_scan_arg) */
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif /* PAGEMAP_SCAN */

/* ------------------------------------------------------------------------ */
/* PROCMAP_QUERY (Linux 6.11, include/uapi/linux/fs.h)                      */

#ifndef PROCMAP_QUERY
#define PROCFS_IOCTL_MAGIC 'f'

enum procmap_query_flags {
    PROCMAP_QUERY_VMA_READABLE         = 0x01,
    PROCMAP_QUERY_VMA_WRITABLE         = 0x02,
    PROCMAP_QUERY_VMA_EXECUTABLE       = 0x04,
    PROCMAP_QUERY_VMA_SHARED           = 0x08,
    PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
    PROCMAP_QUERY_FILE_BACKED_VMA      = 0x20,
};

struct procmap_query {
    __u64 size;             /* in: sizeof(struct procmap_query) */
    __u64 query_flags;      /* in: enum procmap_query_flags */
    __u64 query_addr;       /* in */
    __u64 vma_start;        /* out */
    __u64 vma_end;          /* out */
    __u64 vma_flags;        /* out: PROCMAP_QUERY_VMA_* */
    __u64 vma_page_size;    /* out */
    __u64 vma_offset;       /* out */
    __u64 inode;            /* out */
    __u32 dev_major;        /* out */
    __u32 dev_minor;        /* out */
    __u32 vma_name_size;    /* in/out */
    __u32 build_id_size;    /* in/out */
    __u64 vma_name_addr;    /* in */
    __u64 build_id_addr;    /* in */
};

/* _IOWR(PROCFS_IOCTL_MAGIC, 17, struct procmap_query) */
#define PROCMAP_QUERY _IOWR(PROCFS_IOCTL_MAGIC, 17, struct procmap_query)
#endif /* PROCMAP_QUERY */

/* ------------------------------------------------------------------------ */
/* userfaultfd additions (include/uapi/linux/userfaultfd.h)                 */

#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)   /* Linux 6.1 */
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED     (1 << 13)   /* Linux 6.4 */
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON             (1 << 14)   /* Linux 6.6 */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC           (1 << 15)   /* Linux 6.7 */
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE               (1 << 16)   /* Linux 6.8 */
#endif

#ifndef UFFDIO_MOVE                                 /* Linux 6.8 */
#define _UFFDIO_MOVE (0x05)
struct uffdio_move {
    __u64 dst;
    __u64 src;
    __u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE        ((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64)1 << 1)
    __u64 mode;
    __s64 move;         /* written by the kernel */
};
/* _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move) */
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif /* UFFDIO_MOVE */

/* ------------------------------------------------------------------------ */
/* ptrace: in 6.1's <linux/ptrace.h> already; kept for older headers.       */

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
struct ptrace_rseq_configuration {
    __u64 rseq_abi_pointer;
    __u32 rseq_abi_size;
    __u32 signature;
    __u32 flags;
    __u32 pad;
};
#endif

/* ------------------------------------------------------------------------ */
/* The frame rt_sigreturn(2) loads a thread from on x86-64: the kernel's     */
/* struct rt_sigframe (arch/x86/include/asm/sigframe.h: pretcode, ucontext,  */
/* siginfo) with the kernel's ucontext (asm/ucontext.h: a one-word signal    */
/* mask, unlike glibc's ucontext_t). The xsave area that uc_mcontext.fpstate */
/* points to follows it, 64-byte aligned, ended by FP_XSTATE_MAGIC2 at       */
/* fpstate + xstate_size (glibc's bits/sigcontext.h: struct _fpx_sw_bytes).  */
/* asm/ucontext.h cannot be included beside glibc's signal.h (it redefines   */
/* struct sigcontext): its flags are restated under cryo's names.            */

struct cryo_kernel_ucontext {
    unsigned long uc_flags;
    struct cryo_kernel_ucontext *uc_link;
    stack_t uc_stack;
    struct sigcontext uc_mcontext;
    unsigned long uc_sigmask;
};

struct cryo_rt_sigframe {
    unsigned long pretcode;
    struct cryo_kernel_ucontext uc;
    siginfo_t info;
};

#define CRYO_UC_FP_XSTATE         0x1
#define CRYO_UC_SIGCONTEXT_SS     0x2
#define CRYO_UC_STRICT_RESTORE_SS 0x4

/* ------------------------------------------------------------------------ */
/* Sockets                                                                  */

/* include/uapi/linux/un.h (Linux 4.10): opens the file a unix socket is bound to, O_PATH.
 * <linux/un.h> cannot be included beside glibc's <sys/un.h> (both declare sockaddr_un). */
#ifndef SIOCUNIXFILE
#define SIOCUNIXFILE (SIOCPROTOPRIVATE + 0)
#endif

/* glibc 2.36 lacks the IPv6 twin of IP_FREEBIND (include/uapi/linux/in6.h, Linux 4.15). */
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* The first bytes of the kernel's struct tcp_info that TCP_INFO always fills (include/uapi/linux/tcp.h):
 * state, options and the window scales, packed into one byte as two 4-bit fields. */
struct cryo_tcp_info_head {
    __u8 tcpi_state;
    __u8 tcpi_ca_state;
    __u8 tcpi_retransmits;
    __u8 tcpi_probes;
    __u8 tcpi_backoff;
    __u8 tcpi_options;
    __u8 tcpi_wscales;      /* snd_wscale in bits 0-3, rcv_wscale in bits 4-7 */
};

/* ------------------------------------------------------------------------ */
/* Kernel objects that glibc's headers leave out or spell for its wrappers.  */

/* include/uapi/linux/timerfd.h: set the expiration count of a timerfd (CONFIG_CHECKPOINT_RESTORE). */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, __u64)
#endif

/* asm-generic/fcntl.h: the uid and euid that an fd's SIGIO owner was set with (CONFIG_CHECKPOINT_RESTORE). */
#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17
#endif

/* asm-generic/ioctls.h: open the slave of a pty master without a path (Linux 4.13). */
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/*
 * The kernel's struct termios2 (asm-generic/termbits.h), which TCGETS2/TCSETS2 read and write: glibc's
 * struct termios is another layout (NCCS 32, speeds at the end) and asm/termbits.h cannot be included
 * beside <termios.h>, so it is restated under cryo's name.
 */
struct cryo_termios2 {
    unsigned int c_iflag;
    unsigned int c_oflag;
    unsigned int c_cflag;
    unsigned int c_lflag;
    unsigned char c_line;
    unsigned char c_cc[19];
    unsigned int c_ispeed;
    unsigned int c_ospeed;
};
#define CRYO_TCGETS2 _IOR('T', 0x2A, struct cryo_termios2)
#define CRYO_TCSETS2 _IOW('T', 0x2B, struct cryo_termios2)

/* struct file_handle with room for the largest handle (MAX_HANDLE_SZ), for open_by_handle_at(2). */
struct cryo_file_handle {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char f_handle[MAX_HANDLE_SZ];
};

/* ------------------------------------------------------------------------ */
/* Kernel-internal values that reach user space but no UAPI header names.   */

/*
 * The restart codes a syscall interrupted by a signal leaves in rax (include/linux/errno.h); the
 * kernel turns them into EINTR or a restart on the way out, so a stopped task shows them.
 */
#define CRYO_ERESTARTSYS 512
#define CRYO_ERESTARTNOINTR 513
#define CRYO_ERESTARTNOHAND 514
#define CRYO_ERESTART_RESTARTBLOCK 516

/* SUID_DUMP_ROOT (include/linux/sched/coredump.h): what fs.suid_dumpable=2 gives; prctl cannot set it. */
#define CRYO_SUID_DUMP_ROOT 2

#endif /* CRYO_H */
