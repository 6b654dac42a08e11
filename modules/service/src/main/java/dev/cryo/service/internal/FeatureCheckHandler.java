package dev.cryo.service.internal;

import dev.cryo.service.internal.rpc.CriuFeatures;
import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.dump.DirtyTracker;

/**
 * FEATURE_CHECK: of the features a client asks about (set to true), which cryo has on this kernel; as
 * with CRIU, every feature is in the answer, false unless asked and present. {@code mem_track}: a dirty
 * tracker (uffd-wp or soft-dirty) for pre-dumps; {@code lazy_pages} and {@code pidfd_store}: cryo's
 * service serves neither (no lazy restore, no pidfd_store_sk).
 */
final class FeatureCheckHandler implements RequestHandler {
    @Override
    public CriuResp.Builder serve(Request r) {
        CriuFeatures asked = r.req().getFeatures();
        boolean memTrack = asked.getMemTrack() && DirtyTracker.here().isPresent();
        return CriuResp.newBuilder().setFeatures(CriuFeatures.newBuilder()
                .setMemTrack(memTrack).setLazyPages(false).setPidfdStore(false));
    }
}
