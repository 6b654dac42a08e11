package dev.cryo.pagepipe;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** The contents of {@code ranges}, back to back in {@code data} (a slice of a pooled buffer, valid during the call). */
public record PageBatch(int pid, List<PageRange> ranges, MemorySegment data) {}
