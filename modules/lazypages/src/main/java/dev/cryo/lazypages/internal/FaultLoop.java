package dev.cryo.lazypages.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

import dev.cryo.lazypages.LazyPages;
import dev.cryo.lazypages.LazyPagesException;
import dev.cryo.pagexfer.RemotePages;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Poll;
import dev.cryo.syscalls.SeqpacketSocket;
import dev.cryo.syscalls.Uffd;

/**
 * The daemon's one thread: takes the processes a restore hands over, answers their page faults, pushes the
 * rest of their memory between faults, follows what they do to their memory, and stops once every process's
 * memory is complete or every process has exited.
 *
 * <p>Faults first: each round reads every userfaultfd that has messages and handles them in order (a fault
 * gets its one page, or a zero page where the dump had none), and only a round without a fault places one
 * chunk in the background: from the last fault on, in chunks that start at 64 KiB after each fault and double
 * up to 4 MiB (CRIU's uffd.c starts and stops there, growing by 64 KiB). From a remote source the background
 * keeps {@value #AHEAD} GETs asked, so that the dump reads and sends the next chunk while the daemon places the
 * last one; their pieces are out of the pending pages meanwhile, so a fault first places what was asked (at most
 * one chunk more than a fault waited for before), and events first take it back into the pending pages unplaced
 * (the events may move or copy them), to be asked again.
 *
 * <p>What the kernel's answers mean (userfaultfd(2), mm/userfaultfd.c): EEXIST, a page is there already (the
 * restore wrote it, or it was placed before): skip it; EAGAIN with pages placed, a partial copy: go on; EAGAIN
 * with none, the address space is changing and an event waits: read the events, then look again; ENOENT, no
 * registered mapping there any more (an unmap whose event is on its way): read the events, then look again;
 * ESRCH (ENOSPC on older kernels), the process has exited: drop it.
 */
public final class FaultLoop implements AutoCloseable {
    private static final int MESSAGES = 64;
    /** Background GETs kept asked from a remote source while no fault waits. */
    private static final int AHEAD = 2;
    private static final int IDLE_TICK_MILLIS = 1000;
    /** A page the kernel keeps refusing for want of a mapping (and no event explains) is given up after this. */
    private static final long NO_MAPPING_NANOS = 2_000_000_000L;

    private final DumpedTree tree;
    private final SeqpacketSocket listening;
    private final RemotePages remote;
    private final Runnable checkpoint;
    private final Consumer<String> log;
    /** Nanoseconds after the release before the background starts; 0: at once, even before the release. */
    private final long prefetchDelay;
    private long releasedAt;
    private final List<Target> targets = new ArrayList<>();
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment messages = arena.allocate(MESSAGES * Uffd.MESSAGE_SIZE, 8);
    private final MemorySegment argument = Uffd.argument(arena);
    private final MemorySegment buffer;
    private SeqpacketSocket restore;
    private boolean released;
    private Target last;
    private int nextBackground;
    /** What the loop is doing, for the line a failure ends with. */
    private String doing = "waiting for the restore";
    private final Counts counts = new Counts();
    /** Background GETs asked and not yet answered, oldest first; their pieces are out of their targets' pending pages. */
    private final ArrayDeque<Chunk> asked = new ArrayDeque<>();

    /** A background piece of a target. */
    private record Chunk(Target target, Piece piece) {}

    /** Figures of one run. */
    static final class Counts {
        long faults;
        long pagesCopied;
        long zeroPages;
        long remotePages;
        int processes;
        int forked;
        int exited;
        long firstTask;
        long complete;
        long[] latencies = new long[1024];
        int nLatencies;

        void latency(long nanos) {
            if (nLatencies == latencies.length) {
                latencies = Arrays.copyOf(latencies, latencies.length * 2);
            }
            latencies[nLatencies++] = nanos;
        }

        long percentile(double p) {
            if (nLatencies == 0) {
                return 0;
            }
            long[] sorted = Arrays.copyOf(latencies, nLatencies);
            Arrays.sort(sorted);
            return sorted[(int) Math.min(nLatencies - 1, Math.ceil(p * nLatencies) - 1)];
        }
    }

    /**
     * @param listening  the daemon's socket, where the restore connects
     * @param remote     the dump's side for pages a lazy dump kept (post-copy), or null: every page is in the images
     * @param checkpoint runs every round (it may throw, to stop)
     */
    public FaultLoop(DumpedTree tree, SeqpacketSocket listening, RemotePages remote, Runnable checkpoint, Consumer<String> log,
                     long prefetchDelay) {
        this.prefetchDelay = prefetchDelay;
        this.tree = tree;
        this.listening = listening;
        this.remote = remote;
        this.checkpoint = checkpoint;
        this.log = log;
        this.buffer = arena.allocate(Target.MAX_CHUNK, Page.SIZE);
    }

