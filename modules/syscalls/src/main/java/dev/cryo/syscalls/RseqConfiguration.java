package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.ptrace_rseq_configuration;

/** A thread's rseq registration as PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13) reports it; pointer 0: none. */
public record RseqConfiguration(long abiPointer, int abiSize, int flags, int signature) {
    /** The registration of stopped tracee {@code tid}. */
    public static RseqConfiguration of(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment conf = ptrace_rseq_configuration.allocate(arena);
            conf.fill((byte) 0);
            Ptrace.getRseqConfiguration(tid, conf);
            return new RseqConfiguration(ptrace_rseq_configuration.rseq_abi_pointer(conf),
                    ptrace_rseq_configuration.rseq_abi_size(conf), ptrace_rseq_configuration.flags(conf),
                    ptrace_rseq_configuration.signature(conf));
        }
    }
}
