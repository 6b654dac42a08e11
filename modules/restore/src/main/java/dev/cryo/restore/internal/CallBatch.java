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
 * arguments' memory, and the batch can be filled again. More calls than one stop takes (128, or arguments
 * that would fill the scratch memory) are made in several, in order, as they are added; {@link #run} returns
 * the results of all. Closing it frees the scratch memory; calls not made by then are dropped.
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
    /** Results of the calls made for earlier stops since the last {@link #run} of the caller's, when it added {@link #MOST} or more. */
    private long[] made = new long[0];
    /** Bytes of the scratch memory the arguments of the calls not yet made take. */
    private long putBytes;

    public CallBatch(Puppet in) {
        this.in = in;
        this.scratch = in.scratch();
    }

    /** Adds a call. */
    public CallBatch add(String name, long nr, long... args) {
        calls.add(new Parasite.Call(name, nr, args));
        if (calls.size() == MOST) {
            // every call added so far is made now: their arguments' memory (and the table's) is free again
            made = run();
        }
        return this;
    }

    /** Copies {@code data} into the puppet for a later call's pointer argument; its address there. */
    public long put(MemorySegment data) {
        makeRoom(data.byteSize());
        putBytes += (data.byteSize() + 7) & -8L;
        return scratch.put(data);
    }

    /** As {@link #put}, a NUL-terminated UTF-8 string. */
    public long putString(String s) {
        long bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1L;
        makeRoom(bytes);
        putBytes += (bytes + 7) & -8L;
        return scratch.putString(s);
    }

    /** Makes the calls added so far when {@code bytes} more would not leave room for the table of a full stop. */
    private void makeRoom(long bytes) {
        if (putBytes + bytes + 8 + (long) MOST * 64 > scratch.capacity() && !calls.isEmpty()) {
            made = run();
        }
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
        putBytes = 0;
        return r;
    }

    @Override
    public void close() {
        scratch.close();
    }
}
