package dev.cryo.service.internal;

import dev.cryo.parasite.Cancellation;
import dev.cryo.service.internal.rpc.CriuOpts;
import dev.cryo.service.internal.rpc.CriuReq;
import dev.cryo.syscalls.SeqpacketSocket.Peer;

/** One request being served: what it asks, who asks, and its cancellation (a hang-up, the service stopping). */
record Request(CriuReq req, Peer peer, Cancellation cancel, ServiceContext context) {
    CriuOpts opts() {
        return req.getOpts();
    }
}