    public LazyPages.Stats run() {
        try {
            rehearse();
            loop();
        } catch (RuntimeException e) {
            throw failed(e);
        }
        counts.complete = System.nanoTime();
        for (Target t : targets) {
            t.uffd.close(); // the kernel unregisters what is left: untouched memory reads as zeroes from now on
        }
        if (remote != null) {
            remote.finish(); // the dump may let its tree go
        }
        long since = counts.firstTask == 0 ? 0 : counts.complete - counts.firstTask;
        return new LazyPages.Stats(counts.processes, counts.forked, counts.exited, counts.faults, counts.pagesCopied,
                counts.remotePages, counts.zeroPages, remote == null ? 0 : remote.bytes(), counts.percentile(0.5),
                counts.percentile(0.99), since);
    }

    private void loop() {
        while (true) {
            checkpoint.run();
            boolean work = !asked.isEmpty() || targets.stream().anyMatch(t -> !t.gone && !t.pending.isEmpty());
            if (released && asked.isEmpty() && targets.stream().allMatch(Target::finished)) {
                return;
            }
            long wait = work ? backgroundIn() : IDLE_TICK_MILLIS;
            List<Target> live = targets.stream().filter(t -> !t.gone).toList();
            // the restore's connection (before it the listening socket; -1, ignored, once the restore is gone),
            // then each live target's userfaultfd and, for a handed process, its pidfd (readable once it has exited)
            int[] fds = new int[1 + 2 * live.size()];
            short[] events = new short[fds.length];
            Arrays.fill(events, (short) Kernel.POLLIN);
            fds[0] = restore != null ? restore.fd() : released ? -1 : listening.fd();
            for (int i = 0; i < live.size(); i++) {
                fds[1 + 2 * i] = live.get(i).uffd.fd();
                fds[2 + 2 * i] = live.get(i).pidfd != null ? live.get(i).pidfd.fd() : -1;
            }
            short[] ready = Poll.poll(fds, events, (int) wait);
            if (ready[0] != 0) {
                fromRestore();
            }
            for (int i = 0; i < live.size(); i++) {
                if (ready[1 + 2 * i] != 0) {
                    read(live.get(i));
                }
            }
            for (int i = 0; i < live.size(); i++) {
                if (ready[2 + 2 * i] != 0 && !live.get(i).gone) {
                    exited(live.get(i)); // its faults, if any were read, no longer matter
                }
            }
            boolean faulted = false;
            for (Target t : new ArrayList<>(targets)) {
                faulted |= handleInbox(t);
            }
            if (!faulted && work && backgroundIn() == 0) {
                background();
            }
        }
    }

    /** Milliseconds until the background may push pages (0: now), or the idle tick while the tree does not run yet. */
    private long backgroundIn() {
        if (prefetchDelay == 0) {
            return 0;
        }
        if (!released) {
            return IDLE_TICK_MILLIS;
        }
        long left = releasedAt + prefetchDelay - System.nanoTime();
        return left <= 0 ? 0 : Math.min(IDLE_TICK_MILLIS, (left + 999_999) / 1_000_000);
    }

    /**
     * Takes a TASK from itself, on a socket pair, before the restore comes: the first message with descriptors costs
     * the JVM several milliseconds of method handles made on first use (the FFM accessors of msghdr and cmsghdr), and
     * the restore waits for the answer to its first process with its tree stopped. The daemon is idle now, while
     * the restore's JVM starts.
     */
    private void rehearse() {
        SeqpacketSocket[] pair = SeqpacketSocket.pair();
        List<Fd> fds = new ArrayList<>();
        try (Arena a = Arena.ofConfined(); SeqpacketSocket restoreEnd = pair[0]; SeqpacketSocket daemonEnd = pair[1];
             Fd self = dev.cryo.syscalls.Pidfd.open((int) ProcessHandle.current().pid())) {
            restoreEnd.send(Messages.task(a, 0), self.fd(), self.fd());
            MemorySegment m = daemonEnd.receive(a, 2, fds);
            if (m == null || Messages.kind(m) != Messages.TASK || fds.size() != 2 || !kind(fds.get(1)).equals("anon_inode:[pidfd]")) {
                throw new IllegalStateException("a TASK sent to itself came back otherwise");
            }
            daemonEnd.send(Messages.answer(a, null));
            if (Messages.refusal(restoreEnd.receive(a)) != null) {
                throw new IllegalStateException("an answer sent to itself came back otherwise");
            }
        } finally {
            fds.forEach(Fd::close);
        }
    }

