package dev.cryo.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

import dev.cryo.dump.DirtyTracker;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.KernelFeatures;
import dev.cryo.syscalls.KernelFeatures.Answer;
import dev.cryo.syscalls.KernelFeatures.CgroupFreezer;
import dev.cryo.syscalls.KernelFeatures.Feature;
import dev.cryo.syscalls.KernelFeatures.PtraceAccess;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.ProcMaps;

/**
 * {@code cryo check}: each kernel feature cryo uses, whether this kernel has it, and in words what was seen,
 * or what is missing and what cryo does instead; and which dirty-page tracker cryo picks from them.
 */
public final class KernelReport {

    private KernelReport() {}

    /** One line of the report. */
    public record Line(String name, boolean present, boolean required, String detail) {}

    /** Every probe, in {@link Feature}'s order, with the dirty-page tracker after the probes it is chosen from. */
    public static List<Line> lines() {
        List<Line> out = new ArrayList<>();
        out.add(line(Feature.PTRACE, KernelFeatures::ptrace, KernelReport::ptrace));
        out.add(line(Feature.PROCESS_VM_READV, KernelFeatures::processVmReadv,
                a -> said(a, "read 8 bytes of cryo's own memory", e -> e.getMessage())));
        out.add(line(Feature.PIDFD, KernelFeatures::pidfd,
                a -> said(a, "pidfd_getfd copied one of cryo's own fds", e -> e.call() + " is missing (Linux 5.6+)")));
        out.add(line(Feature.CLONE3, KernelFeatures::clone3,
                a -> said(a, "clone3 is there (set_tid needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)",
                        e -> e.is(Errno.ENOSYS) ? "no clone3 (Linux 5.3+): restore cannot give tasks their dumped pids"
                                : "clone3 is blocked (EPERM), probably by a seccomp filter")));
        Line scan = line(Feature.PAGEMAP_SCAN, KernelFeatures::pagemapScan,
                a -> said(a, "present pages found with one ioctl on /proc/PID/pagemap",
                        e -> "kernel before 6.7 (" + e.reason() + "); cryo reads /proc/PID/pagemap instead"));
        out.add(scan);
        out.add(line(Feature.PROCMAP_QUERY, KernelFeatures::procmapQuery,
                a -> said(a, "mappings read one at a time with an ioctl on /proc/PID/maps",
                        e -> "kernel before 6.11 (" + e.reason() + "); cryo parses /proc/PID/smaps instead")));
        Line softDirty = line(Feature.SOFT_DIRTY, KernelFeatures::softDirty, kept -> new Seen(kept, kept
                ? "bit 55 of /proc/PID/pagemap is set for a page just written"
                : "a page just written is not soft-dirty: kernel built without CONFIG_MEM_SOFT_DIRTY;"
                        + " cryo tracks writes with userfaultfd WP_ASYNC"));
        out.add(softDirty);
        Line uffd = line(Feature.UFFD_WP_ASYNC, KernelFeatures::uffdWpAsync,
                a -> said(a, "UFFDIO_API granted UFFD_FEATURE_WP_ASYNC: writes are tracked without soft-dirty",
                        e -> e.is(Errno.ENOSYS) ? "no userfaultfd in this kernel (ENOSYS)"
                                : e.is(Errno.EPERM) ? "userfaultfd is not allowed here (EPERM; see vm.unprivileged_userfaultfd)"
                                : "UFFDIO_API refused UFFD_FEATURE_WP_ASYNC (Linux 6.7+)"));
        out.add(uffd);
        out.add(dirtyTracker(DirtyTracker.choose(uffd.present(), scan.present(), softDirty.present()), softDirty.present()));
        out.add(line(Feature.CGROUP_FREEZER, KernelFeatures::cgroupFreezer, KernelReport::cgroupFreezer));
        out.add(line(Feature.VDSO, KernelFeatures::vdso, KernelReport::vdso));
        return out;
    }

    /** Whether a feature is there, and what to say of it. */
    private record Seen(boolean present, String detail) {}

