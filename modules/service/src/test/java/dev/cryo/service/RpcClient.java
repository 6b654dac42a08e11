package dev.cryo.service;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.MessageLite;

import dev.cryo.service.internal.rpc.CriuReq;
import dev.cryo.service.internal.rpc.CriuReqType;
import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.syscalls.SeqpacketSocket;

/** A test's client of the service: one connection, protobuf messages in and out as CRIU's clients send them. */
final class RpcClient implements AutoCloseable {
    private final SeqpacketSocket socket;

    RpcClient(SeqpacketSocket socket) {
        this.socket = socket;
    }

    static RpcClient connect(Path address) {
        return new RpcClient(SeqpacketSocket.connect(address.toString()));
    }

    void send(MessageLite message) {
        sendBytes(message.toByteArray());
    }

    void sendBytes(byte[] bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
            socket.send(m);
        }
    }

    /** The next response; null when the service closed the connection. */
    CriuResp receive() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = socket.receive(a);
            return m == null ? null : CriuResp.parseFrom(CodedInputStream.newInstance(m.asByteBuffer()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    CriuResp call(CriuReq req) {
        send(req);
        return receive();
    }

    static CriuReq.Builder request(CriuReqType type) {
        return CriuReq.newBuilder().setType(type);
    }

    SeqpacketSocket socket() {
        return socket;
    }

    @Override
    public void close() {
        socket.close();
    }
}
