package dev.cryo.service.internal;

import java.lang.module.ModuleDescriptor;

import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.service.internal.rpc.CriuVersion;

/**
 * VERSION. The numbers are those of the CRIU release whose RPC this service speaks (rpc.proto as of CRIU
 * 4.2), since clients decide what they may ask by them; {@code name} says that it is cryo, and which.
 */
final class VersionHandler implements RequestHandler {
    static final int RPC_MAJOR = 4;
    static final int RPC_MINOR = 2;

    @Override
    public CriuResp.Builder serve(Request r) {
        return CriuResp.newBuilder().setVersion(CriuVersion.newBuilder()
                .setMajorNumber(RPC_MAJOR).setMinorNumber(RPC_MINOR).setName(cryoVersion()));
    }

    /** "cryo VERSION", the version Maven stamped into the module, or "cryo dev" when run from classes. */
    static String cryoVersion() {
        ModuleDescriptor d = VersionHandler.class.getModule().getDescriptor();
        String v = d == null ? null : d.rawVersion().orElse(null);
        return "cryo " + (v == null ? "dev" : v);
    }
}