    /**
     * The line of {@code f}: its probe's result in words. A probe that fails in a way it did not expect reports
     * the feature absent with the reason.
     */
    private static <T> Line line(Feature f, Supplier<T> probe, Function<T, Seen> words) {
        Seen seen;
        try {
            seen = words.apply(probe.get());
        } catch (ErrnoException e) {
            seen = new Seen(false, e.getMessage());
        } catch (RuntimeException e) {
            seen = new Seen(false, "probe failed: " + e);
        }
        return new Line(f.title(), seen.present(), f.required(), seen.detail());
    }

    /** An answer in words: {@code works} as it is, a refusal as {@code refused} says, a wrong answer as the probe saw it. */
    private static Seen said(Answer a, String works, Function<ErrnoException, String> refused) {
        return switch (a) {
            case Answer.Works w -> new Seen(true, works);
            case Answer.Refused r -> new Seen(false, refused.apply(r.error()));
            case Answer.Wrong w -> new Seen(false, w.what());
        };
    }

    private static Seen ptrace(PtraceAccess p) {
        String who = p.capSysPtrace() ? "any process (CAP_SYS_PTRACE)" : "processes of the same user";
        if (p.yamaScope().isEmpty()) {
            return new Seen(true, "no Yama; cryo may trace " + who);
        }
        int scope = p.yamaScope().getAsInt();
        return new Seen(p.allowed(), switch (scope) {
            case 0 -> "Yama ptrace_scope 0; cryo may trace " + who;
            case 1, 2 -> p.capSysPtrace() ? "Yama ptrace_scope " + scope + ", but cryo has CAP_SYS_PTRACE"
                    : "Yama ptrace_scope " + scope + " and no CAP_SYS_PTRACE: run cryo as root";
            default -> "Yama ptrace_scope " + scope + ": ptrace attach is disabled until reboot";
        });
    }

    private static Seen cgroupFreezer(CgroupFreezer c) {
        return switch (c) {
            case CgroupFreezer.NotMounted n -> new Seen(false, "no cgroup2 mount; cryo stops every tree task by task with PTRACE_INTERRUPT");
            case CgroupFreezer.Freezes f -> new Seen(true, "cgroup2 at " + f.mount()
                    + ": a tree in a cgroup of its own is frozen by it, others task by task"
                    + (f.sample().isPresent() ? "" : " (no cgroup below the root yet to confirm cgroup.freeze)"));
            case CgroupFreezer.NoFreezeFile n -> new Seen(false, "no cgroup.freeze in " + n.sample()
                    + " (Linux before 5.2); cryo stops trees task by task");
            case CgroupFreezer.Unlisted u -> new Seen(false, "cannot list " + u.mount() + ": " + u.error().getMessage());
        };
    }

    private static Seen vdso(List<ProcMaps.Mapping> group) {
        if (group.stream().noneMatch(m -> m.name().equals("[vdso]"))) {
            return new Seen(false, "no [vdso] in /proc/self/maps (booted with vdso=0?)");
        }
        StringBuilder seen = new StringBuilder();
        for (ProcMaps.Mapping m : group) {
            long pages = m.size() / Page.SIZE;
            seen.append(seen.isEmpty() ? "" : ", ").append(m.name()).append(' ').append(pages).append(pages == 1 ? " page" : " pages");
        }
        return new Seen(true, seen.toString());
    }

    /** Which way pre-dump tells written pages apart, from the probes above. */
    private static Line dirtyTracker(Optional<DirtyTracker> chosen, boolean softDirty) {
        String name = "dirty-page tracker";
        if (chosen.isEmpty()) {
            return new Line(name, false, false, "none: pre-dump refuses, dump with --prev-images-dir copies every page");
        }
        return new Line(name, true, false, switch (chosen.get()) {
            case UFFD_WP -> "uffd-wp: userfaultfd async write-protect, read and re-armed by PAGEMAP_SCAN"
                    + (softDirty ? " (soft-dirty is here too: cryo prefers uffd-wp)" : "");
            case SOFT_DIRTY -> "soft-dirty: bit 55 of /proc/PID/pagemap, cleared through /proc/PID/clear_refs while the tree is frozen";
        });
    }
}
