package dev.cryo.pagexfer.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;

import dev.cryo.pagexfer.PageServerException;
import dev.cryo.syscalls.TcpSocket;

/**
 * TLS over a {@link PlainWire}, with the JDK's own {@link SSLEngine}: records are wrapped from the caller's
 * off-heap segments into an off-heap buffer and sent from there; received records are unwrapped into an
 * off-heap buffer that {@link #recv} hands out from. Nothing goes through the Java heap on cryo's side.
 */
public final class TlsWire implements Wire {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final PlainWire raw;
    private final SSLEngine engine;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment netOutSeg;
    private final ByteBuffer netOut;    // records to send: filled by wrap, in write mode
    private final MemorySegment netInSeg;
    private final ByteBuffer netIn;     // records received: in write mode between calls
    private final ByteBuffer appIn;     // plaintext unwrapped: in read mode between calls
    private boolean closed;

    private TlsWire(PlainWire raw, SSLEngine engine) {
        this.raw = raw;
        this.engine = engine;
        int packet = engine.getSession().getPacketBufferSize();
        int app = engine.getSession().getApplicationBufferSize();
        this.netOutSeg = arena.allocate(Math.max(4 * packet, 256 << 10), 4096);
        this.netOut = netOutSeg.asByteBuffer();
        this.netInSeg = arena.allocate(Math.max(4 * packet, 256 << 10), 4096);
        this.netIn = netInSeg.asByteBuffer();
        this.appIn = arena.allocate(4L * app, 4096).asByteBuffer();
        appIn.flip();
    }

    /** The client side: checks the server's certificate, and its name against the address unless told not to. */
    public static TlsWire client(PlainWire raw, SSLContext ctx, String host, int port, boolean checkName) {
        SSLEngine e = ctx.createSSLEngine(host, port);
        e.setUseClientMode(true);
        if (checkName) {
            SSLParameters p = e.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            e.setSSLParameters(p);
        }
        return handshake(raw, e);
    }

    /** The server side: demands a client certificate signed by its CA. */
    public static TlsWire server(PlainWire raw, SSLContext ctx) {
        SSLEngine e = ctx.createSSLEngine();
        e.setUseClientMode(false);
        e.setNeedClientAuth(true);
        return handshake(raw, e);
    }

