package dev.cryo.restore.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import dev.cryo.syscalls.ProcessVm;

/**
 * The stub's first process: a child subreaper that holds the puppet and everything restored below it,
 * and reaps them. It is the only process the JVM starts for a restore, and it exits by itself once it
 * has no children left.
 */
final class Keeper implements AutoCloseable {
    private final Process process;
    private final int puppetPid;
    private int registered;

    private Keeper(Process process, int puppetPid) {
        this.process = process;
        this.puppetPid = puppetPid;
    }

    /** Starts the stub and waits for its puppet to report its pid. */
    static Keeper start() {
        Process p;
        try {
            p = new ProcessBuilder(PuppetStub.path())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the puppet stub " + PuppetStub.path(), e);
        }
        try (InputStream in = p.getInputStream()) {
            byte[] pid = in.readNBytes(4);
            if (pid.length != 4) {
                p.destroyForcibly();
                throw new RestoreError("the puppet stub exited before its puppet started");
            }
            return new Keeper(p, ByteBuffer.wrap(pid).order(ByteOrder.LITTLE_ENDIAN).getInt());
        } catch (IOException e) {
            p.destroyForcibly();
            throw new UncheckedIOException("cannot read the puppet's pid", e);
        }
    }

    int puppetPid() {
        return puppetPid;
    }

    /**
     * Tells the keeper of a process the restore made ({@code pid} as cryo sees it): should cryo die before
     * {@link #commit}, the keeper kills it. The pid is in place before the count that shows it.
     */
    void register(int pid) {
        if (registered == PuppetStub.MAX_PIDS) {
            throw new RestoreError("a restore of more than " + PuppetStub.MAX_PIDS + " processes is not supported");
        }
        put(PuppetStub.PIDS + 4L * registered, pid);
        registered++;
        put(PuppetStub.COUNT, registered);
    }

    /** The tree is whole and released: the keeper kills nothing any more, whatever becomes of cryo. */
    void commit() {
        put(PuppetStub.COMMITTED, 1);
    }

    private void put(long addr, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            ProcessVm.writeFully((int) process.pid(), addr, v);
        }
    }

    long pid() {
        return process.pid();
    }

    /** Waits until every task below the keeper has exited; returns the keeper's exit code. */
    int awaitEmpty() throws InterruptedException {
        return process.waitFor();
    }

    /**
     * For a detached restore whose tree is to be left on its own: the keeper is killed and reaped here, so its
     * children (the restored root, a pid namespace's init) go to the nearest subreaper above cryo, or init, and
     * nothing of cryo's is left behind, not even a zombie.
     */
    void leave() {
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** For a restore refused before anything was made: the keeper goes, and with it the puppet (its PR_SET_PDEATHSIG). */
    void abandon() {
        leave();
    }

    /**
     * For a restore that failed: the tasks below were killed already, so the keeper exits on its own;
     * if it does not, it is killed too.
     */
    @Override
    public void close() {
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
