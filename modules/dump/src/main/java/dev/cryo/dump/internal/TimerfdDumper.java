package dev.cryo.dump.internal;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.TimerfdEntry;

/**
 * A timerfd from its fdinfo: clock, expirations not yet read (ticks), the flags it was set with, and the time
 * left to the next expiration and the interval (both relative, as the kernel shows them).
 */
final class TimerfdDumper implements FileDumper {
    private static final Pattern PAIR = Pattern.compile("\\((\\d+), (\\d+)\\)");

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        String clock = fd.field("clockid");
        String ticks = fd.field("ticks");
        String flags = fd.field("settime flags");
        long[] value = pair(fd, "it_value");
        long[] interval = pair(fd, "it_interval");
        if (clock == null || ticks == null || flags == null) {
            throw new DumpException("cannot dump " + fd.where() + ": its fdinfo lacks the timerfd lines cryo reads");
        }
        e.setType(FdTypes.TIMERFD).setTfd(TimerfdEntry.newBuilder().setId(e.getId()).setFlags(fd.flags())
                .setFown(FileTable.NO_OWNER).setClockid(Integer.parseInt(clock)).setTicks(Long.parseUnsignedLong(ticks))
                .setSettimeFlags(Integer.parseInt(flags, 8)).setVsec(value[0]).setVnsec(value[1])
                .setIsec(interval[0]).setInsec(interval[1]));
    }

    private static long[] pair(OpenFd fd, String name) throws DumpException {
        String v = fd.field(name);
        Matcher m = v == null ? null : PAIR.matcher(v);
        if (m == null || !m.find()) {
            throw new DumpException("cannot dump " + fd.where() + ": its fdinfo has no readable " + name + " line");
        }
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }
}
