package dev.cryo.dump;

/**
 * The last word before a dumped tree goes (live migration): called with the tree still frozen, once every image
 * is where it belongs (with {@code --remote}, complete in the image cache). It returns once the tree may die, its
 * copy running elsewhere; it throws to keep it, and the tree is then released running and the images dropped, as
 * for any failed dump.
 */
@FunctionalInterface
public interface Handover {
    /** Blocks until the copy runs elsewhere; any exception keeps the tree here, running. */
    void await() throws Exception;
}
