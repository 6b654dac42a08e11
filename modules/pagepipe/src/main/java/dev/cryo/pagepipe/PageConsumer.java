package dev.cryo.pagepipe;

/** Where collected pages go: a pages image, a page server. Called on one writer thread, in address order. */
@FunctionalInterface
public interface PageConsumer {
    void accept(PageBatch batch) throws Exception;
}
