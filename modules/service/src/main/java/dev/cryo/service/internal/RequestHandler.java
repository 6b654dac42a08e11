package dev.cryo.service.internal;

import dev.cryo.service.internal.rpc.CriuResp;

/** Serves one kind of request: the response of success, or a {@link RequestFailure}. */
interface RequestHandler {
    /** The success response, its type and {@code success} set by the session. */
    CriuResp.Builder serve(Request r) throws RequestFailure, InterruptedException;

    /** What a failure response of this kind carries besides type, success and the error (a restore's pid -1). */
    default void onFailure(CriuResp.Builder resp) {}
}
