package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.TimerfdEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.TimeSpec;

/**
 * A timerfd on its clock: armed with the time that was left at dump and its interval (the time between dump
 * and restore does not count, as with CRIU), then given its unread expirations (TFD_IOC_SET_TICKS, which
 * timerfd_settime would reset). A timer set with TFD_TIMER_ABSTIME (and TFD_TIMER_CANCEL_ON_SET, which needs
 * it) is armed at now + the time left, on its clock read inside the task.
 */
final class TimerfdRestorer implements FileRestorer {
    private static final long NANOS = 1_000_000_000L;

    @Override
    public int open(TaskFiles task, FileEntry file) {
        TimerfdEntry t = file.getTfd();
        int fd = (int) task.in().syscall("timerfd_create(clock " + t.getClockid() + ")", Kernel.__NR_timerfd_create,
                t.getClockid(), Kernel.TFD_CLOEXEC);
        try (Arena a = Arena.ofConfined()) {
            long sec = t.getVsec();
            long nsec = t.getVnsec();
            if (sec == 0 && nsec == 0 && t.getTicks() != 0) {
                // A periodic timer that expired and was not read since: the kernel re-arms it only at the next
                // read, so it shows no time left. Its next expiration comes one interval on (the ticks below).
                sec = t.getIsec();
                nsec = t.getInsec();
            }
            boolean armed = sec != 0 || nsec != 0;
            int flags = t.getSettimeFlags() & (Kernel.TFD_TIMER_ABSTIME | Kernel.TFD_TIMER_CANCEL_ON_SET);
            if (armed && (flags & Kernel.TFD_TIMER_ABSTIME) != 0) {
                MemorySegment now = TimeSpec.allocate(a);
                try (Scratch s = task.in().scratch()) {
                    long at = s.reserve(now.byteSize());
                    task.in().syscall("clock_gettime(" + t.getClockid() + ")", Kernel.__NR_clock_gettime, t.getClockid(), at);
                    s.read(at, now);
                }
                TimeSpec clock = TimeSpec.read(now);
                nsec += clock.nsec();
                sec += clock.sec() + nsec / NANOS;
                nsec %= NANOS;
            }
            if (armed) {
                MemorySegment v = new TimeSpec.Timer(new TimeSpec(t.getIsec(), t.getInsec()), new TimeSpec(sec, nsec)).write(a);
                try (Scratch s = task.in().scratch()) {
                    task.in().syscall("timerfd_settime(" + fd + ")", Kernel.__NR_timerfd_settime, fd, flags, s.put(v), 0);
                }
            }
            if (t.getTicks() != 0) {
                MemorySegment ticks = a.allocate(ValueLayout.JAVA_LONG);
                ticks.set(ValueLayout.JAVA_LONG, 0, t.getTicks());
                try (Scratch s = task.in().scratch()) {
                    task.in().syscall("ioctl(" + fd + ", TFD_IOC_SET_TICKS, " + t.getTicks() + ")", Kernel.__NR_ioctl, fd,
                            Kernel.TFD_IOC_SET_TICKS, s.put(ticks));
                }
            }
        }
        return fd;
    }
}
