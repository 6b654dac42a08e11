package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.prctl_mm_map;

/**
 * {@code struct prctl_mm_map}, the argument of prctl(PR_SET_MM, PR_SET_MM_MAP): a task's code, data, heap,
 * stack, arguments and environment bounds, its auxv ({@code auxv}: an address in the task, {@code auxvBytes}
 * long) and its exe file ({@code exeFd}, -1 to keep it). The credentials it also carries are left zero.
 */
public record PrctlMmMap(long startCode, long endCode, long startData, long endData, long startBrk, long brk,
                    long startStack, long argStart, long argEnd, long envStart, long envEnd, long auxv,
                    int auxvBytes, int exeFd) {
    /** The size to pass to prctl beside the struct. */
    public static final long SIZE = prctl_mm_map.sizeof();

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment m = prctl_mm_map.allocate(allocator);
        m.fill((byte) 0);
        prctl_mm_map.start_code(m, startCode);
        prctl_mm_map.end_code(m, endCode);
        prctl_mm_map.start_data(m, startData);
        prctl_mm_map.end_data(m, endData);
        prctl_mm_map.start_brk(m, startBrk);
        prctl_mm_map.brk(m, brk);
        prctl_mm_map.start_stack(m, startStack);
        prctl_mm_map.arg_start(m, argStart);
        prctl_mm_map.arg_end(m, argEnd);
        prctl_mm_map.env_start(m, envStart);
        prctl_mm_map.env_end(m, envEnd);
        prctl_mm_map.auxv(m, MemorySegment.ofAddress(auxv));
        prctl_mm_map.auxv_size(m, auxvBytes);
        prctl_mm_map.exe_fd(m, exeFd);
        return m;
    }
}