    /** A connection from the restore, or a message on it. */
    private void fromRestore() {
        if (restore == null) {
            restore = listening.acceptReady();
            if (restore == null) {
                return;
            }
            listening.close(); // one restore: another one is refused at once, never left waiting
            SeqpacketSocket.Peer peer = restore.peer();
            if (peer.uid() != 0 && peer.uid() != ownUid()) {
                throw new LazyPagesException("refused a restore of uid " + peer.uid() + " (pid " + peer.pid() + "): only root or"
                        + " the daemon's own user may hand it processes");
            }
            doing = "taking the processes of the restore (pid " + peer.pid() + ")";
            return;
        }
        List<Fd> fds = new ArrayList<>();
        MemorySegment m;
        try {
            m = restore.receive(arena, 2, fds);
        } catch (RuntimeException e) {
            fds.forEach(Fd::close);
            throw e;
        }
        if (m == null) {
            restore.close();
            restore = null;
            if (!released) {
                throw new LazyPagesException("the restore went away before its tree ran (it failed: its own output says why)");
            }
            return;
        }
        switch (Messages.kind(m)) {
            case Messages.TASK -> task(Messages.pid(m), fds);
            case Messages.RELEASED -> {
                fds.forEach(Fd::close);
                released = true;
                releasedAt = System.nanoTime();
                log.accept("the restore released the tree: " + counts.processes + " processes");
            }
            default -> {
                fds.forEach(Fd::close);
                throw new LazyPagesException(String.format("the restore sent a message of %d bytes that is neither TASK nor"
                        + " RELEASED (0x%x)", m.byteSize(), Messages.kind(m)));
            }
        }
    }

    /** TASK: a process's userfaultfd and pidfd, checked, then served from now on; refused with the reason otherwise. */
    private void task(int pid, List<Fd> fds) {
        String refusal = fds.size() != 2 ? "TASK carried " + fds.size() + " descriptors, not a userfaultfd and a pidfd"
                : !kind(fds.get(0)).equals("anon_inode:[userfaultfd]") ? "its first descriptor is " + kind(fds.get(0)) + ", not a userfaultfd"
                : !kind(fds.get(1)).equals("anon_inode:[pidfd]") ? "its second descriptor is " + kind(fds.get(1)) + ", not a pidfd"
                : targets.stream().anyMatch(t -> t.pid == pid && t.pidfd != null) ? "pid " + pid + " was handed over already"
                : tree.refusal(pid);
        Pending pending = null;
        if (refusal == null) {
            try {
                List<Piece> pieces = tree.lazyPages(pid);
                if (remote == null && pieces.stream().anyMatch(Piece::remote)) {
                    refusal = "its dump in " + tree.where() + " kept pages on its side (dump --lazy-pages): start the daemon"
                            + " with --page-server --address A --port P, where that dump serves them";
                } else {
                    pending = new Pending(pieces);
                }
            } catch (RuntimeException e) {
                refusal = "its pages cannot be read: " + CryoFailure.describe(e);
            }
        }
        if (refusal != null) {
            fds.forEach(Fd::close);
            restore.send(Messages.answer(arena, refusal));
            throw new LazyPagesException("refused pid " + pid + " of the restore: " + refusal);
        }
        Target t = new Target(pid, "pid " + pid, fds.get(0), fds.get(1), pending);
        targets.add(t);
        counts.processes++;
        if (counts.firstTask == 0) {
            counts.firstTask = System.nanoTime();
        }
        restore.send(Messages.answer(arena, null));
        log.accept("pid " + pid + ": " + pending.pages() + " pages to place");
    }

    private static int ownUid() {
        try {
            return (Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"), "unix:uid");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot tell the daemon's own uid", e);
        }
    }

    private static String kind(Fd fd) {
        try {
            return Io.readlink("/proc/self/fd/" + fd.fd());
        } catch (RuntimeException e) {
            return "unreadable";
        }
    }

    /** Reads what the userfaultfd has into the target's inbox. */
    private void read(Target t) {
        long at = System.nanoTime();
        int n = Uffd.read(t.uffd, messages);
        for (int i = 0; i < n; i++) {
            Uffd.Message m = Uffd.message(messages, i);
            t.inbox.add(m.isFault() ? withTime(m, at) : m);
        }
    }

