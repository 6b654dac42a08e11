package dev.cryo.dump.internal;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.images.ImageStore;
import dev.cryo.parasite.Cancellation;

/**
 * Where the images of one dump or pre-dump go, the run's own until it ends: its images directory
 * ({@link DumpDirectory}), or with {@code --remote} its snapshot through the image proxy
 * ({@link RemoteSnapshot}). Closed without {@link #complete()}, everything the run wrote goes.
 */
interface StepImages extends AutoCloseable {
    /** Takes the step's place for a run of {@code step} ("dump", "pre-dump"), or refuses it with the reason. */
    static StepImages claim(DumpOptions o, String step, Cancellation cancel) throws DumpException {
        return o.remote() == null ? DumpDirectory.claim(o.imagesDir(), step) : RemoteSnapshot.claim(o, step, cancel);
    }

    ImageStore store();

    /** The previous step of the chain ({@code --prev-images-dir}), linked as CRIU links it, with its records. */
    PreviousStep previous(DumpOptions o) throws DumpException;

    /**
     * Every image is written: returns once they are where they go (in the image cache, on the other host), so
     * that a dump kills its tree only then.
     */
    void confirm();

    /** The run has written its last image: closing keeps them. */
    void complete();

    @Override
    void close();
}
