package dev.cryo.images;

import com.google.protobuf.Message;
import dev.cryo.images.proto.IpcMsg;
import dev.cryo.images.proto.IpcMsgEntry;

/**
 * Entries of another type that some entries announce, and that follow them in the image: the messages of a
 * SysV queue in ipcns-msg ({@code qnum} ipc_msg after each ipc_msg_entry). Readers and writers count them
 * down, so that each entry is parsed and checked as the type it is.
 */
enum Nesting {
    NONE(null) {
        @Override
        long after(Message entry) {
            return 0;
        }
    },
    IPC_MSG(IpcMsg.getDefaultInstance()) {
        @Override
        long after(Message entry) {
            return entry instanceof IpcMsgEntry queue ? Integer.toUnsignedLong(queue.getQnum()) : 0;
        }
    };

    private final Message nested;

    Nesting(Message nested) {
        this.nested = nested;
    }

    /** The type of the announced entries. */
    Message nested() {
        return nested;
    }

    /** How many entries of the {@link #nested} type follow this one. */
    abstract long after(Message entry);
}