    /** A fault keeps the time it was read in its (unused) {@code start} field, for its latency. */
    private static Uffd.Message withTime(Uffd.Message m, long at) {
        return new Uffd.Message(m.event(), m.address(), m.flags(), m.tid(), 0, 0, 0, 0, at, 0);
    }

    /**
     * Handles the target's messages: its events first, then its faults; returns whether there was a fault.
     * Events first: a fork's child has the memory its parent had when the fork began (the kernel refuses copies
     * into the parent from then until the daemon reads the event, EAGAIN), so a fault read just before the fork
     * event must not be placed in the parent before the child takes its copy of what is due. A fault is only a
     * request for a page as it is now; answering it after a later event is answering it a moment later.
     */
    private boolean handleInbox(Target t) {
        handleEvents(t);
        boolean faulted = false;
        Uffd.Message m;
        while (!t.gone && (m = t.inbox.poll()) != null) {
            if (m.isFault()) {
                fault(t, m);
                faulted = true;
            } else {
                event(t, m); // came in while a fault was served
            }
        }
        return faulted;
    }

    /** The events waiting in the target's inbox, in order; its faults stay queued. */
    private void handleEvents(Target t) {
        List<Uffd.Message> events = new ArrayList<>();
        for (Iterator<Uffd.Message> it = t.inbox.iterator(); it.hasNext(); ) {
            Uffd.Message m = it.next();
            if (!m.isFault()) {
                events.add(m);
                it.remove();
            }
        }
        events.forEach(m -> event(t, m));
    }

    /** Fork, mremap, madvise removal, munmap: the target's pending pages follow its memory. */
    private void event(Target t, Uffd.Message m) {
        unask(); // the event may move or copy the pages asked for: they go back where it finds them
        int e = m.event();
        if (e == Kernel.UFFD_EVENT_FORK) {
            Fd child = Fd.own(m.forkedUffd());
            Io.fcntl(child.fd(), Kernel.F_SETFL, Kernel.O_NONBLOCK);
            Target c = new Target(t.pid, "a child of " + t.label + " forked after the restore", child, null, t.pending.copy());
            c.cursor = t.cursor;
            targets.add(c);
            counts.forked++;
        } else if (e == Kernel.UFFD_EVENT_REMAP) {
            t.pending.remap(m.from(), m.to(), m.len());
        } else if (e == Kernel.UFFD_EVENT_REMOVE || e == Kernel.UFFD_EVENT_UNMAP) {
            t.pending.remove(m.start(), m.end()); // dropped memory reads as zeroes; unmapped memory is gone
        } else {
            throw new LazyPagesException(t.label + ": a userfaultfd message of event " + e + ", which cryo did not ask for");
        }
    }

    /** Reads whatever waits on the target's userfaultfd and handles its events now (its faults stay queued, in order). */
    private void absorbEvents(Target t) {
        read(t);
        handleEvents(t);
    }

    /** A fault: its page if the dump had one there and it is still due, else a zero page; then the background starts there. */
    private void fault(Target t, Uffd.Message m) {
        drain(); // the page may be in a piece asked for already
        long page = m.address() & -Page.SIZE;
        counts.faults++;
        t.cursor = page;
        t.chunk = Target.MIN_CHUNK;
        last = t;
        doing = String.format("%s (thread %d) faulted at 0x%x", t.label, m.tid(), page);
        while (!t.gone) {
            Piece p = t.pending.at(page);
            if (p == null) {
                if (zero(t, page)) {
                    break;
                }
                continue; // the address space changed: look again
            }
            long copied = counts.pagesCopied;
            if (place(t, t.pending.cut(p, page, page + Page.SIZE))) {
                if (counts.pagesCopied == copied && !t.gone) {
                    Uffd.wake(t.uffd, page, Page.SIZE); // it was there already: the thread need not wait for it
                }
                break;
            }
        }
        counts.latency(System.nanoTime() - m.start());
    }

