package dev.cryo.service.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Locale;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnknownFieldSet;

import dev.cryo.parasite.Cancellation;
import dev.cryo.service.internal.rpc.CriuReq;
import dev.cryo.service.internal.rpc.CriuReqType;
import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SeqpacketSocket;
import dev.cryo.syscalls.SeqpacketSocket.Peer;

/**
 * One client's connection: requests in, one response each, as CRIU's service worker does. The connection
 * ends after a response unless the request set {@code keep_open}, or was a PRE_DUMP (after which CRIU waits
 * for the next step of the chain on the same connection); it ends at once when the client hangs up or sends
 * what is not a request. Only a client of the service's own user, or root, is served.
 */
public final class Session implements Runnable {
    private static final int ROOT = 0;

    private final SeqpacketSocket socket;
    private final ServiceContext context;
    private final Peer peer;
    private final int serviceUid;
    private volatile boolean busy;
    private boolean closed; // guarded by this: shutdown() from another thread never touches a closed fd's number

    /** Takes ownership of {@code socket}. */
    public Session(SeqpacketSocket socket, ServiceContext context, int serviceUid) {
        this.socket = socket;
        this.context = context;
        this.peer = socket.peer();
        this.serviceUid = serviceUid;
    }

    public Peer peer() {
        return peer;
    }

    @Override
    public void run() {
        try {
            if (peer.uid() != serviceUid && peer.uid() != ROOT) {
                refuse();
                return;
            }
            while (!context.isStopping() && serveOne()) {
                // next request on the same connection
            }
        } catch (RuntimeException e) {
            context.log.log("pid " + peer.pid() + ": session failed: " + e);
        } finally {
            synchronized (this) {
                closed = true;
                socket.close();
            }
        }
    }

    /**
     * A client of another user: its first request is answered with the refusal, then the connection ends.
     * (Answered, not closed at once: a unix socket closed with the client's request unread resets the
     * connection, and the client would see ECONNRESET instead of the reason.)
     */
    private void refuse() {
        context.log.log("refused pid " + peer.pid() + ": uid " + peer.uid());
        CriuReqType type = CriuReqType.EMPTY;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment message = socket.receive(a);
            if (message == null) {
                return;
            }
            CriuReq req = CriuReq.parser().parsePartialFrom(CodedInputStream.newInstance(message.asByteBuffer()));
            type = req.hasType() ? req.getType() : type;
        } catch (IOException e) {
            // not a request: refused all the same
        }
        reply(failure(type, Kernel.EPERM, "uid " + peer.uid() + " may not use this service (it serves "
                + (serviceUid == ROOT ? "root" : "uid " + serviceUid + " and root") + ")"));
    }

    /** Ends the session from another thread: a wait for the next request returns as if the client had gone. */
    public synchronized void shutdown() {
        if (!closed) {
            socket.shutdown();
        }
    }

    /** {@link #shutdown()}, unless a request is being served (its client is answered first). */
    public synchronized void shutdownIfIdle() {
        if (!busy && !closed) {
            socket.shutdown();
        }
    }

    /** Serves one request; whether the connection goes on. */
    private boolean serveOne() {
        try {
            return receiveAndAnswer();
        } finally {
            busy = false;
        }
    }

    private boolean receiveAndAnswer() {
        CriuReq req;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment message = socket.receive(a);
            if (message == null) {
                return false;
            }
            busy = true;
            req = CriuReq.parser().parsePartialFrom(CodedInputStream.newInstance(message.asByteBuffer()));
        } catch (IOException e) {
            reply(failure(CriuReqType.EMPTY, Kernel.EBADRQC, "not a criu_req message: " + e.getMessage()));
            return false;
        }
        if (!req.hasType()) {
            UnknownFieldSet.Field type = req.getUnknownFields().getField(CriuReq.TYPE_FIELD_NUMBER);
            reply(failure(CriuReqType.EMPTY, Kernel.EBADRQC, type == null || type.getVarintList().isEmpty()
                    ? "the request has no type" : "request type " + type.getVarintList().getLast() + " is not known to cryo"));
            return false;
        }
        long start = System.nanoTime();
        CriuReqType type = req.getType();
        Cancellation cancel = context.begin();
        CriuResp response;
        try {
            response = answer(req, cancel);
        } finally {
            context.end(cancel);
        }
        String outcome = response.getSuccess() ? "done" : "failed: " + response.getCrErrmsg();
        context.log.log(String.format(Locale.ROOT, "pid %d: %s %s in %.1f ms", peer.pid(), type, outcome, (System.nanoTime() - start) / 1e6));
        // a client that hung up is not answered: reply() finds it gone
        return reply(response) && (req.getKeepOpen() || type == CriuReqType.PRE_DUMP);
    }

    private CriuResp answer(CriuReq req, Cancellation cancel) {
        CriuReqType type = req.getType();
        RequestHandler handler = switch (type) {
            case VERSION -> new VersionHandler();
            case CHECK -> new CheckHandler();
            case FEATURE_CHECK -> new FeatureCheckHandler();
            case DUMP -> new DumpHandler(false);
            case PRE_DUMP, SINGLE_PRE_DUMP -> new DumpHandler(true);
            case RESTORE -> new RestoreHandler();
            // EMPTY, NOTIFY (only an answer to the service's own notifications), PAGE_SERVER, PAGE_SERVER_CHLD,
            // CPUINFO_DUMP, CPUINFO_CHECK, WAIT_PID
            default -> null;
        };
        if (handler == null) {
            return failure(type, Kernel.EOPNOTSUPP, "cryo's service does not serve " + type + " requests");
        }
        List<String> refused = OptionCheck.refused(req);
        if (!refused.isEmpty()) {
            CriuResp.Builder r = failureBuilder(type, Kernel.EBADRQC, "cryo does not support " + String.join(", ", refused));
            handler.onFailure(r);
            return r.build();
        }
        try (HangupWatch watch = new HangupWatch(socket, cancel)) {
            return handler.serve(new Request(req, peer, cancel, context)).setType(type).setSuccess(true).build();
        } catch (RequestFailure f) {
            return failed(handler, type, f);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failed(handler, type, new RequestFailure(Kernel.ECANCELED, "interrupted"));
        } catch (RuntimeException e) {
            return failed(handler, type, Failures.of(e));
        }
    }

    private static CriuResp failed(RequestHandler handler, CriuReqType type, RequestFailure f) {
        CriuResp.Builder r = failureBuilder(type, f.errno(), f.getMessage());
        handler.onFailure(r);
        return r.build();
    }

    private static CriuResp failure(CriuReqType type, int errno, String message) {
        return failureBuilder(type, errno, message).build();
    }

    private static CriuResp.Builder failureBuilder(CriuReqType type, int errno, String message) {
        CriuResp.Builder r = CriuResp.newBuilder().setType(type).setSuccess(false).setCrErrmsg(message);
        if (errno != 0) {
            r.setCrErrno(errno);
        }
        return r;
    }

    /** Sends the response; false when the client is gone. */
    private boolean reply(CriuResp response) {
        byte[] bytes = response.toByteArray();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment message = a.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, message, ValueLayout.JAVA_BYTE, 0, bytes.length);
            socket.send(message);
            return true;
        } catch (ErrnoException e) {
            return false; // EPIPE, ECONNRESET: the client hung up
        }
    }
}
