package dev.cryo.service.internal;

import java.util.Arrays;
import java.util.List;

import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.syscalls.KernelFeatures;
import dev.cryo.syscalls.KernelFeatures.Feature;

/** CHECK: what {@code cryo check} does; fails, naming them, when the kernel lacks what cryo needs. */
final class CheckHandler implements RequestHandler {
    @Override
    public CriuResp.Builder serve(Request r) throws RequestFailure {
        List<String> missing = Arrays.stream(Feature.values()).filter(f -> f.required() && !KernelFeatures.has(f))
                .map(Feature::title).toList();
        if (!missing.isEmpty()) {
            throw new RequestFailure(0, "the kernel lacks what cryo needs: " + String.join(", ", missing));
        }
        return CriuResp.newBuilder();
    }
}