    /** A zero page at {@code page}; false when the address space is changing (look again once its events are read). */
    private boolean zero(Target t, long page) {
        Uffd.Placed r = Uffd.zeroPage(t.uffd, page, Page.SIZE, argument);
        if (r.ok()) {
            counts.zeroPages++;
            return true;
        }
        if (r.is(Errno.EEXIST) || r.is(Errno.ENOENT)) {
            // There already, or no registered mapping any more: the thread tries again and finds what the kernel has.
            Uffd.wake(t.uffd, page, Page.SIZE);
            return true;
        }
        if (r.is(Errno.ESRCH) || r.is(Errno.ENOSPC)) {
            exited(t);
            return true;
        }
        if (r.is(Errno.EAGAIN)) {
            absorbEvents(t);
            return false;
        }
        throw new LazyPagesException(String.format("UFFDIO_ZEROPAGE at 0x%x of %s: %s", page, t.label, Errno.describe(r.errno())));
    }

    /**
     * The background's share of a round: one chunk of the target that faulted last, else of the next one with
     * pages due; from a remote source, GETs asked up to {@value #AHEAD} ahead and the oldest one's answer placed.
     */
    private void background() {
        while (remote != null && asked.size() < AHEAD) {
            Chunk c = nextChunk();
            if (c == null) {
                break;
            }
            if (!c.piece().remote()) {
                place(c.target(), c.piece()); // from the images: nothing to wait for
                return;
            }
            remote.ask(c.piece().owner(), c.piece().img(), c.piece().pages());
            asked.add(c);
        }
        Chunk c = remote != null ? asked.poll() : nextChunk();
        if (c == null) {
            return;
        }
        doing = String.format("pushing %d pages of %s at 0x%x ahead of its faults", c.piece().pages(), c.target().label,
                c.piece().start());
        if (c.piece().remote()) {
            placeAnswer(c);
        } else {
            place(c.target(), c.piece());
        }
        if (asked.isEmpty() && targets.stream().filter(x -> !x.gone).allMatch(x -> x.pending.isEmpty())) {
            log.accept("every page is placed");
        }
    }

    /** The next background chunk, taken out of its target's pending pages, or null when none is due. */
    private Chunk nextChunk() {
        Target t = last != null && !last.gone && !last.pending.isEmpty() ? last : null;
        for (int i = 0; t == null && i < targets.size(); i++) {
            Target c = targets.get((nextBackground + i) % targets.size());
            if (!c.gone && !c.pending.isEmpty()) {
                t = c;
                nextBackground = (nextBackground + i + 1) % targets.size();
            }
        }
        if (t == null) {
            return null;
        }
        Piece p = t.pending.take(t.cursor, t.chunk);
        t.cursor = p.end();
        t.chunk = Math.min(Target.MAX_CHUNK, t.chunk * 2);
        return new Chunk(t, p);
    }

    /** Places every asked piece, oldest first. */
    private void drain() {
        Chunk c;
        while ((c = asked.poll()) != null) {
            placeAnswer(c);
        }
    }

    /** Takes the answers to every asked piece and puts the pieces back into their targets' pending pages, unplaced. */
    private void unask() {
        Chunk c;
        while ((c = asked.poll()) != null) {
            remote.answer(c.piece().owner(), c.piece().img(), c.piece().pages(), buffer);
            if (!c.target().gone) {
                c.target().pending.put(c.piece());
            }
        }
    }

    /** Takes the answer to the asked piece {@code c} and places it, as {@link #place} does. */
    private boolean placeAnswer(Chunk c) {
        Target t = c.target();
        Piece p = c.piece();
        long n = remote.answer(p.owner(), p.img(), p.pages(), buffer);
        counts.remotePages += n;
        if (t.gone) {
            return true;
        }
        if (n < p.pages()) {
            t.pending.put(p.slice(p.start() + n * Page.SIZE, p.end()));
            p = p.slice(p.start(), p.start() + n * Page.SIZE);
        }
        return copy(t, p, buffer.asSlice(0, n * Page.SIZE));
    }

    /**
     * Places piece {@code p}, taken out of the target's pending pages. Returns false when the address space
     * changed under the copy: what was not placed went back (where the events moved it), to be looked at again.
     */
    private boolean place(Target t, Piece p) {
        MemorySegment data;
        if (p.remote()) {
            drain(); // the answers come in order
            long n = remote.get(p.owner(), p.img(), p.pages(), buffer);
            counts.remotePages += n;
            if (n < p.pages()) {
                t.pending.put(p.slice(p.start() + n * Page.SIZE, p.end()));
                p = p.slice(p.start(), p.start() + n * Page.SIZE);
            }
            data = buffer.asSlice(0, n * Page.SIZE);
        } else {
            data = p.bytes();
        }
        return copy(t, p, data);
    }

