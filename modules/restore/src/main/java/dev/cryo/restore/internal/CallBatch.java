package dev.cryo.restore.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;

/**
 * Calls for one puppet thread that do not need each other's results, gathered and run with one stop
 * ({@link Puppet#batch(List, Scratch)}): each injected call alone costs a few ptrace round trips, and a task's
 * kernel state takes dozens of them. Their pointer arguments go into the scratch memory this batch holds open;
 * {@link #run} makes the calls so far, in order (the first that fails is thrown, naming it), frees their
 * arguments' memory, and the batch can be filled again. Closing it frees the scratch memory; calls not
 * {@link #run} by then are dropped.
 *
 * <pre>{@code
 * try (CallBatch b = new CallBatch(puppet)) {
 *     b.add("chdir(" + cwd + ")", Kernel.__NR_chdir, b.putString(cwd));
 *     b.add("umask(022)", Kernel.__NR_umask, 022);
 *     b.run();
 * }
 * }</pre>
 */
public final class CallBatch implements AutoCloseable {
    /** Calls made at most for one stop: their table (64 bytes each) stays well within the scratch memory. */
    private static final int MOST = 128;

    private final Puppet in;
    private Scratch scratch;
    private final List<Parasite.Call> calls = new ArrayList<>();
    /** Results of the calls made for earlier stops since the last {@link #run}, when there were more than {@link #MOST}. */
    private long[] made = new long[0];

    public CallBatch(Puppet in) {
        this.in = in;
        this.scratch = in.scratch();
    }

    /** Adds a call. */
    public CallBatch add(String name, long nr, long... args) {
        if (calls.size() == MOST) {
            long[] r = in.batch(calls, scratch); // their arguments stay where they are: the scratch is freed at run()
            calls.clear();
            long[] all = java.util.Arrays.copyOf(made, made.length + r.length);
            System.arraycopy(r, 0, all, made.length, r.length);
            made = all;
        }
        calls.add(new Parasite.Call(name, nr, args));
        return this;
    }

    /** Copies {@code data} into the puppet for a later call's pointer argument; its address there. */
    public long put(MemorySegment data) {
        return scratch.put(data);
    }

    /** As {@link #put}, a NUL-terminated UTF-8 string. */
    public long putString(String s) {
        return scratch.putString(s);
    }

    /** Runs the calls added so far and then this one, whose result a later call needs; returns its result. */
    public long call(String name, long nr, long... args) {
        add(name, nr, args);
        long[] r = run();
        return r[r.length - 1];
    }

    /** Runs the calls added since the last run, in order, for one stop; returns their results. */
    public long[] run() {
        long[] r = in.batch(calls, scratch);
        calls.clear();
        if (made.length > 0) {
            long[] all = java.util.Arrays.copyOf(made, made.length + r.length);
            System.arraycopy(r, 0, all, made.length, r.length);
            r = all;
            made = new long[0];
        }
        // the arguments are used: their memory is free for the next calls
        scratch.close();
        scratch = in.scratch();
        return r;
    }

    @Override
    public void close() {
        scratch.close();
    }
}