    private static TlsWire handshake(PlainWire raw, SSLEngine engine) {
        TlsWire w = new TlsWire(raw, engine);
        try {
            engine.beginHandshake();
            SSLEngineResult.HandshakeStatus hs = engine.getHandshakeStatus();
            while (hs != SSLEngineResult.HandshakeStatus.FINISHED && hs != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING) {
                switch (hs) {
                    case NEED_WRAP -> {
                        SSLEngineResult r = engine.wrap(EMPTY, w.netOut);
                        w.flush();
                        hs = r.getHandshakeStatus();
                        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                            throw new SSLHandshakeException("the handshake ended");
                        }
                    }
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                        SSLEngineResult r = w.unwrapOnce();
                        if (r == null) {
                            throw new PageServerException(w.peer() + ": the connection ended during the TLS handshake");
                        }
                        hs = r.getHandshakeStatus();
                    }
                    case NEED_TASK -> {
                        for (Runnable t = engine.getDelegatedTask(); t != null; t = engine.getDelegatedTask()) {
                            t.run();
                        }
                        hs = engine.getHandshakeStatus();
                    }
                    default -> throw new IllegalStateException("TLS handshake status " + hs);
                }
            }
            w.flush();
            raw.push();
            return w;
        } catch (SSLException e) {
            // Tell the peer why (the engine has an alert ready), then give up.
            try {
                engine.closeOutbound();
                engine.wrap(EMPTY, w.netOut);
                w.flush();
                raw.push();
            } catch (RuntimeException | SSLException ignored) {
                // the peer may be gone already
            }
            w.arena.close();
            throw new PageServerException(raw.peer() + ": " + TlsFailures.describe(e, engine.getUseClientMode()), e);
        } catch (RuntimeException e) {
            w.arena.close();
            throw e;
        }
    }

    /**
     * One unwrap from what has been received, receiving more when a record is incomplete; null when the
     * stream ends first. Plaintext goes to {@link #appIn}.
     */
    private SSLEngineResult unwrapOnce() throws SSLException {
        while (true) {
            netIn.flip();
            appIn.compact();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, appIn);
            } finally {
                appIn.flip();
                netIn.compact();
            }
            switch (r.getStatus()) {
                case OK, CLOSED -> {
                    return r;
                }
                case BUFFER_UNDERFLOW -> {
                    int at = netIn.position();
                    long n = raw.recv(netInSeg.asSlice(at, netIn.limit() - at));
                    if (n == 0) {
                        return null;
                    }
                    netIn.position(at + (int) n);
                }
                case BUFFER_OVERFLOW -> throw new IllegalStateException("TLS record larger than the buffer for it");
            }
        }
    }

    /** Sends what {@link #netOut} holds. */
    private void flush() {
        if (netOut.position() > 0) {
            raw.send(netOutSeg.asSlice(0, netOut.position()));
            netOut.clear();
        }
    }

    @Override
    public void send(MemorySegment data) {
        try {
            for (long done = 0; done < data.byteSize(); ) {
                ByteBuffer src = data.asSlice(done, Math.min(data.byteSize() - done, 1L << 30)).asByteBuffer();
                while (src.hasRemaining()) {
                    if (netOut.remaining() < engine.getSession().getPacketBufferSize()) {
                        flush();
                    }
                    SSLEngineResult r = engine.wrap(src, netOut);
                    if (r.getStatus() != SSLEngineResult.Status.OK) {
                        throw new PageServerException(peer() + ": TLS refused to send (" + r.getStatus() + ")");
                    }
                }
                done += src.capacity();
            }
            flush();
        } catch (SSLException e) {
            throw new PageServerException(peer() + ": TLS failed: " + e.getMessage(), e);
        }
    }

    /** TLS's largest plaintext record (RFC 8446 5.1). */
    @Override
    public long recordSize() {
        return 16384;
    }

    @Override
    public void push() {
        flush();
        raw.push();
    }

    @Override
    public long recv(MemorySegment into) {
        try {
            while (!appIn.hasRemaining()) {
                if (closed) {
                    return 0;
                }
                SSLEngineResult r = unwrapOnce();
                if (r == null || r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    closed = true;
                    return appIn.hasRemaining() ? take(into) : 0;
                }
                afterHandshakeMessage(r.getHandshakeStatus());
            }
            return take(into);
        } catch (SSLException e) {
            throw new PageServerException(peer() + ": TLS failed: " + e.getMessage(), e);
        }
    }

    /** A record after the handshake (a TLS 1.3 session ticket, a key update) may ask the engine for work. */
    private void afterHandshakeMessage(SSLEngineResult.HandshakeStatus hs) throws SSLException {
        while (true) {
            switch (hs) {
                case NEED_TASK -> {
                    for (Runnable t = engine.getDelegatedTask(); t != null; t = engine.getDelegatedTask()) {
                        t.run();
                    }
                    hs = engine.getHandshakeStatus();
                }
                case NEED_WRAP -> {
                    hs = engine.wrap(EMPTY, netOut).getHandshakeStatus();
                    push();
                }
                default -> {
                    return;
                }
            }
        }
    }

    private long take(MemorySegment into) {
        int n = (int) Math.min(into.byteSize(), appIn.remaining());
        MemorySegment.copy(MemorySegment.ofBuffer(appIn), 0, into, 0, n);
        appIn.position(appIn.position() + n);
        return n;
    }

    @Override
    public String peer() {
        return raw.peer();
    }

    @Override
    public TcpSocket socket() {
        return raw.socket();
    }

    @Override
    public void close() {
        try {
            if (!engine.isOutboundDone()) {
                engine.closeOutbound();
                engine.wrap(EMPTY, netOut);
                flush();
                raw.push();
            }
        } catch (RuntimeException | SSLException ignored) {
            // close_notify is a courtesy; the peer may be gone
        } finally {
            try (arena) {
                raw.close();
            }
        }
    }
}
