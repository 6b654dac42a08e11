package dev.cryo.service.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SeqpacketSocket;

/**
 * Watches a client while its request runs: should it hang up (closed its socket, or died), the request is
 * cancelled, so a dump unwinds and releases the tree instead of finishing for nobody. A thread of its own
 * waits in poll(2) on the socket's hang-up and on a pipe that {@link #close()} writes to.
 */
final class HangupWatch implements AutoCloseable {
    private final Io.Pipe wake;
    private final Thread thread;

    HangupWatch(SeqpacketSocket client, Cancellation cancel) {
        this.wake = Io.pipe(Kernel.O_CLOEXEC);
        this.thread = Thread.ofPlatform().daemon().name("cryo-rpc-hangup-watch").start(() -> {
            if (client.awaitHangup(wake.read())) {
                cancel.cancel("the client hung up");
            }
        });
    }

    @Override
    public void close() {
        try (Io.Pipe p = wake; Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(1);
            Io.writeFully(p.write().fd(), one);
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
