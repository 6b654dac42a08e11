/**
 * cryo's RPC service: CRIU's RPC protocol (rpc.proto's requests and responses, one message per
 * SOCK_SEQPACKET message) over the dump and restore APIs, for {@code cryo service} and {@code cryo swrk}.
 * The API is {@link dev.cryo.service.RpcService}.
 */
module dev.cryo.service {
    requires dev.cryo.dump;
    requires dev.cryo.restore;
    requires dev.cryo.syscalls;
    requires dev.cryo.images;
    requires com.google.protobuf;

    exports dev.cryo.service;
    // protobuf reaches the generated messages' accessors by reflection (descriptors, getAllFields)
    exports dev.cryo.service.internal.rpc to com.google.protobuf;
}
