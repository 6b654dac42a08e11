package dev.cryo.service.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;

import dev.cryo.service.internal.rpc.CriuCgMode;
import dev.cryo.service.internal.rpc.CriuNetworkLockMethod;
import dev.cryo.service.internal.rpc.CriuReq;

/**
 * Which fields of a request cryo serves. Every field the client set (protobuf's presence: {@code hasX}, a
 * non-empty repeated field, or a field this rpc.proto does not know) is looked at, and one that cryo does
 * not serve is refused by its name: nothing a client asks for is silently left undone.
 *
 * <p>A field is accepted when cryo serves it for some request (one {@code criu_opts} serves a client's
 * dump and its restore alike: {@code leave_running} on a RESTORE concerns nothing, as with CRIU), or when
 * its value asks for nothing cryo does not do anyway: a boolean set to false, {@code manage_cgroups_mode
 * IGNORE} (cryo leaves cgroups as they are), {@code network_lock SKIP} or {@code NFTABLES} (cryo locks
 * established connections with nf_tables, or not at all).
 */
final class OptionCheck {
    /** The fields of criu_opts that cryo's service serves. */
    static final Set<String> SERVED_OPTIONS = Set.of("images_dir_fd", "images_dir", "pid", "leave_running", "shell_job", "file_locks",
            "parent_img", "track_mem", "pre_dump_mode", "log_level", "log_file", "log_to_stderr", "work_dir_fd",
            "display_stats", "tcp_established", "tcp_close", "ext_unix_sk");
    /** The fields of criu_req itself that it serves ({@code opts} is looked into). */
    private static final Set<String> SERVED_REQUEST = Set.of("type", "opts", "keep_open", "features");

    private OptionCheck() {}

    /** What in {@code req} cryo does not serve, each named as {@code opts.NAME} or {@code NAME}; empty when all is served. */
    static List<String> refused(CriuReq req) {
        List<String> refused = new ArrayList<>();
        look(req, "", SERVED_REQUEST, refused);
        if (req.hasOpts()) {
            look(req.getOpts(), "opts.", SERVED_OPTIONS, refused);
            if (req.getOpts().hasPs()) {
                // a page server cryo connects to; CRIU's fd (a socket already connected) and pid are not served
                look(req.getOpts().getPs(), "opts.ps.", Set.of("address", "port"), refused);
            }
        }
        if (req.hasFeatures()) {
            look(req.getFeatures(), "features.", Set.of("mem_track", "lazy_pages", "pidfd_store"), refused);
        }
        return refused;
    }

    private static void look(Message m, String prefix, Set<String> served, List<String> refused) {
        for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
            String name = e.getKey().getName();
            if (name.equals("ps") && prefix.equals("opts.")) {
                continue; // looked into above
            }
            if (!served.contains(name) && !asksNothing(name, e.getValue())) {
                refused.add(prefix + name);
            }
        }
        // fields of a newer CRIU than this rpc.proto, or enum values it does not know
        for (int number : m.getUnknownFields().asMap().keySet()) {
            refused.add(prefix + "field " + number + " (unknown to cryo)");
        }
    }

    private static boolean asksNothing(String name, Object value) {
        if (value instanceof Boolean b) {
            return !b;
        }
        if (value instanceof EnumValueDescriptor v) {
            return name.equals("manage_cgroups_mode") && v.getNumber() == CriuCgMode.IGNORE_VALUE
                    || name.equals("network_lock") && (v.getNumber() == CriuNetworkLockMethod.SKIP_VALUE
                            || v.getNumber() == CriuNetworkLockMethod.NFTABLES_VALUE); // what cryo locks with, or nothing
        }
        return false;
    }
}
