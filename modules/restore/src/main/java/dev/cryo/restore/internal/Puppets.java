package dev.cryo.restore.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Every task a restore created, in creation order. Closing kills, in reverse order, each one that was
 * not released: a restore that fails leaves nothing behind. Threads come after their leader, so they are
 * killed and reaped first; a traced leader's exit is only reported once its other threads are gone.
 */
final class Puppets implements AutoCloseable {
    private final List<Puppet> created = new ArrayList<>();

    Puppet add(Puppet p) {
        created.add(p);
        return p;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (Puppet p : created.reversed()) {
            try {
                p.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
