package dev.cryo.migrate.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import dev.cryo.images.ImageKind;

/**
 * The snapshots a daemon holds for one migration (a chain of pre-dumps and a dump), and the rules of what may
 * come: each snapshot claimed once, its parent complete here, one chain, nothing after the last dump; an
 * image complete only with a closing mark that accounts for every byte sent of it. The image cache holds
 * every byte (and deduplicates pages along the chain, {@link Dedup}); the image proxy keeps what the next
 * step of the chain reads (every image but pages) and only the names and sizes of pages images.
 *
 * <p>Readers wait here: in the cache, an image of a snapshot being written is waited for until it arrives,
 * the snapshot is complete without it, or the proxy's connection ends first. The proxy answers at once.
 */
public final class Holdings {
    /** Which daemon holds: what it keeps, and whether readers wait. */
    public enum Role {
        PROXY("image proxy"), CACHE("image cache");

        final String label;

        Role(String label) {
            this.label = label;
        }
    }

    /** A refusal for a reader: {@code missing} is MISSING (no such image), else FAILED (it will never come). */
    public static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final boolean missing;

        Refused(boolean missing, String text) {
            super(text, null, false, false);
            this.missing = missing;
        }
    }

    /** A writer broke the rules: the message says how, naming the image or snapshot (not the peer). */
    public static final class Violation extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Violation(String text) {
            super(text, null, false, false);
        }
    }

    /** One complete (or incoming) image: its bytes (none for pages passing through a proxy) and its size. */
    static final class Image {
        final String name;
        final ImageBytes bytes;
        long size;
        /** The whole image's size as its writer announced it (ANNOUNCE), or -1: no byte may come beyond it. */
        long announced = -1;

        Image(String name, ImageBytes bytes) {
            this.name = name;
            this.bytes = bytes;
        }

        void close() {
            if (bytes != null) {
                bytes.close();
            }
        }
    }

    static final class Snapshot {
        final String id;
        final String parent;
        final boolean last;
        boolean complete;
        final Map<String, Image> images = new TreeMap<>();
        final Map<String, Image> incoming = new HashMap<>();

        Snapshot(String id, String parent, boolean last) {
            this.id = id;
            this.parent = parent;
            this.last = last;
        }

        void close() {
            images.values().forEach(Image::close);
            incoming.values().forEach(Image::close);
            images.clear();
            incoming.clear();
        }
    }

    private final Role role;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Snapshot> snapshots = new LinkedHashMap<>();
    /** Snapshots whose step failed and was aborted, until claimed again. */
    private final java.util.Set<String> aborted = new java.util.HashSet<>();
    /** Who writes into the cache (the proxy's address), for messages; the proxy names itself. */
    private String source;
    /** Null while more may come; then why nothing more will. */
    private String ended;
    private boolean endedWell;
    private boolean done;
    private long receivedBytes;
    private final HeldInFiles inFiles = new HeldInFiles();

    public Holdings(Role role) {
        this.role = role;
        this.source = role == Role.PROXY ? "this image proxy" : "the image proxy";
    }

    /** The cache's source is connected: {@code peer} names it in messages. */
    public void connected(String peer) {
        lock.lock();
        try {
            source = peer;
        } finally {
            lock.unlock();
        }
    }

    private static boolean isPages(String name) {
        return ImageKind.ofFileName(name).orElse(null) == ImageKind.PAGES;
    }

    /** Whether this daemon keeps the bytes of {@code name} (the proxy passes pages on without keeping them). */
    public boolean keeps(String name) {
        return role == Role.CACHE || !isPages(name);
    }

    /** Where this daemon keeps the bytes of {@code name}: null (passed on), memory, or in the cache a pages image's memfd. */
    private ImageBytes bytesFor(String name) {
        if (!keeps(name)) {
            return null;
        }
        return role == Role.CACHE && isPages(name) ? ImageBytes.inMemfd(name, inFiles) : new ImageBytes();
    }

    /**
     * Waits until nothing of snapshot {@code id} can be released any more: true at once for the migration's last
     * snapshot (deduplication releases from the snapshots below the one completed), else once the last snapshot is
     * complete (deduplication runs at a completion, and none follows it), false when the source ended without it.
     */
    public boolean awaitSettled(String id) {
        lock.lock();
        try {
            while (true) {
                Snapshot own = snapshots.get(id);
                if (own != null && own.last) {
                    return true; // deduplication releases from the snapshots below the one completed, never from the last
                }
                for (Snapshot s : snapshots.values()) {
                    if (s.last && s.complete) {
                        return true;
                    }
                }
                if (ended != null || role == Role.PROXY) {
                    return false;
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Null if a step may write snapshot {@code id} on top of {@code parent} (or none); else why not. */
    public String claim(String id, String parent, boolean last) {
        lock.lock();
        try {
            String here = role == Role.CACHE ? "in this image cache" : "through this image proxy";
            if (ended != null) {
                return "the migration has ended (" + (endedWell ? "its last dump is complete" : ended) + ")";
            }
            Snapshot same = snapshots.get(id);
            if (same != null) {
                return "snapshot " + id + (same.complete ? " exists already " + here : " is being written " + here + " now");
            }
            for (Snapshot s : snapshots.values()) {
                if (!s.complete) {
                    return "snapshot " + s.id + " is being written " + here + " now; one step at a time";
                }
                if (s.last) {
                    return "the migration's last dump (" + s.id + ") is complete " + here + "; it takes no more";
                }
            }
            if (parent == null && !snapshots.isEmpty()) {
                return "snapshot " + id + " has no parent, but this " + role.label + " serves the migration that began with "
                        + snapshots.keySet().iterator().next() + " (one migration: give --prev-images-dir)";
            }
            if (parent != null && (snapshots.get(parent) == null || !snapshots.get(parent).complete)) {
                return "its parent snapshot " + parent + " is not " + here + " (it holds " + names() + ")";
            }
            snapshots.put(id, new Snapshot(id, parent, last));
            aborted.remove(id);
            changed.signalAll();
            return null;
        } finally {
            lock.unlock();
        }
    }

    private String names() {
        return snapshots.isEmpty() ? "none" : String.join(", ", snapshots.keySet());
    }

    private Snapshot writable(String id, String what) {
        Snapshot s = snapshots.get(id);
        if (s == null) {
            throw new Violation(what + " of snapshot " + id + ", which was not claimed");
        }
        if (s.complete) {
            throw new Violation(what + " of snapshot " + id + ", which is complete");
        }
        return s;
    }

    /**
     * Where the next bytes of image {@code name} of snapshot {@code id} go: its incoming image (begun with its
     * first piece), whose bytes are null where this daemon does not keep them.
     */
    public Image incoming(String id, String name, long piece) {
        lock.lock();
        try {
            Snapshot s = writable(id, "bytes of " + name);
            mayBegin(s, name);
            Image image = s.incoming.computeIfAbsent(name, n -> new Image(n, bytesFor(n)));
            if (image.announced >= 0 && piece > image.announced - image.size) {
                throw new Violation(name + " of " + id + ": a piece of " + piece + " bytes at offset " + image.size
                        + ", beyond the " + image.announced + " bytes announced");
            }
            return image;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Image {@code name} of {@code id} will hold exactly {@code size} bytes (before its first piece): readers
     * learn its size at once ({@link #size}), and no byte beyond it is taken.
     */
    public void announce(String id, String name, long size) {
        lock.lock();
        try {
            Snapshot s = writable(id, "the announcement of " + name);
            mayBegin(s, name);
            Image image = s.incoming.computeIfAbsent(name, n -> new Image(n, bytesFor(n)));
            if (image.size > 0 || image.announced >= 0) {
                throw new Violation(name + " of " + id + ": announced " + (image.announced >= 0 ? "twice" : "after " + image.size + " of its bytes"));
            }
            image.announced = size;
            if (image.bytes != null) {
                image.bytes.reserve(size);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** {@code n} more bytes of {@code image} have come (into the {@link ImageBytes#tail} of its bytes, if it keeps them). */
    public void received(Image image, long n) {
        lock.lock();
        try {
            if (image.bytes != null) {
                image.bytes.appended(n);
            }
            image.size += n;
            receivedBytes += n;
            if (image.announced >= 0) {
                changed.signalAll(); // a restore may be reading the image as it arrives (AWAIT)
            }
        } finally {
            lock.unlock();
        }
    }

    /** The closing mark of {@code name}: complete, if {@code size} accounts for every byte that came. */
    public void end(String id, String name, long size) {
        lock.lock();
        try {
            Snapshot s = writable(id, "the closing mark of " + name);
            if (!name.equals(INVENTORY)) {
                mayBegin(s, name);
            }
            Image image = s.incoming.remove(name);
            if (image == null) {
                image = new Image(name, bytesFor(name)); // an empty image: no piece came
            }
            if (image.size != size) {
                image.close();
                throw new Violation(name + " of " + id + ": its closing mark says " + size + " bytes, " + image.size + " came");
            }
            if (image.announced >= 0 && image.announced != size) {
                image.close();
                throw new Violation(name + " of " + id + ": " + size + " bytes came of the " + image.announced + " announced");
            }
            Image older = s.images.put(name, image);
            if (older != null) {
                older.close();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Forgets image {@code name} of {@code id}, complete or incoming. */
    public void drop(String id, String name) {
        lock.lock();
        try {
            Snapshot s = writable(id, "the drop of " + name);
            Image a = s.incoming.remove(name);
            Image b = s.images.remove(name);
            if (a != null) {
                a.close();
            }
            if (b != null) {
                b.close();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The step failed: snapshot {@code id} goes, with everything of it. */
    public void abort(String id) {
        lock.lock();
        try {
            Snapshot s = snapshots.get(id);
            if (s != null && !(s.complete && s.last && endedWell)) {
                snapshots.remove(id);
                aborted.add(id);
                s.close();
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Snapshot {@code id} is complete: no image may be incoming. In the cache, the pages that it holds are
     * released from the snapshots below it ({@link Dedup}).
     */
    public void complete(String id) {
        lock.lock();
        try {
            Snapshot s = writable(id, "the completion");
            if (!s.incoming.isEmpty()) {
                throw new Violation("snapshot " + id + " is said to be complete, but " + s.incoming.keySet().iterator().next()
                        + " has no closing mark");
            }
            s.complete = true;
            if (role == Role.CACHE) {
                Dedup.apply(s, this::get);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    Snapshot get(String id) {
        return id == null ? null : snapshots.get(id);
    }

    /** Whether snapshot {@code id} is the migration's last and complete. */
    public boolean isLastComplete(String id) {
        lock.lock();
        try {
            Snapshot s = snapshots.get(id);
            return s != null && s.last && s.complete;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Nothing more comes from the source: well (its last dump is complete, BYE) or not ({@code why}). Snapshots
     * that are not complete can never be: readers waiting for them are told why. (Their memory stays until the
     * daemon closes: a thread may still be receiving into it.)
     */
    public void sourceEnded(String why, boolean well) {
        lock.lock();
        try {
            if (ended == null) {
                ended = why;
                endedWell = well;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A restore from the last snapshot ended well. */
    public void done(String id) {
        lock.lock();
        try {
            Snapshot s = snapshots.get(id);
            if (s != null && s.last && s.complete) {
                done = true;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Waits until a restore from the last snapshot has ended well and the source has ended, or {@code stop} says so. */
    public void awaitDone(java.util.function.BooleanSupplier stop) throws InterruptedException {
        lock.lock();
        try {
            while (!(done && ended != null) && !stop.getAsBoolean()) {
                changed.await(200, TimeUnit.MILLISECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every waiting reader: the daemon stops ({@code why}). */
    public void stop(String why) {
        sourceEnded(why, false);
    }

    /**
     * The complete image {@code name} of {@code id}, once it is there (the cache waits for it); a
     * {@link Refused} when it is not and will not be.
     */
    public Image image(String id, String name) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                Image image = s == null ? null : s.images.get(name);
                if (image != null) {
                    if (image.bytes == null) {
                        throw new Refused(true, "the image proxy keeps no pages: " + name + " of " + id + " went on to the image cache");
                    }
                    return image;
                }
                refuseIfNever(s, id, name, absence(s, id, name));
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether image {@code name} of {@code id} is there, once that is known (the cache waits until it is). */
    public boolean exists(String id, String name) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                if (s != null && (s.images.containsKey(name) || announced(s, name) >= 0)) {
                    return true;
                }
                if (closedWithout(s, name)) {
                    return false;
                }
                String refusal = absence(s, id, name);
                if (refusal != null) {
                    if (s != null && s.complete || role == Role.PROXY || s == null && endedWell) {
                        return false;
                    }
                    throw new Refused(false, refusal);
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Throws the {@link Refused} of a reader that waits for image {@code name} of {@code id} ({@code s}, null when
     * unknown) which will never come: the snapshot closed without it ({@link #closedWithout}), or {@code refusal}
     * (not null) says why; returns when it may still come. The refusal says the image is missing (rather than
     * lost) where the snapshot is complete, the migration ended well without such a snapshot, or this is the proxy.
     */
    private void refuseIfNever(Snapshot s, String id, String name, String refusal) {
        if (closedWithout(s, name)) {
            throw new Refused(true, name + " is not in snapshot " + id + ": its inventory is there, and nothing more begins");
        }
        if (refusal != null) {
            throw new Refused(s != null && s.complete || s == null && endedWell || role == Role.PROXY, refusal);
        }
    }

    /**
     * Whether image {@code name} of {@code s} is not there and will not come though {@code s} is not complete:
     * its inventory is there, after which only images begun or announced before it may come (the order of a
     * --remote dump: the pages travel after the inventory, announced).
     */
    private static boolean closedWithout(Snapshot s, String name) {
        return s != null && !s.complete && s.images.containsKey(INVENTORY) && !s.images.containsKey(name)
                && !s.incoming.containsKey(name);
    }

    private static final String INVENTORY = ImageKind.INVENTORY.fileName();

    /** A writer may begin image {@code name} of {@code s}: not once the inventory is there, unless it was announced before. */
    private static void mayBegin(Snapshot s, String name) {
        if (s.images.containsKey(INVENTORY) && !s.incoming.containsKey(name)) {
            throw new Violation(name + " of " + s.id + " begins after " + INVENTORY + ", after which only images announced before it may come");
        }
    }

    private static long announced(Snapshot s, String name) {
        Image incoming = s.incoming.get(name);
        return incoming == null ? -1 : incoming.announced;
    }

    /**
     * The size of image {@code name} of {@code id}: once it is complete, or announced while its bytes come (the
     * cache waits until one is so); a {@link Refused} when it is not there and will not be.
     */
    public long size(String id, String name) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                Image image = s == null ? null : s.images.get(name);
                if (image != null) {
                    return image.size;
                }
                long announced = s == null ? -1 : announced(s, name);
                if (announced >= 0) {
                    return announced;
                }
                refuseIfNever(s, id, name, absence(s, id, name));
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The image that a restore may map for reading: complete, or of the migration's last snapshot as soon as it
     * is announced and in a file (nothing of that snapshot is ever released; its reader waits for the bytes it
     * reads, {@link #awaitBytes}). {@code size[0]} gets the image's size, {@code size[1]} the bytes there now.
     */
    public Image mappable(String id, String name, long[] size) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                Image image = s == null ? null : s.images.get(name);
                if (image == null && s != null && s.last && role == Role.CACHE) {
                    Image incoming = s.incoming.get(name);
                    if (incoming != null && incoming.announced >= 0 && incoming.bytes != null) {
                        size[0] = incoming.announced;
                        size[1] = incoming.size;
                        return incoming;
                    }
                }
                if (image != null) {
                    if (image.bytes == null) {
                        throw new Refused(true, "the image proxy keeps no pages: " + name + " of " + id + " went on to the image cache");
                    }
                    size[0] = image.size;
                    size[1] = image.size;
                    return image;
                }
                refuseIfNever(s, id, name, s == null && aborted.contains(id) ? name + " of " + id + " never arrived: " + source
                        + " aborted the step that wrote it" : absence(s, id, name));
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the bytes of image {@code name} of {@code id} there now, once there are {@code count} of them; a
     * {@link Refused} when they will never be (the step was aborted, the source ended, the image is shorter).
     */
    public long awaitBytes(String id, String name, long count) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                Image image = s == null ? null : s.images.get(name);
                if (image == null && s != null) {
                    image = s.incoming.get(name);
                }
                if (image != null && image.size >= count) {
                    return image.size;
                }
                if (image != null && s.images.get(name) == image) {
                    throw new Refused(false, name + " of " + id + " has " + image.size + " bytes, not " + count);
                }
                String refusal = s == null && aborted.contains(id) ? name + " of " + id + " never arrived whole: " + source
                        + " aborted the step that wrote it" : s == null || image == null ? absence(s, id, name)
                        : ended != null ? name + " of " + id + " never arrived whole: " + ended : null;
                if (refusal != null) {
                    throw new Refused(false, refusal);
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Returns once snapshot {@code id} is complete; a {@link Refused} when it is not and never will be. */
    public void awaitComplete(String id) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                if (s != null && s.complete) {
                    return;
                }
                String refusal = absence(s, id, "(the completion)");
                if (refusal != null) {
                    throw new Refused(false, s == null ? refusal : "snapshot " + id + " will never be complete: "
                            + (ended != null ? ended : source + " has not completed it"));
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Why image {@code name} of snapshot {@code s} (null: unknown {@code id}) is not there and will not be; null when it may still come. */
    private String absence(Snapshot s, String id, String name) {
        if (s != null && s.complete) {
            return name + " is not in snapshot " + id + ": " + source + " completed the snapshot without it";
        }
        if (role == Role.PROXY) {
            return s == null ? "no snapshot " + id + " passed through this image proxy (it holds " + names() + ")"
                    : name + " of " + id + " has not come through this image proxy (yet)";
        }
        if (ended != null) {
            if (s == null && aborted.contains(id)) {
                return name + " of " + id + " never arrived: " + source + " aborted the step that wrote it"
                        + (endedWell ? "" : "; then " + ended);
            }
            if (s == null) {
                return name + " of " + id + ": no snapshot " + id + " in this image cache (it holds " + names() + ")"
                        + (endedWell ? "" : "; " + ended);
            }
            return name + " of " + id + " never arrived: " + ended;
        }
        return null;
    }

    /** The names of the images of {@code id}, once it is complete (the proxy: what it has now). */
    public List<String> list(String id) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                if (s != null && (s.complete || role == Role.PROXY)) {
                    return new ArrayList<>(s.images.keySet());
                }
                if (s != null && s.images.containsKey(INVENTORY)) {
                    // nothing begins after the inventory: what is there, and what was announced to come
                    List<String> names = new ArrayList<>(s.images.keySet());
                    s.incoming.values().stream().filter(i -> i.announced >= 0).forEach(i -> names.add(i.name));
                    names.sort(null);
                    return names;
                }
                String refusal = absence(s, id, "(the listing)");
                if (refusal != null) {
                    throw new Refused(s == null, s == null ? refusal : "snapshot " + id + " will never be complete: " + ended);
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The parent of {@code id} (null: none), once {@code id} is known. */
    public String parent(String id) {
        lock.lock();
        try {
            while (true) {
                Snapshot s = snapshots.get(id);
                if (s != null) {
                    return s.parent;
                }
                String refusal = absence(null, id, "");
                if (refusal != null) {
                    throw new Refused(true, refusal);
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** What is held now, for the daemon's report. */
    /** {@code peakInFiles}: the most bytes held at once in pages images' memfds, which the resident set does not show. */
    public record Figures(int snapshots, int images, long receivedBytes, long heldBytes, long releasedBytes, long peakInFiles) {}

    public Figures figures() {
        lock.lock();
        try {
            int images = 0;
            long held = 0;
            long released = 0;
            for (Snapshot s : snapshots.values()) {
                images += s.images.size();
                for (Image i : s.images.values()) {
                    if (i.bytes != null) {
                        held += i.bytes.heldBytes();
                        released += i.size - i.bytes.heldBytes();
                    }
                }
            }
            return new Figures(snapshots.size(), images, receivedBytes, held, released, inFiles.peak());
        } finally {
            lock.unlock();
        }
    }

    /** Frees every image. */
    public void close() {
        lock.lock();
        try {
            snapshots.values().forEach(Snapshot::close);
            snapshots.clear();
        } finally {
            lock.unlock();
        }
    }

    String role() {
        return role.label;
    }
}
