/**
 * cryo's RPC service: CRIU's RPC (rpc.proto's {@code criu_req} / {@code criu_resp}, one protobuf message per
 * unix SOCK_SEQPACKET message) over the dump and restore APIs. {@link dev.cryo.service.RpcService#listen}
 * serves a socket ({@code cryo service}), {@link dev.cryo.service.RpcConnection} one inherited
 * connection ({@code cryo swrk}).
 *
 * <p>Concurrency: every connection has a thread of its own, so VERSION, CHECK and FEATURE_CHECK are answered
 * at once; DUMP, PRE_DUMP, SINGLE_PRE_DUMP and RESTORE take turns, one at a time, first come first served.
 * A client that hangs up cancels its request, running or waiting for its turn: the dump unwinds and releases
 * its tree (dev.cryo.parasite.Cancellation). An option a request sets that cryo does not serve is refused by
 * name, never ignored.
 */
package dev.cryo.service;