    /** UFFDIO_COPY of {@code data}, the contents of piece {@code p}, as {@link #place} says. */
    private boolean copy(Target t, Piece p, MemorySegment data) {
        long at = 0;
        long span = data.byteSize();
        while (at < data.byteSize()) {
            Uffd.Placed r = Uffd.copy(t.uffd, p.start() + at, data.asSlice(at, Math.min(span, data.byteSize() - at)), argument);
            at += r.bytes();
            counts.pagesCopied += r.bytes() / Page.SIZE;
            if (r.ok() || r.is(Errno.EAGAIN) && r.bytes() > 0) {
                span = data.byteSize();
                continue; // done, or a partial copy (a page there already ends it): go on from there
            }
            if (r.is(Errno.ENOENT) && Math.min(span, data.byteSize() - at) > Page.SIZE) {
                // UFFDIO_COPY stays inside one mapping (mm/userfaultfd.c, validate_dst_vma): the range may reach into
                // the next one (the tree split a mapping since): halve it until it fits, then go on from there
                span = Math.max(Page.SIZE, Math.min(span, data.byteSize() - at) / 2 & -Page.SIZE);
                continue;
            }
            if (r.is(Errno.EEXIST)) {
                at += Page.SIZE; // the restore wrote it, or it came another way: it stays as it is
                continue;
            }
            if (r.is(Errno.ESRCH) || r.is(Errno.ENOSPC)) {
                exited(t);
                return true;
            }
            if (r.is(Errno.EAGAIN) || r.is(Errno.ENOENT)) {
                Piece rest = p.slice(p.start() + at, p.end());
                t.pending.put(rest);
                absorbEvents(t);
                if (r.is(Errno.ENOENT)) {
                    giveUpIfStuck(t, rest);
                }
                return false;
            }
            throw new LazyPagesException(String.format("UFFDIO_COPY of %d bytes at 0x%x of %s: %s", data.byteSize() - at,
                    p.start() + at, t.label, Errno.describe(r.errno())));
        }
        t.noMappingSince = 0;
        return true;
    }

    /**
     * ENOENT, and the events read so far leave the pages where they were: an unmap whose event has not come
     * yet, most likely. Pages that stay so for {@value #NO_MAPPING_NANOS} ns are given up: nothing can fault
     * there without a registered mapping.
     */
    private void giveUpIfStuck(Target t, Piece rest) {
        if (t.pending.at(rest.start()) == null) {
            t.noMappingSince = 0;
            return;
        }
        long now = System.nanoTime();
        if (t.noMappingSince == 0) {
            t.noMappingSince = now;
        } else if (now - t.noMappingSince > NO_MAPPING_NANOS) {
            t.pending.remove(rest.start(), rest.end());
            log.accept(String.format("%s: no mapping at 0x%x-0x%x any more; its pages are dropped", t.label, rest.start(), rest.end()));
            t.noMappingSince = 0;
        }
    }

    /** The process has exited (or exec'd a new program): nothing of it is due any more. */
    private void exited(Target t) {
        t.gone = true;
        t.inbox.clear();
        t.uffd.close();
        counts.exited++;
        log.accept(t.label + " has exited; " + t.pending.pages() + " of its pages were still due");
    }

    /**
     * A failure while processes depend on the daemon: their memory can no longer come, and closing the
     * userfaultfds would let them read zeroes where it did not: the tree is killed.
     */
    private LazyPagesException failed(RuntimeException e) {
        List<Fd> handed = targets.stream().map(t -> t.pidfd).filter(java.util.Objects::nonNull).toList();
        boolean due = asked.stream().anyMatch(c -> !c.target().gone) || targets.stream().anyMatch(t -> !t.gone && !t.pending.isEmpty());
        String why = CryoFailure.describe(e);
        if (handed.isEmpty() || !due) {
            // nothing of the tree depends on the daemon any more (or it has none): it runs on
            return e instanceof LazyPagesException l ? l : new LazyPagesException(why + ": " + doing, e);
        }
        List<Integer> killed = TreeKill.kill(handed);
        if (e instanceof LazyPagesException l && l.getMessage().startsWith("refused pid")) {
            return l; // the restore, refused, kills its own tree; the daemon killed what it had been given
        }
        return new LazyPagesException(why + ": " + doing + "; " + (due ? "pages were still due, so " : "")
                + "the restored tree is killed (pids " + killed + ")", e);
    }

    @Override
    public void close() {
        for (Target t : targets) {
            t.uffd.close();
            if (t.pidfd != null) {
                t.pidfd.close();
            }
        }
        if (restore != null) {
            restore.close();
        }
        arena.close();
    }
}
