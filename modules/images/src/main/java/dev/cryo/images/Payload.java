package dev.cryo.images;

import dev.cryo.images.proto.GhostChunkEntry;
import dev.cryo.images.proto.GhostFileEntry;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.SkPacketEntry;
import dev.cryo.images.proto.TcpStreamEntry;

/** Raw bytes that follow an entry in some images, outside protobuf. */
enum Payload {
    NONE {
        @Override
        long after(Object entry) {
            return 0;
        }
    },
    /** pipes-data and fifo-data: each pipe_data_entry is followed by its {@code bytes} of data. */
    PIPE_DATA {
        @Override
        long after(Object entry) {
            return entry instanceof PipeDataEntry data ? Integer.toUnsignedLong(data.getBytes()) : 0;
        }
    },
    /** sk-queues: each sk_packet_entry is followed by its {@code length} bytes. */
    SK_PACKET {
        @Override
        long after(Object entry) {
            return entry instanceof SkPacketEntry packet ? Integer.toUnsignedLong(packet.getLength()) : 0;
        }
    },
    /** tcp-stream: the entry is followed by its receive queue ({@code inq_len}) then its send queue ({@code outq_len}). */
    TCP_STREAM {
        @Override
        long after(Object entry) {
            return entry instanceof TcpStreamEntry s ? Integer.toUnsignedLong(s.getInqLen()) + Integer.toUnsignedLong(s.getOutqLen()) : 0;
        }
    },
    /**
     * ghost-file: the file's contents run to the end of the image, unless the
     * entry says chunks, then each ghost_chunk_entry is followed by its {@code len}.
     */
    GHOST_FILE {
        @Override
        long after(Object entry) {
            return switch (entry) {
                case GhostFileEntry file -> file.getChunks() ? 0 : TO_END;
                // A uint64 past 2^63 cannot fit any image: make it an impossible count, not TO_END.
                case GhostChunkEntry chunk -> chunk.getLen() < 0 ? Long.MAX_VALUE : chunk.getLen();
                default -> 0;
            };
        }
    };

    /** Marks a payload that runs to the end of the image. */
    static final long TO_END = -1;

    /** How many payload bytes follow this entry: 0, a count, or {@link #TO_END}. */
    abstract long after(Object entry);
}
